// A release manager opens the application, runs a pipeline with parameters
// from the form, watches its graph progress, approves the manual judgment
// and sees the run succeed.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { after, before, test } from 'node:test';
import { api, BASE, createApplication, openBrowser, savePipeline, screenshot, trigger, waitRun } from './lib.mjs';

const app = 'shop';
let b;

before(async () => {
  await createApplication({ name: app, email: 'releases@example.com', description: 'the shop front end' });
  await savePipeline({
    application: app,
    name: 'Release',
    parameterConfig: [
      { name: 'version', label: 'Version to ship', required: true },
      { name: 'region', hasOptions: true, options: [{ value: 'eu' }, { value: 'us' }], default: 'eu' },
    ],
    stages: [
      { refId: '1', requisiteStageRefIds: [], type: 'wait', name: 'Build', waitTime: 2 },
      { refId: '2', requisiteStageRefIds: ['1'], type: 'wait', name: 'Unit tests', waitTime: 1 },
      { refId: '3', requisiteStageRefIds: ['1'], type: 'wait', name: 'Integration tests', waitTime: 2 },
      {
        refId: '4',
        requisiteStageRefIds: ['2', '3'],
        type: 'manualJudgment',
        name: 'Approve',
        instructions: 'Ship ${parameters.version} to ${parameters.region}?',
        judgmentInputs: [{ value: 'ship it' }, { value: 'not today' }],
      },
      { refId: '5', requisiteStageRefIds: ['4'], type: 'wait', name: 'Roll out', waitTime: 1 },
    ],
  });
  b = await openBrowser();
});

after(async () => {
  await b?.close();
});

