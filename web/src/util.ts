import { useEffect, useRef, useState } from 'preact/hooks';
import type { Status } from './api';

/** Times are shown in the viewer's time zone. */
const timeFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function when(ms?: number): string {
  return ms ? timeFmt.format(new Date(ms)) : '';
}

export function duration(start?: number, end?: number): string {
  if (!start) return '';
  const ms = Math.max(0, (end || Date.now()) - start);
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function isActive(s: Status): boolean {
  return s === 'RUNNING' || s === 'NOT_STARTED' || s === 'PAUSED' || s === 'SUSPENDED' || s === 'BUFFERED';
}

export function statusClass(s: Status): string {
  return `st-${s.toLowerCase()}`;
}

export interface Loaded<T> {
  data?: T;
  error?: Error;
  loading: boolean;
  reload: () => void;
}

/**
 * load fetches once and again every intervalMs while poll says so (live
 * pages poll each second, so a change shows within 2 s).
 */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[], poll?: (d: T | undefined) => number | false): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    let live = true;
    let timer: number | undefined;
    const run = async () => {
      let next: T | undefined;
      try {
        next = await fnRef.current();
        if (!live) return;
        setState({ data: next, loading: false });
      } catch (e) {
        if (!live) return;
        setState((s) => ({ data: s.data, error: e as Error, loading: false }));
      }
      const every = poll ? poll(next) : false;
      if (live && every) timer = window.setTimeout(run, every);
    };
    setState((s) => ({ ...s, loading: true, error: undefined }));
    run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

export function navigate(hash: string) {
  location.hash = hash;
}
