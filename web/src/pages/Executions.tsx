import { useState } from 'preact/hooks';
import { enc, get, type Application, type Execution, type Pipeline } from '../api';
import { RunForm } from '../components/RunForm';
import { StageBar } from '../components/StageGraph';
import { Empty, ErrorBox, StatusBadge } from '../components/common';
import { duration, isActive, navigate, useLoad, when } from '../util';

/** Executions lists each pipeline with its recent runs, live. */
export function Executions({ app }: { app: string }) {
  const application = useLoad(() => get<Application>(`/applications/${enc(app)}`), [app]);
  const pipelines = useLoad(() => get<Pipeline[]>(`/applications/${enc(app)}/pipelineConfigs`), [app]);
  const runs = useLoad(
    () => get<Execution[]>(`/applications/${enc(app)}/pipelines?limit=25`),
    [app],
    (d) => (d && d.some((e) => isActive(e.status)) ? 1000 : 3000),
  );
  const [running, setRunning] = useState<Pipeline | null>(null);

  const byPipeline = new Map<string, Execution[]>();
  for (const e of runs.data || []) {
    const k = e.pipelineConfigId || '';
    byPipeline.set(k, [...(byPipeline.get(k) || []), e]);
  }
  const adhoc = byPipeline.get('') || [];

  return (
    <main class="page">
      <div class="page-head">
        <h1>Pipelines</h1>
      </div>
      {application.error && (
        <div class="error" role="alert">
          <strong>Application {app} cannot be shown</strong>: {application.error.message}. Pick one from the <a href="#/applications">applications</a>, or create it there.
        </div>
      )}
      {pipelines.error && <ErrorBox what="Loading pipelines failed" error={pipelines.error} />}
      {runs.error && <ErrorBox what="Loading runs failed" error={runs.error} />}
      {!application.error && pipelines.data && pipelines.data.length === 0 && (
        <Empty>
          {app} has no pipelines yet. Save one with <code>gennaker pipeline save -f pipeline.json</code> or the API's <code>POST /pipelines</code>.
        </Empty>
      )}
      {(pipelines.data || []).map((p) => (
        <section class="pipeline" key={p.id} aria-label={`pipeline ${p.name}`}>
          <header>
            <h2>{p.name}</h2>
            {p.disabled && <span class="badge st-canceled">disabled</span>}
            <span class="spacer" />
            <a class="button" href={`#/applications/${app}/executions/configure/${p.id}`}>
              Configure
            </a>
            <button class="primary" type="button" disabled={p.disabled} onClick={() => setRunning(p)} aria-label={`Run ${p.name}`}>
              Run
            </button>
          </header>
          <RunList app={app} runs={byPipeline.get(p.id) || []} />
        </section>
      ))}
      {adhoc.length > 0 && (
        <section class="pipeline" aria-label="ad-hoc tasks">
          <header>
            <h2>Tasks</h2>
            <span class="muted">server group and load balancer actions</span>
          </header>
          <RunList app={app} runs={adhoc} />
        </section>
      )}
      {running && (
        <RunForm
          pipeline={running}
          onClose={() => setRunning(null)}
          onStarted={(id) => {
            setRunning(null);
            navigate(`#/applications/${app}/executions/details/${id}`);
          }}
        />
      )}
    </main>
  );
}

function RunList({ app, runs }: { app: string; runs: Execution[] }) {
  if (runs.length === 0) return <p class="muted">No runs yet.</p>;
  return (
    <ul class="runs">
      {runs.map((e) => {
        const href = `#/applications/${app}/executions/details/${e.id}`;
        const params = Object.entries(e.trigger?.parameters || {});
        return (
          <li key={e.id} class="run" data-execution={e.id}>
            <StatusBadge status={e.status} />
            <a href={href} class="run-time">
              {when(e.startTime || e.buildTime)}
            </a>
            <span class="muted">{duration(e.startTime, e.endTime)}</span>
            <span class="muted">{e.trigger?.user}</span>
            <span class="params">{params.map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')}</span>
            <StageBar stages={e.stages} href={href} />
          </li>
        );
      })}
    </ul>
  );
}