test('run a pipeline from the form, approve it, see it succeed', async () => {
  const { page } = b;
  await page.goto(`${BASE}/`);
  await page.getByRole('link', { name: app, exact: true }).click();
  await page.getByRole('heading', { name: 'Release' }).waitFor();

  await page.getByRole('button', { name: 'Run Release' }).click();
  const dialog = page.getByRole('dialog', { name: 'Run Release' });
  // A required parameter left empty is refused by the form.
  await dialog.getByRole('button', { name: 'Run' }).click();
  assert.equal(await dialog.isVisible(), true, 'the form ran without its required version');
  await dialog.getByLabel('Version to ship').fill('2.4.1');
  await dialog.getByLabel('region').selectOption('us');
  await dialog.getByRole('button', { name: 'Run' }).click();

  // The run's page: the graph moves from stage to stage.
  await page.waitForURL(/#\/applications\/shop\/executions\/details\//);
  const node = (name) => page.locator(`.node[data-stage="${name}"]`);
  await node('Build').and(page.locator('[data-status="RUNNING"]')).waitFor();
  assert.equal(await node('Approve').getAttribute('data-status'), 'NOT_STARTED');
  await node('Build').and(page.locator('[data-status="SUCCEEDED"]')).waitFor();
  await node('Unit tests').and(page.locator('[data-status="SUCCEEDED"]')).waitFor();
  await node('Integration tests').and(page.locator('[data-status="SUCCEEDED"]')).waitFor();
  // Branches sit side by side: the two test stages share a column.
  const unit = await node('Unit tests').boundingBox();
  const integ = await node('Integration tests').boundingBox();
  assert.equal(Math.round(unit.x), Math.round(integ.x), 'parallel branches are not side by side');
  assert.notEqual(Math.round(unit.y), Math.round(integ.y));

  // The judgment waits, with its instructions and inputs.
  const judgment = page.getByRole('region', { name: 'manual judgment' });
  await judgment.waitFor();
  await judgment.getByText('Ship 2.4.1 to us?').waitFor();
  await page.getByText(/parameters .*version=2.4.1/).waitFor();
  await page.getByText(/parameters .*region=us/).waitFor();
  await screenshot(page, 'execution-details-judgment');
  await judgment.getByLabel('Judgment input').selectOption('ship it');
  await judgment.getByRole('button', { name: 'Continue' }).click();

  await page.getByTestId('run-status').getByText('SUCCEEDED').waitFor({ timeout: 30_000 });
  assert.equal(await node('Roll out').getAttribute('data-status'), 'SUCCEEDED');
  await node('Approve').click();
  await page.getByText('Judged continue (ship it)').waitFor();

  // The pipelines page lists the run, succeeded, with its parameters.
  await page.getByRole('link', { name: 'Pipelines' }).click();
  const row = page.locator('.run').first();
  await row.getByText('SUCCEEDED').waitFor();
  await row.getByText(/version=2.4.1/).waitFor();
  await screenshot(page, 'executions');
  b.checkNoErrors();
});

test('the pipeline configuration shows problems at their JSON paths', async () => {
  const { page } = b;
  await page.goto(`${BASE}/#/applications/${app}/executions`);
  await page.getByRole('link', { name: 'Configure' }).click();
  const editor = page.getByLabel('Pipeline JSON');
  await editor.waitFor();
  await page.getByText('Valid; it can run here.').waitFor();
  const doc = JSON.parse(await editor.inputValue());
  doc.stages[4].requisiteStageRefIds = ['9'];
  await editor.fill(JSON.stringify(doc, null, 2));
  await page.locator('.validation .error', { hasText: 'stages[4].requisiteStageRefIds' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Save' }).isDisabled(), true, 'an invalid pipeline can be saved');
  await screenshot(page, 'pipeline-config');

  // A valid change saves as a new version.
  doc.stages[4].requisiteStageRefIds = ['4'];
  doc.stages[4].waitTime = 5;
  await editor.fill(JSON.stringify(doc, null, 2));
  await page.getByText('Valid; it can run here.').waitFor();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText(/^Saved /).waitFor();
  const history = page.getByRole('complementary', { name: 'history' });
  await history.getByText(/^v2 .*\(current\)/).waitFor();

  // Someone else saves meanwhile: saving the stale copy is refused.
  const v2 = await api('GET', `/applications/${app}/pipelineConfigs/Release`);
  await page.waitForFunction((ts) => document.getElementById('pipeline-json').value.includes(ts), v2.updateTs);
  const current = JSON.parse(await editor.inputValue());
  await api('POST', '/pipelines', { ...current, description: 'changed elsewhere' });
  current.stages[4].waitTime = 6;
  await editor.fill(JSON.stringify(current, null, 2));
  await page.getByText('Valid; it can run here.').waitFor();
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('alert').getByText(/after the copy you sent was read/).waitFor();

  // Compare the first version with the current one, then restore it.
  await page.reload();
  await history.getByText(/^v3 .*\(current\)/).waitFor();
  await history.getByRole('button', { name: 'Compare version 1' }).click();
  const diff = page.getByRole('region', { name: 'version comparison' });
  await diff.getByText(/waitTime changed: 1 → 5/).waitFor();
  await screenshot(page, 'pipeline-history');
  await history.getByRole('button', { name: 'Restore version 1' }).click();
  await history.getByText(/^v4 .*\(current\)/).waitFor();
  const restored = await api('GET', `/applications/${app}/pipelineConfigs/Release`);
  assert.equal(restored.stages[4].waitTime, 1, 'restoring version 1 did not bring its waitTime back');
  b.checkNoErrors(409); // the stale save, refused
});

test('a 100-stage pipeline draws as a readable graph', async () => {
  const { page } = b;
  const stages = [];
  for (let i = 1; i <= 100; i++) {
    // Ten branches of ten stages each.
    const prev = i <= 10 ? [] : [String(i - 10)];
    stages.push({ refId: String(i), requisiteStageRefIds: prev, type: 'wait', name: `Step ${i}`, waitTime: 0 });
  }
  await savePipeline({ application: app, name: 'Long', stages });
  const id = await trigger(app, 'Long');
  await waitRun(id);
  await page.goto(`${BASE}/#/applications/${app}/executions/details/${id}`);
  await page.getByTestId('run-status').getByText('SUCCEEDED').waitFor();
  const nodes = page.locator('.node');
  assert.equal(await nodes.count(), 100);
  // No two stage boxes overlap.
  const boxes = await nodes.evaluateAll((els) => els.map((e) => ({ x: e.offsetLeft, y: e.offsetTop, w: e.offsetWidth, h: e.offsetHeight })));
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const c = boxes[j];
      const overlap = a.x < c.x + c.w && c.x < a.x + a.w && a.y < c.y + c.h && c.y < a.y + a.h;
      assert.equal(overlap, false, `stages ${i + 1} and ${j + 1} overlap`);
    }
  }
  // The last stage can be reached by scrolling the graph, and selected.
  await page.locator('.node[data-stage="Step 100"]').click();
  await page.getByRole('region', { name: 'stage Step 100' }).waitFor();
  await screenshot(page, 'execution-details-100-stages');
  b.checkNoErrors();
});

test('the pipelines page is reachable by keyboard', async () => {
  const { page } = b;
  await page.goto(`${BASE}/#/applications/${app}/executions`);
  await page.getByRole('heading', { name: 'Release' }).waitFor();
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.getAttribute('aria-label') === 'Run Release');
  }
  assert.ok(reached, 'Tab never reaches the Run button');
  await page.keyboard.press('Enter');
  const dialog = page.getByRole('dialog', { name: 'Run Release' });
  await dialog.waitFor();
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  b.checkNoErrors();
});

