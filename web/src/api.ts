// The UI speaks only gennaker's public API (Gate's paths), relative to the
// page so that it works wherever the page is served from.

const TOKEN_KEY = 'gennaker.token';

/** An API error: Gate's error body, with the HTTP status. */
export class ApiError extends Error {
  status: number;
  errors: string[];
  constructor(status: number, message: string, errors: string[] = []) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

type Listener = () => void;
const authListeners = new Set<Listener>();

/** The bearer token the user logged in with, or "". */
export function token(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setToken(t: string) {
  sessionStorage.setItem(TOKEN_KEY, t);
  authNeeded = false;
  authListeners.forEach((l) => l());
}

/** Whether the API has answered 401 since the last login. */
export let authNeeded = false;

export function onAuthChange(l: Listener): () => void {
  authListeners.add(l);
  return () => authListeners.delete(l);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let resp: Response;
  try {
    resp = await fetch(path.replace(/^\//, ''), {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, `cannot reach gennaker's API (${(e as Error).message}); is gennaker up running?`);
  }
  const text = await resp.text();
  let data: any = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (resp.status === 401) {
    if (!authNeeded) {
      authNeeded = true;
      authListeners.forEach((l) => l());
    }
  }
  if (!resp.ok) {
    const msg = (data && typeof data === 'object' && data.message) || `${method} ${path} answered ${resp.status}`;
    throw new ApiError(resp.status, msg, (data && data.errors) || []);
  }
  return data as T;
}

export const get = <T>(path: string) => request<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, body);
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, body);
export const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, body);

export const enc = encodeURIComponent;

// The shapes the UI reads. Only the fields it uses are named.

export interface Application {
  name: string;
  email?: string;
  description?: string;
  updateTs?: string;
  attributes?: Record<string, any>;
  trafficGuards?: TrafficGuard[];
  [k: string]: any;
}

export interface TrafficGuard {
  account?: string;
  location?: string;
  stack?: string;
  detail?: string;
  enabled?: boolean;
}

export interface ParameterConfig {
  name: string;
  label?: string;
  description?: string;
  required?: boolean;
  default?: string;
  hasOptions?: boolean;
  options?: { value: string }[];
  pinned?: boolean;
}

export interface Pipeline {
  id: string;
  name: string;
  application: string;
  disabled?: boolean;
  parameterConfig?: ParameterConfig[];
  stages?: any[];
  updateTs?: string;
  lastModifiedBy?: string;
  version?: number;
  [k: string]: any;
}

export type Status =
  | 'NOT_STARTED'
  | 'RUNNING'
  | 'PAUSED'
  | 'SUSPENDED'
  | 'SUCCEEDED'
  | 'FAILED_CONTINUE'
  | 'TERMINAL'
  | 'CANCELED'
  | 'REDIRECT'
  | 'STOPPED'
  | 'SKIPPED'
  | 'BUFFERED';

export interface Task {
  id: string;
  name: string;
  status: Status;
  startTime?: number;
  endTime?: number;
}

export interface Stage {
  id: string;
  refId: string;
  type: string;
  name: string;
  status: Status;
  startTime?: number;
  endTime?: number;
  context?: Record<string, any>;
  outputs?: Record<string, any>;
  tasks: Task[];
  requisiteStageRefIds?: string[];
  parentStageId?: string;
  syntheticStageOwner?: string;
}

export interface Execution {
  id: string;
  type: string;
  application: string;
  name: string;
  pipelineConfigId?: string;
  status: Status;
  buildTime: number;
  startTime?: number;
  endTime?: number;
  trigger: { type: string; user?: string; parameters?: Record<string, any> };
  canceled?: boolean;
  canceledBy?: string;
  cancellationReason?: string;
  paused?: { pauseTime?: number; resumeTime?: number; pausedBy?: string };
  stages: Stage[];
}

export interface Instance {
  name: string;
  id: string;
  healthState: 'Up' | 'Down' | 'Starting' | 'OutOfService' | 'Unknown' | string;
  launchTime: number;
  address?: string;
}

export interface ServerGroup {
  name: string;
  application: string;
  cluster: string;
  account: string;
  region: string;
  cloudProvider: string;
  type: string;
  isDisabled: boolean;
  capacity: { min: number; max: number; desired: number };
  instanceCounts: { total: number; up: number; down: number; starting: number; outOfService: number; unknown: number };
  instances: Instance[];
  createdTime: number;
  loadBalancers: string[];
  buildInfo?: Record<string, any>;
  moniker: { app: string; cluster: string; stack?: string; detail?: string; sequence?: number };
  provenance?: { executionId?: string; pipelineConfigId?: string; pipeline?: string; stage?: string; user?: string };
}

export interface LoadBalancer {
  name: string;
  account: string;
  region: string;
  cloudProvider: string;
  type: string;
  listenPort?: number;
  url?: string;
  serverGroups: { name: string; isDisabled: boolean; instances: Instance[] }[];
}
