import { useState } from 'preact/hooks';
import { enc, get, post, type Application, type Execution, type ServerGroup, type TrafficGuard } from '../api';
import { Dialog, Empty, ErrorBox, StatusBadge } from '../components/common';
import { isActive, useLoad, when } from '../util';
import { stageError } from './ExecutionDetails';

type Action = 'enableServerGroup' | 'disableServerGroup' | 'resizeServerGroup' | 'rollbackServerGroup' | 'destroyServerGroup';

const actionLabel: Record<Action, string> = {
  enableServerGroup: 'Enable',
  disableServerGroup: 'Disable',
  resizeServerGroup: 'Resize',
  rollbackServerGroup: 'Rollback',
  destroyServerGroup: 'Destroy',
};

interface Pending {
  action: Action;
  sg: ServerGroup;
  cluster: ServerGroup[];
}

interface Outcome {
  label: string;
  status?: string;
  message?: string;
  runId?: string;
}

/** Clusters shows server groups by account, region and cluster, with health and actions. */
export function Clusters({ app }: { app: string }) {
  const groups = useLoad(() => get<ServerGroup[]>(`/applications/${enc(app)}/serverGroups`), [app], () => 1500);
  const application = useLoad(() => get<Application>(`/applications/${enc(app)}`), [app]);
  const [pending, setPending] = useState<Pending | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);

  const guards: TrafficGuard[] = application.data?.trafficGuards || application.data?.attributes?.trafficGuards || [];
  const tree = new Map<string, Map<string, ServerGroup[]>>();
  for (const sg of groups.data || []) {
    const loc = `${sg.account} · ${sg.region}`;
    const clusters = tree.get(loc) || new Map<string, ServerGroup[]>();
    clusters.set(sg.cluster, [...(clusters.get(sg.cluster) || []), sg]);
    tree.set(loc, clusters);
  }

  const run = async (p: Pending, extra: Record<string, unknown>) => {
    setPending(null);
    const label = `${actionLabel[p.action]} ${p.sg.name}`;
    setOutcome({ label, status: 'RUNNING' });
    try {
      const job = {
        type: p.action,
        application: app,
        cloudProvider: p.sg.cloudProvider,
        credentials: p.sg.account,
        account: p.sg.account,
        region: p.sg.region,
        regions: [p.sg.region],
        cluster: p.sg.cluster,
        moniker: p.sg.moniker,
        serverGroupName: p.sg.name,
        ...extra,
      };
      const t = await post<{ ref: string }>(`/applications/${enc(app)}/tasks`, { application: app, description: label, job: [job] });
      const task = await get<{ ref?: string }>(t.ref);
      const runId = (task.ref || '').replace(/^\/pipelines\//, '');
      for (;;) {
        const e = await get<Execution>(`/pipelines/${enc(runId)}`);
        if (!isActive(e.status)) {
          const msg = e.stages.map(stageError).filter(Boolean).join('; ');
          setOutcome({ label, status: e.status, message: msg, runId });
          break;
        }
        setOutcome({ label, status: e.status, runId });
        await new Promise((r) => setTimeout(r, 500));
      }
    } catch (err) {
      setOutcome({ label, status: 'TERMINAL', message: (err as Error).message });
    }
    groups.reload();
  };

  return (
    <main class="page">
      <div class="page-head">
        <h1>Clusters</h1>
      </div>
      {outcome && (
        <div class={`outcome ${outcome.status === 'SUCCEEDED' ? 'ok' : outcome.status === 'RUNNING' ? '' : 'error'}`} role="status" aria-live="polite">
          <strong>{outcome.label}</strong> {outcome.status && <StatusBadge status={outcome.status as any} />}
          {outcome.message && <span class="outcome-message"> {outcome.message}</span>}
          {outcome.runId && (
            <>
              {' '}
              <a href={`#/applications/${app}/executions/details/${outcome.runId}`}>details</a>
            </>
          )}
        </div>
      )}
      {groups.error && <ErrorBox what="Loading server groups failed" error={groups.error} />}
      {groups.data !== undefined && (groups.data || []).length === 0 && <Empty>{app} has no server groups. Run a pipeline with a deploy stage to create one.</Empty>}
      {[...tree.entries()].map(([loc, clusters]) => (
        <section key={loc} class="location" aria-label={loc}>
          <h2>{loc}</h2>
          {[...clusters.entries()].map(([name, sgs]) => {
            const sorted = [...sgs].sort((a, b) => b.createdTime - a.createdTime);
            const guard = guardFor(guards, sorted[0]);
            return (
              <div class="cluster" key={name} aria-label={`cluster ${name}`}>
                <h3>
                  {name} {guard && <span class="badge guard" title={describeGuard(guard)}>traffic guard</span>}
                </h3>
                <div class="sg-list">
                  {sorted.map((sg) => (
                    <ServerGroupCard key={sg.name} app={app} sg={sg} onAction={(action) => setPending({ action, sg, cluster: sorted })} />
                  ))}
                </div>
              </div>
            );
          })}
        </section>
      ))}
      {pending && <Confirm pending={pending} guards={guards} onClose={() => setPending(null)} onConfirm={(extra) => run(pending, extra)} />}
    </main>
  );
}

