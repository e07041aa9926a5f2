import { useState } from 'preact/hooks';
import { ApiError, enc, get, patch, put, type Execution, type Stage } from '../api';
import { StageGraph, topStages } from '../components/StageGraph';
import { ErrorBox, StatusBadge } from '../components/common';
import { duration, isActive, useLoad, when } from '../util';

const finished = (s: Stage) => !isActive(s.status) && s.status !== 'SKIPPED';

/** stageError is the message a failed stage recorded, as orca records it. */
export function stageError(s: Stage): string {
  const ex = s.context?.exception;
  if (!ex) return '';
  const d = ex.details || {};
  const errs: string[] = Array.isArray(d.errors) ? d.errors : [];
  return [d.error, ...errs.filter((e) => e !== d.error)].filter(Boolean).join('; ') || ex.message || '';
}

export function ExecutionDetails({ app, id }: { app: string; id: string }) {
  const run = useLoad(() => get<Execution>(`/pipelines/${enc(id)}`), [id], (d) => (d && !isActive(d.status) ? false : 1000));
  const [selected, setSelected] = useState<string | undefined>();
  const [actionError, setActionError] = useState<Error | null>(null);
  const e = run.data;

  const act = async (fn: () => Promise<unknown>) => {
    setActionError(null);
    try {
      await fn();
    } catch (err) {
      setActionError(err as ApiError);
    }
    run.reload();
  };

  if (!e) {
    return <main class="page">{run.error ? <ErrorBox what={`Loading run ${id} failed`} error={run.error} /> : <p class="muted">Loading run…</p>}</main>;
  }
  const tops = topStages(e.stages);
  const waiting = tops.find((s) => s.type === 'manualJudgment' && s.status === 'RUNNING');
  const sel = e.stages.find((s) => s.id === selected) || waiting || tops.find((s) => s.status === 'RUNNING') || tops.find((s) => stageError(s)) || tops[0];
  const failures = e.stages.filter((s) => stageError(s));

  return (
    <main class="page">
      <div class="page-head">
        <h1>
          <a href={`#/applications/${app}/executions`}>{e.name}</a> <span class="muted">run {e.id}</span>
        </h1>
        <span class="run-status" data-testid="run-status">
          <StatusBadge status={e.status} />
        </span>
      </div>
      <p class="muted">
        Started {when(e.startTime || e.buildTime)} by {e.trigger?.user || 'unknown'}
        {e.startTime ? ` · ${duration(e.startTime, e.endTime)}` : ''}
        {e.trigger?.parameters && Object.keys(e.trigger.parameters).length > 0 && (
          <> · parameters {Object.entries(e.trigger.parameters).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ')}</>
        )}
      </p>
      <div class="actions left">
        {isActive(e.status) && (
          <button type="button" onClick={() => act(() => put(`/pipelines/${enc(e.id)}/cancel`))}>
            Cancel run
          </button>
        )}
        {e.status === 'RUNNING' && (
          <button type="button" onClick={() => act(() => put(`/pipelines/${enc(e.id)}/pause`))}>
            Pause
          </button>
        )}
        {e.status === 'PAUSED' && (
          <button type="button" onClick={() => act(() => put(`/pipelines/${enc(e.id)}/resume`))}>
            Resume
          </button>
        )}
      </div>
      {e.canceled && <div class="error">Canceled by {e.canceledBy || 'unknown'}{e.cancellationReason ? `: ${e.cancellationReason}` : ''}</div>}
      {failures.map((s) => (
        <div class="error" role="alert" key={s.id}>
          <strong>{s.name}</strong>: {stageError(s)}
        </div>
      ))}
      {actionError && <ErrorBox what="The action was refused" error={actionError} />}
      <StageGraph stages={e.stages} selected={sel?.id} onSelect={setSelected} />
      {sel && <StageDetails run={e} stage={sel} act={act} />}
    </main>
  );
}

function StageDetails({ run, stage: s, act }: { run: Execution; stage: Stage; act: (fn: () => Promise<unknown>) => void }) {
  const children = run.stages.filter((c) => c.parentStageId === s.id);
  const [input, setInput] = useState('');
  const ctx = s.context || {};
  const judgmentInputs: { value: string }[] = Array.isArray(ctx.judgmentInputs) ? ctx.judgmentInputs : [];
  const stagePath = `/pipelines/${enc(run.id)}/stages/${enc(s.id)}`;
  const canSkip = s.status === 'RUNNING' && (s.type === 'wait' || s.type === 'restrictExecutionDuringTimeWindow');
  return (
    <section class="stage-details" aria-label={`stage ${s.name}`}>
      <header>
        <h2>{s.name}</h2>
        <StatusBadge status={s.status} />
        <span class="muted">
          {s.type} · {when(s.startTime)} {s.startTime ? `· ${duration(s.startTime, s.endTime)}` : ''}
        </span>
        <span class="spacer" />
        {canSkip && (
          <button type="button" onClick={() => act(() => patch(stagePath, { skipRemainingWait: true }))}>
            Skip wait
          </button>
        )}
        {finished(s) && !isActive(run.status) && (
          <button type="button" onClick={() => act(() => put(`${stagePath}/restart`))}>
            Restart stage
          </button>
        )}
      </header>
      {s.type === 'manualJudgment' && s.status === 'RUNNING' && (
        <div class="judgment" role="region" aria-label="manual judgment">
          <p class="instructions">{ctx.instructions || 'This stage waits for a person to continue or stop the run.'}</p>
          {judgmentInputs.length > 0 && (
            <div class="field">
              <label for="judgment-input">Judgment input</label>
              <select id="judgment-input" value={input} onChange={(e) => setInput((e.target as HTMLSelectElement).value)}>
                <option value="">(none)</option>
                {judgmentInputs.map((j) => (
                  <option key={j.value} value={j.value}>
                    {j.value}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div class="actions left">
            <button type="button" class="primary" onClick={() => act(() => patch(stagePath, { judgmentStatus: 'continue', judgmentInput: input || undefined }))}>
              Continue
            </button>
            <button type="button" class="danger" onClick={() => act(() => patch(stagePath, { judgmentStatus: 'stop', judgmentInput: input || undefined }))}>
              Stop
            </button>
          </div>
        </div>
      )}
      {s.type === 'manualJudgment' && ctx.judgmentStatus && (
        <p>
          Judged <strong>{ctx.judgmentStatus}</strong>
          {ctx.judgmentInput ? ` (${ctx.judgmentInput})` : ''} by {ctx.lastModifiedBy || 'unknown'}
        </p>
      )}
      {stageError(s) && (
        <div class="error" role="alert">
          {stageError(s)}
        </div>
      )}
      {ctx.webhook && <WebhookOutput webhook={ctx.webhook} />}
      {ctx.jobStatus && (
        <div class="output" aria-label="job output">
          <h3>
            Job {ctx.jobStatus.name} <span class="muted">{ctx.jobStatus.status}</span>
          </h3>
          {ctx.jobStatus.failureDetails && <div class="error">{ctx.jobStatus.failureDetails}</div>}
          {ctx.jobStatus.logs ? <pre class="logs">{ctx.jobStatus.logs}</pre> : <p class="muted">Logs appear when the job ends.</p>}
        </div>
      )}
      <h3>Tasks</h3>
      <table class="table compact">
        <thead>
          <tr>
            <th>Task</th>
            <th>Status</th>
            <th>Started</th>
            <th>Took</th>
          </tr>
        </thead>
        <tbody>
          {[...children.flatMap((c) => c.tasks.map((t) => ({ ...t, name: `${c.name}: ${t.name}` }))), ...s.tasks].map((t, i) => (
            <tr key={i}>
              <td>{t.name}</td>
              <td>
                <StatusBadge status={t.status} />
              </td>
              <td>{when(t.startTime)}</td>
              <td>{duration(t.startTime, t.endTime)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <Json title="Context" value={ctx} />
      {s.outputs && Object.keys(s.outputs).length > 0 && <Json title="Outputs" value={s.outputs} />}
    </section>
  );
}

function WebhookOutput({ webhook: w }: { webhook: any }) {
  const body = (b: unknown) => (typeof b === 'string' ? b : JSON.stringify(b, null, 2));
  return (
    <div class="output" aria-label="webhook output">
      <h3>
        Webhook response <span class="muted">{w.statusCode || w.statusCodeValue || ''}</span>
      </h3>
      {w.error && <div class="error">{w.error}</div>}
      {w.body !== undefined && <pre class="logs">{body(w.body)}</pre>}
      {w.monitor && (
        <>
          <h3>
            Last status poll <span class="muted">{w.monitor.statusCode || ''}</span>
          </h3>
          {w.monitor.progressMessage && <p>{w.monitor.progressMessage}</p>}
          {w.monitor.body !== undefined && <pre class="logs">{body(w.monitor.body)}</pre>}
        </>
      )}
    </div>
  );
}

function Json({ title, value }: { title: string; value: unknown }) {
  return (
    <details class="json">
      <summary>{title}</summary>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}
