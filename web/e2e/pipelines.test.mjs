// A release manager opens the application, runs a pipeline with parameters
// from the form, watches its graph progress, approves the manual judgment
// and sees the run succeed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, createApplication, openBrowser, savePipeline, screenshot } from './lib.mjs';

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
  const start = Date.now();
  await page.goto(`${BASE}/`);
  await page.getByRole('link', { name: app, exact: true }).click();
  await page.getByRole('heading', { name: 'Release' }).waitFor();
  console.log(`first page to the application's pipelines: ${Date.now() - start} ms`);

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
