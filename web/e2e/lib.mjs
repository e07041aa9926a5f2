// Helpers of the browser suite: the API (to set up what a test starts
// from), the browser, and screenshots.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const BASE = need('GENNAKER_URL');
export const HELLO = process.env.HELLO_BIN || '';
const SHOTS = process.env.SCREENSHOTS || new URL('./screenshots', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set; run the suite with go test ./tests/ui/`);
  return v;
}

export async function api(method, path, body) {
  const resp = await fetch(BASE + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

export async function createApplication(app) {
  await api('POST', '/tasks', { application: app.name, job: [{ type: 'createApplication', application: app }] });
}

export async function savePipeline(p) {
  await api('POST', '/pipelines', p);
  const all = await api('GET', `/applications/${p.application}/pipelineConfigs`);
  return all.find((x) => x.name === p.name);
}

export async function trigger(app, pipeline, parameters = {}) {
  const r = await api('POST', `/pipelines/${app}/${encodeURIComponent(pipeline)}`, { type: 'manual', user: 'setup', parameters });
  return r.ref.replace('/pipelines/', '');
}

const active = new Set(['NOT_STARTED', 'RUNNING', 'PAUSED', 'SUSPENDED', 'BUFFERED']);

export async function waitRun(id, timeoutMs = 90_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const e = await api('GET', `/pipelines/${id}`);
    if (!active.has(e.status)) return e;
    if (Date.now() > end) throw new Error(`run ${id} still ${e.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * openBrowser starts Debian's Chromium at a laptop's 1280×800 and records
 * every console error and uncaught exception; check() fails the test if
 * there were any.
 */
export async function openBrowser() {
  const browser = await chromium.launch({
    executablePath: need('CHROMIUM_PATH'),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'Europe/Berlin', locale: 'en-GB' });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  return {
    browser,
    page,
    errors,
    /**
     * checkNoErrors fails the test if the page logged an error, other than
     * the browser's note of an HTTP status the test provoked on purpose
     * (expected: statuses such as 409), and starts the record afresh.
     */
    checkNoErrors(...expected) {
      const unexpected = errors.filter((e) => !expected.some((code) => e === `console: Failed to load resource: the server responded with a status of ${code} ${statusText[code]}`));
      errors.length = 0;
      assert.deepEqual(unexpected, [], 'the page logged errors');
    },
    async close() {
      await browser.close();
    },
  };
}

const statusText = { 401: '(Unauthorized)', 404: '(Not Found)', 409: '(Conflict)' };

export async function screenshot(page, name) {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}

/** deployPipeline is a red/black deploy of hello into shop-prod behind shop-lb. */
export function deployPipeline(app) {
  return {
    application: app,
    name: 'Deploy',
    parameterConfig: [{ name: 'version', required: true }],
    stages: [
      {
        refId: '1',
        type: 'deploy',
        name: 'Deploy',
        clusters: [
          {
            cloudProvider: 'local',
            account: 'local',
            region: 'local',
            application: app,
            stack: 'prod',
            strategy: 'redblack',
            capacity: { min: 2, max: 2, desired: 2 },
            maxRemainingAsgs: 3,
            // Both server groups serve for a few seconds, long enough to see.
            delayBeforeDisableSec: 4,
            loadBalancers: [`${app}-lb`],
            healthCheckPath: '/health',
            artifact: { type: 'local/command', command: HELLO, env: { VERSION: '${parameters.version}' } },
          },
        ],
      },
    ],
  };
}

export function loadBalancerPipeline(app) {
  return {
    application: app,
    name: 'Create load balancer',
    stages: [
      {
        refId: '1',
        type: 'upsertLoadBalancer',
        name: 'Upsert load balancer',
        loadBalancers: [{ cloudProvider: 'local', account: 'local', region: 'local', name: `${app}-lb`, listenPort: 0 }],
      },
    ],
  };
}