function ServerGroupCard({ app, sg, onAction }: { app: string; sg: ServerGroup; onAction: (a: Action) => void }) {
  const c = sg.instanceCounts;
  const total = Math.max(c.total, 1);
  const version = sg.buildInfo?.version || sg.buildInfo?.image || sg.buildInfo?.imageName || '';
  return (
    <article class={`sg ${sg.isDisabled ? 'disabled' : 'enabled'}`} aria-label={`server group ${sg.name}`} data-server-group={sg.name} data-enabled={String(!sg.isDisabled)}>
      <header>
        <strong>{sg.name}</strong>
        <span class={`badge ${sg.isDisabled ? 'st-canceled' : 'st-succeeded'}`}>{sg.isDisabled ? 'disabled' : 'enabled'}</span>
      </header>
      {version && <div class="muted">version {String(version)}</div>}
      <div class="muted">
        capacity {sg.capacity.min}/{sg.capacity.desired}/{sg.capacity.max} (min/desired/max) · created {when(sg.createdTime)}
      </div>
      <div class="health" role="img" aria-label={`${c.up} up, ${c.down} down, ${c.starting} starting, ${c.outOfService} out of service, of ${c.total}`}>
        <span class="h-up" style={{ width: `${(100 * c.up) / total}%` }} />
        <span class="h-starting" style={{ width: `${(100 * c.starting) / total}%` }} />
        <span class="h-down" style={{ width: `${(100 * c.down) / total}%` }} />
        <span class="h-out" style={{ width: `${(100 * (c.outOfService + c.unknown)) / total}%` }} />
      </div>
      <div class="muted small">
        {c.up} up · {c.down} down · {c.starting} starting{c.outOfService ? ` · ${c.outOfService} out of service` : ''}
      </div>
      {sg.provenance?.executionId && (
        <div class="small">
          created by{' '}
          <a href={`#/applications/${app}/executions/details/${sg.provenance.executionId}`}>
            {sg.provenance.pipeline || 'a run'}
            {sg.provenance.stage ? ` / ${sg.provenance.stage}` : ''}
          </a>
          {sg.provenance.user ? ` (${sg.provenance.user})` : ''}
        </div>
      )}
      <div class="actions left">
        {sg.isDisabled ? (
          <button type="button" onClick={() => onAction('enableServerGroup')} aria-label={`Enable ${sg.name}`}>
            Enable
          </button>
        ) : (
          <button type="button" onClick={() => onAction('disableServerGroup')} aria-label={`Disable ${sg.name}`}>
            Disable
          </button>
        )}
        <button type="button" onClick={() => onAction('resizeServerGroup')} aria-label={`Resize ${sg.name}`}>
          Resize
        </button>
        {!sg.isDisabled && (
          <button type="button" onClick={() => onAction('rollbackServerGroup')} aria-label={`Rollback ${sg.name}`}>
            Rollback
          </button>
        )}
        <button type="button" class="danger" onClick={() => onAction('destroyServerGroup')} aria-label={`Destroy ${sg.name}`}>
          Destroy
        </button>
      </div>
    </article>
  );
}

function guardFor(guards: TrafficGuard[], sg?: ServerGroup): TrafficGuard | undefined {
  if (!sg) return undefined;
  const m = (rule: string | undefined, v: string | undefined, emptyIsAny: boolean) => rule === '*' || (rule || '') === (v || '') || (emptyIsAny && !rule);
  return guards.find((g) => g.enabled !== false && m(g.account, sg.account, true) && m(g.location, sg.region, true) && m(g.stack, sg.moniker.stack, false) && m(g.detail, sg.moniker.detail, false));
}

function describeGuard(g: TrafficGuard): string {
  return `account ${g.account || '*'}, location ${g.location || '*'}, stack ${g.stack || '(none)'}, detail ${g.detail || '(none)'}`;
}

/**
 * Confirm names what an action does and, where a traffic guard covers the
 * cluster and the action would leave it with nothing enabled, the guard
 * that will refuse it.
 */
