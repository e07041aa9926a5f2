import { useEffect, useState } from 'preact/hooks';
import { ApiError, enc, get, post, type Pipeline } from '../api';
import { ErrorBox } from '../components/common';
import { useLoad, when } from '../util';

interface Problem {
  path: string;
  message: string;
}

interface Validation {
  valid: boolean;
  runnable: boolean;
  problems: Problem[];
  warnings: Problem[];
}

interface Change {
  path: string;
  kind: string;
  from?: unknown;
  to?: unknown;
}

/**
 * PipelineConfig edits a pipeline's JSON, checked as you type with the
 * API's validation (messages at their JSON paths); saving refuses a copy
 * someone else saved after it was read. History shows each version beside
 * the current one and can restore it.
 */
export function PipelineConfig({ app, id }: { app: string; id: string }) {
  const history = useLoad(() => get<Pipeline[]>(`/pipelineConfigs/${enc(id)}/history?limit=50`), [id]);
  const current = history.data?.[0];
  const [text, setText] = useState('');
  const [syntax, setSyntax] = useState('');
  const [validation, setValidation] = useState<Validation | null>(null);
  const [saveError, setSaveError] = useState<ApiError | null>(null);
  const [saved, setSaved] = useState('');
  const [compare, setCompare] = useState<Pipeline | null>(null);
  const [changes, setChanges] = useState<Change[]>([]);

  useEffect(() => {
    if (current) {
      const { version: _v, ...doc } = current;
      setText(JSON.stringify(doc, null, 2));
    }
  }, [current?.updateTs, current?.version]);

  useEffect(() => {
    if (!text) return;
    const t = setTimeout(async () => {
      try {
        JSON.parse(text);
        setSyntax('');
      } catch (e) {
        setSyntax((e as Error).message);
        setValidation(null);
        return;
      }
      try {
        setValidation(await post<Validation>('/pipelines/validate', text));
      } catch (e) {
        setSyntax((e as Error).message);
      }
    }, 300);
    return () => clearTimeout(t);
  }, [text]);

  useEffect(() => {
    if (!compare || !current) return setChanges([]);
    get<Change[]>(`/pipelineConfigs/${enc(id)}/diff?from=${compare.version}&to=${current.version}`)
      .then((c) => setChanges(Array.isArray(c) ? c : (c as any).changes || []))
      .catch(() => setChanges([]));
  }, [compare?.version, current?.version]);

  const save = async () => {
    setSaveError(null);
    setSaved('');
    try {
      await post('/pipelines?staleCheck=true', text);
      setSaved(`Saved ${when(Date.now())}.`);
      history.reload();
    } catch (e) {
      setSaveError(e as ApiError);
    }
  };
  const restore = async (v: Pipeline) => {
    setSaveError(null);
    try {
      await post(`/pipelineConfigs/${enc(id)}/history/${v.version}/restore`);
      setSaved(`Restored version ${v.version}.`);
      setCompare(null);
      history.reload();
    } catch (e) {
      setSaveError(e as ApiError);
    }
  };

  if (history.error) return <main class="page"><ErrorBox what={`Loading pipeline ${id} failed`} error={history.error} /></main>;
  if (!current) return <main class="page"><p class="muted">Loading pipeline…</p></main>;
  const strip = (p: Pipeline) => {
    const { version: _v, ...doc } = p;
    return JSON.stringify(doc, null, 2);
  };
  return (
    <main class="page">
      <div class="page-head">
        <h1>
          <a href={`#/applications/${app}/executions`}>{current.name}</a> <span class="muted">configuration</span>
        </h1>
      </div>
      <div class="config">
        <div class="editor">
          <label for="pipeline-json">Pipeline JSON</label>
          <textarea id="pipeline-json" spellcheck={false} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
          <div class="validation" aria-live="polite">
            {syntax && <div class="error">Not valid JSON: {syntax}</div>}
            {validation?.problems.map((p) => (
              <div class="error" key={`${p.path}${p.message}`}>
                <code>{p.path || '(document)'}</code> {p.message}
              </div>
            ))}
            {validation?.warnings.map((p) => (
              <div class="warning" key={`${p.path}${p.message}`}>
                <code>{p.path || '(document)'}</code> {p.message}
              </div>
            ))}
            {validation && validation.valid && validation.runnable && !syntax && <div class="ok">Valid; it can run here.</div>}
          </div>
          {saveError && <ErrorBox what="Save refused" error={saveError} />}
          {saved && <div class="ok">{saved}</div>}
          <div class="actions left">
            <button type="button" class="primary" onClick={save} disabled={!!syntax || (validation ? !validation.valid : false)}>
              Save
            </button>
          </div>
        </div>
        <aside class="history" aria-label="history">
          <h2>History</h2>
          <ol>
            {history.data!.map((v, i) => (
              <li key={v.version}>
                <span>
                  v{v.version} · {when(Number(v.updateTs))} · {v.lastModifiedBy || 'unknown'}
                  {i === 0 && ' (current)'}
                </span>
                {i > 0 && (
                  <span>
                    <button type="button" onClick={() => setCompare(v)} aria-label={`Compare version ${v.version}`}>
                      Compare
                    </button>
                    <button type="button" onClick={() => restore(v)} aria-label={`Restore version ${v.version}`}>
                      Restore
                    </button>
                  </span>
                )}
              </li>
            ))}
          </ol>
        </aside>
      </div>
      {compare && (
        <section class="diff" aria-label="version comparison">
          <h2>
            Version {compare.version} beside the current version {current.version}
          </h2>
          <ul class="changes">
            {changes.map((c) => (
              <li key={c.path} class={`change-${c.kind}`}>
                <code>{c.path}</code> {c.kind}
                {c.kind === 'changed' && `: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`}
              </li>
            ))}
          </ul>
          <div class="side-by-side">
            <pre aria-label={`version ${compare.version}`}>{strip(compare)}</pre>
            <pre aria-label="current version">{strip(current)}</pre>
          </div>
        </section>
      )}
    </main>
  );
}
