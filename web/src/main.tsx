import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { authNeeded, onAuthChange, setToken } from './api';
import { Applications } from './pages/Applications';
import { Clusters, LoadBalancers } from './pages/Clusters';
import { ExecutionDetails } from './pages/ExecutionDetails';
import { Executions } from './pages/Executions';
import { PipelineConfig } from './pages/PipelineConfig';
import './style.css';

// Routes are Deck's, in the URL's hash, so links look familiar and no API
// path is shadowed.
type Route =
  | { page: 'applications' }
  | { page: 'executions'; app: string }
  | { page: 'details'; app: string; id: string }
  | { page: 'configure'; app: string; id: string }
  | { page: 'clusters'; app: string }
  | { page: 'loadBalancers'; app: string }
  | { page: 'canary'; app: string }
  | { page: 'audit'; app: string }
  | { page: 'notFound'; path: string };

export function parse(hash: string): Route {
  // Deck's links may carry a query (…/details/{id}?stage=2); the page is the path.
  const path = hash.replace(/^#/, '').split('?')[0] || '/applications';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'applications') return { page: 'notFound', path };
  if (parts.length === 1) return { page: 'applications' };
  const app = parts[1];
  const [section, sub, id] = parts.slice(2);
  switch (section) {
    case undefined:
    case 'executions':
      if (sub === 'details' && id) return { page: 'details', app, id };
      if (sub === 'configure' && id) return { page: 'configure', app, id };
      return { page: 'executions', app };
    case 'clusters':
      return { page: 'clusters', app };
    case 'loadBalancers':
      return { page: 'loadBalancers', app };
    case 'canary':
    case 'canaryReports':
      return { page: 'canary', app };
    case 'audit':
      return { page: 'audit', app };
  }
  return { page: 'notFound', path };
}

function useRoute(): Route {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parse(hash);
}

function App() {
  const route = useRoute();
  const [needLogin, setNeedLogin] = useState(authNeeded);
  useEffect(() => onAuthChange(() => setNeedLogin(authNeeded)), []);
  const app = 'app' in route ? route.app : undefined;
  useEffect(() => {
    document.title = app ? `${app} · gennaker` : 'gennaker';
  }, [app]);
  return (
    <>
      <header class="top">
        <a class="brand" href="#/applications">
          gennaker
        </a>
        <nav aria-label="main">
          <a href="#/applications" aria-current={route.page === 'applications' ? 'page' : undefined}>
            Applications
          </a>
        </nav>
        {app && (
          <nav class="app-nav" aria-label={`application ${app}`}>
            <span class="app-name">{app}</span>
            {(
              [
                ['executions', 'Pipelines'],
                ['clusters', 'Clusters'],
                ['loadBalancers', 'Load balancers'],
                ['canary', 'Canary reports'],
                ['audit', 'Audit'],
              ] as const
            ).map(([p, label]) => (
              <a key={p} href={`#/applications/${app}/${p}`} aria-current={route.page === p || (p === 'executions' && (route.page === 'details' || route.page === 'configure')) ? 'page' : undefined}>
                {label}
              </a>
            ))}
          </nav>
        )}
      </header>
      {needLogin && <Login />}
      <Page route={route} />
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'applications':
      return <Applications />;
    case 'executions':
      return <Executions app={route.app} />;
    case 'details':
      return <ExecutionDetails app={route.app} id={route.id} />;
    case 'configure':
      return <PipelineConfig app={route.app} id={route.id} />;
    case 'clusters':
      return <Clusters app={route.app} />;
    case 'loadBalancers':
      return <LoadBalancers app={route.app} />;
    case 'canary':
      return (
        <main class="page">
          <h1>Canary reports</h1>
          <div class="empty">No canary reports for {route.app} yet. A pipeline's canary analysis stages report here once this installation runs them.</div>
        </main>
      );
    case 'audit':
      return (
        <main class="page">
          <h1>Audit</h1>
          <div class="empty">No audit events for {route.app} yet. Who ran, judged, rolled back or changed what will be listed here once this installation records it.</div>
        </main>
      );
    case 'notFound':
      return (
        <main class="page">
          <h1>Page not found</h1>
          <div class="empty">
            Nothing lives at <code>{route.path}</code>. Start from the <a href="#/applications">applications</a>.
          </div>
        </main>
      );
  }
}

/** Login asks for a bearer token once the API answers 401. */
function Login() {
  const [value, setValue] = useState('');
  return (
    <form
      class="login"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value.trim());
        location.reload();
      }}
    >
      <label for="token">gennaker asks for credentials: paste your API token</label>
      <input id="token" type="password" autoComplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      <button type="submit" class="primary">
        Log in
      </button>
    </form>
  );
}

render(<App />, document.getElementById('app')!);