function Confirm({ pending, guards, onClose, onConfirm }: { pending: Pending; guards: TrafficGuard[]; onClose: () => void; onConfirm: (extra: Record<string, unknown>) => void }) {
  const { action, sg, cluster } = pending;
  const others = cluster.filter((o) => o.name !== sg.name);
  const [restore, setRestore] = useState(others.find((o) => o.isDisabled)?.name || others[0]?.name || '');
  const [desired, setDesired] = useState(String(sg.capacity.desired));
  const guard = guardFor(guards, sg);
  const leavesNothing = (action === 'disableServerGroup' || action === 'destroyServerGroup') && !sg.isDisabled && !others.some((o) => !o.isDisabled);
  const blockedBy = guard && leavesNothing ? guard : undefined;

  let what = '';
  switch (action) {
    case 'enableServerGroup':
      what = `Enable ${sg.name}: it starts taking traffic from its load balancers.`;
      break;
    case 'disableServerGroup':
      what = `Disable ${sg.name}: it stops taking traffic; its instances keep running.`;
      break;
    case 'resizeServerGroup':
      what = `Resize ${sg.name} to a new number of instances.`;
      break;
    case 'rollbackServerGroup':
      what = `Roll back ${sg.name}: enable the server group chosen below, wait until it is up, then disable ${sg.name}.`;
      break;
    case 'destroyServerGroup':
      what = `Destroy ${sg.name}: its instances are stopped and it is removed.`;
      break;
  }
  const submit = (e: Event) => {
    e.preventDefault();
    if (action === 'rollbackServerGroup') {
      onConfirm({ rollbackType: 'EXPLICIT', rollbackContext: { rollbackServerGroupName: sg.name, restoreServerGroupName: restore } });
    } else if (action === 'resizeServerGroup') {
      const n = Number(desired);
      onConfirm({ resizeType: 'exact', action: 'scale_exact', capacity: { min: n, max: Math.max(n, sg.capacity.max), desired: n } });
    } else {
      onConfirm({});
    }
  };
  const noRestore = action === 'rollbackServerGroup' && others.length === 0;
  return (
    <Dialog title={`${actionLabel[action]} ${sg.name}?`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <p>{what}</p>
        {action === 'rollbackServerGroup' &&
          (noRestore ? (
            <div class="error">The cluster has no other server group to roll back to.</div>
          ) : (
            <div class="field">
              <label for="restore">Restore to</label>
              <select id="restore" value={restore} onChange={(e) => setRestore((e.target as HTMLSelectElement).value)}>
                {others.map((o) => (
                  <option key={o.name} value={o.name}>
                    {o.name} ({o.isDisabled ? 'disabled' : 'enabled'})
                  </option>
                ))}
              </select>
            </div>
          ))}
        {action === 'resizeServerGroup' && (
          <div class="field">
            <label for="desired">Instances</label>
            <input id="desired" type="number" min="0" value={desired} onInput={(e) => setDesired((e.target as HTMLInputElement).value)} />
          </div>
        )}
        {blockedBy && (
          <div class="warning" role="note">
            The traffic guard on {sg.cluster} ({describeGuard(blockedBy)}) will refuse this: it would leave the cluster with no enabled server group. Enable another server group
            first.
          </div>
        )}
        <div class="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class={action === 'destroyServerGroup' ? 'danger' : 'primary'} disabled={noRestore}>
            {actionLabel[action]}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function LoadBalancers({ app }: { app: string }) {
  const lbs = useLoad(() => get<import('../api').LoadBalancer[]>(`/applications/${enc(app)}/loadBalancers`), [app], () => 2000);
  return (
    <main class="page">
      <div class="page-head">
        <h1>Load balancers</h1>
      </div>
      {lbs.error && <ErrorBox what="Loading load balancers failed" error={lbs.error} />}
      {lbs.data !== undefined && (lbs.data || []).length === 0 && <Empty>{app} has no load balancers. An upsertLoadBalancer stage creates one.</Empty>}
      {(lbs.data || []).map((lb) => (
        <section class="location" key={`${lb.account}/${lb.region}/${lb.name}`} aria-label={`load balancer ${lb.name}`}>
          <h2>
            {lb.name} <span class="muted">{lb.account} · {lb.region}</span>
          </h2>
          {lb.url && <p class="muted">listening on {lb.url}</p>}
          <table class="table compact">
            <thead>
              <tr>
                <th>Server group</th>
                <th>Traffic</th>
                <th>Targets</th>
              </tr>
            </thead>
            <tbody>
              {lb.serverGroups.map((sg) => (
                <tr key={sg.name}>
                  <td>{sg.name}</td>
                  <td>{sg.isDisabled ? 'disabled' : 'enabled'}</td>
                  <td>
                    {(sg.instances || []).map((i) => (
                      <span key={i.id} class={`target h-${String(i.healthState).toLowerCase()}`}>
                        {i.address || i.name} {i.healthState}
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </main>
  );
}