test('search and create applications', async () => {
  const { page } = b;
  await page.goto(`${BASE}/#/applications`);
  await page.getByRole('link', { name: app, exact: true }).waitFor();
  await page.getByLabel('Search applications').fill('zzz');
  await page.getByText('No application matches “zzz”.').waitFor();
  await page.getByLabel('Search applications').fill('');
  await page.getByRole('button', { name: 'Create application' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create application' });
  await dialog.getByLabel('Name').fill('catalog');
  await dialog.getByLabel('Owner email').fill('catalog@example.com');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(/#\/applications\/catalog\/executions$/);
  await page.getByText('catalog has no pipelines yet').waitFor();
  const created = await api('GET', '/applications/catalog');
  assert.equal(created.attributes.email, 'catalog@example.com');
  b.checkNoErrors();
});

test("a webhook's response shows in its stage", async () => {
  const { page } = b;
  // A real HTTP server for the webhook to call.
  const server = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ build: 42, result: 'green' }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${server.address().port}/build`;
    await savePipeline({ application: app, name: 'Hook', stages: [{ refId: '1', type: 'webhook', name: 'Call CI', url, method: 'POST', payload: { ref: 'main' } }] });
    const id = await trigger(app, 'Hook');
    assert.equal((await waitRun(id)).status, 'SUCCEEDED');
    await page.goto(`${BASE}/#/applications/${app}/executions/details/${id}`);
    const out = page.getByLabel('webhook output');
    await out.getByText('Webhook response').waitFor();
    await out.getByText('"result": "green"').waitFor();
  } finally {
    server.close();
  }
  b.checkNoErrors();
});

test("times are shown in the viewer's time zone", async () => {
  const { page } = b;
  const [run] = await api('GET', `/applications/${app}/pipelines?limit=1`);
  const berlin = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'Europe/Berlin' }).format(new Date(run.startTime));
  // A link copied from Deck, with its query, opens the run.
  await page.goto(`${BASE}/#/applications/${app}/executions/details/${run.id}?stage=0&step=0`);
  await page.getByText(`Started ${berlin}`).waitFor();
  b.checkNoErrors();
});

test('canary reports and audit have their pages', async () => {
  const { page } = b;
  for (const [link, text] of [
    ['Canary reports', 'No canary reports for shop yet'],
    ['Audit', 'No audit events for shop yet'],
  ]) {
    await page.getByRole('link', { name: link }).click();
    await page.getByText(text).waitFor();
  }
  await page.goto(`${BASE}/#/nowhere`);
  await page.getByText('Page not found').waitFor();
  b.checkNoErrors();
});
