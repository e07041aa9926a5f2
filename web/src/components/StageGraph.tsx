import { Graph, layout } from '@dagrejs/dagre';
import { useMemo } from 'preact/hooks';
import type { Stage } from '../api';
import { duration, statusClass } from '../util';

const W = 176;
const H = 56;

interface Placed {
  stage: Stage;
  x: number;
  y: number;
}

/** topStages are the stages a pipeline lists; synthetic ones belong to their parent. */
export function topStages(stages: Stage[]): Stage[] {
  return stages.filter((s) => !s.parentStageId);
}

/**
 * StageGraph draws a run's stages as the DAG their requisiteStageRefIds
 * make, laid out by dagre left to right: branches side by side, joins
 * where they meet. Each stage is a button that selects it.
 */
export function StageGraph(props: { stages: Stage[]; selected?: string; onSelect: (id: string) => void }) {
  const stages = topStages(props.stages);
  const key = stages.map((s) => `${s.refId}<${(s.requisiteStageRefIds || []).join(',')}`).join(';');
  const shape = useMemo(() => {
    const g = new Graph();
    g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 44, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(() => ({}));
    const byRef = new Map<string, Stage>();
    for (const s of stages) {
      byRef.set(s.refId, s);
      g.setNode(s.refId, { width: W, height: H });
    }
    for (const s of stages) {
      for (const r of s.requisiteStageRefIds || []) {
        if (byRef.has(r)) g.setEdge(r, s.refId);
      }
    }
    layout(g);
    const nodes = new Map<string, { x: number; y: number }>();
    for (const s of stages) {
      const n = g.node(s.refId);
      nodes.set(s.refId, { x: n.x - W / 2, y: n.y - H / 2 });
    }
    const edges = g.edges().map((e) => ({ from: e.v, to: e.w, points: (g.edge(e).points || []) as { x: number; y: number }[] }));
    const gl = g.graph();
    return { nodes, edges, width: gl.width || W, height: gl.height || H };
  }, [key]);

  const placed: Placed[] = stages.map((s) => ({ stage: s, ...shape.nodes.get(s.refId)! })).filter((p) => p.x !== undefined);
  return (
    <div class="graph-scroll" role="group" aria-label="stage graph">
      <div class="graph" style={{ width: `${shape.width}px`, height: `${shape.height}px` }}>
        <svg width={shape.width} height={shape.height} aria-hidden="true">
          {shape.edges.map((e) => (
            <path
              key={`${e.from}-${e.to}`}
              class="edge"
              d={e.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x},${p.y}`).join(' ')}
              marker-end="url(#arrow)"
            />
          ))}
          <defs>
            <marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto">
              <path d="M0,0 L8,4 L0,8 z" class="arrowhead" />
            </marker>
          </defs>
        </svg>
        {placed.map(({ stage: s, x, y }) => (
          <button
            key={s.id}
            type="button"
            class={`node ${statusClass(s.status)} ${props.selected === s.id ? 'selected' : ''}`}
            style={{ left: `${x}px`, top: `${y}px`, width: `${W}px`, height: `${H}px` }}
            data-stage={s.name}
            data-status={s.status}
            aria-label={`stage ${s.name}: ${s.status}`}
            aria-pressed={props.selected === s.id}
            onClick={() => props.onSelect(s.id)}
          >
            <span class="node-name">{s.name}</span>
            <span class="node-meta">
              {s.status.replace(/_/g, ' ').toLowerCase()} {s.startTime ? `· ${duration(s.startTime, s.endTime)}` : ''}
            </span>
          </button>
        ))}
      </div>
    </div>
  );
}

/** StageBar is a run's stages as a row of small boxes, in Deck's manner. */
export function StageBar({ stages, href }: { stages: Stage[]; href: string }) {
  return (
    <a class="stagebar" href={href} aria-label="open run details">
      {topStages(stages).map((s) => (
        <span key={s.id} class={`seg ${statusClass(s.status)}`} title={`${s.name}: ${s.status}`} data-status={s.status} />
      ))}
    </a>
  );
}
