// A run's actions, each offered only where the API allows it: skip a wait,
// pause and resume, cancel, restart a stage; and what the UI says when
// there is nothing to show.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, BASE, createApplication, openBrowser, savePipeline, trigger, waitRun } from './lib.mjs';

const app = 'ops';
let b;

before(async () => {
  await createApplication({ name: app, email: 'ops@example.com' });
  await savePipeline({
    application: app,
    name: 'Wait',
    stages: [
      { refId: '1', type: 'wait', name: 'Long wait', waitTime: 600 },
      { refId: '2', requisiteStageRefIds: ['1'], type: 'checkPreconditions', name: 'Check', preconditions: [{ type: 'expression', context: { expression: '${parameters.ok == "yes"}' } }] },
    ],
    parameterConfig: [{ name: 'ok', default: 'no' }],
  });
  b = await openBrowser();
});

after(async () => {
  await b?.close();
});

const status = (page) => page.getByTestId('run-status');
const node = (page, name) => page.locator(`.node[data-stage="${name}"]`);

test('skip a wait, see a failed stage with its message, restart it', async () => {
  const { page } = b;
  const id = await trigger(app, 'Wait');
  await page.goto(`${BASE}/#/applications/${app}/executions/details/${id}`);
  await node(page, 'Long wait').and(page.locator('[data-status="RUNNING"]')).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Restart stage', exact: true }).count(), 0, 'restart offered on a running stage');
  await page.getByRole('button', { name: 'Skip wait', exact: true }).click();
  await status(page).getByText('TERMINAL').waitFor();
  // The failed precondition is shown with its message.
  await page.getByRole('alert').filter({ hasText: 'Check' }).first().waitFor();
  await node(page, 'Check').click();
  await page.getByRole('button', { name: 'Skip wait', exact: true }).waitFor({ state: 'detached' });
  const check = async () => (await api('GET', `/pipelines/${id}`)).stages.find((s) => s.name === 'Check');
  const first = await check();
  await page.getByRole('button', { name: 'Restart stage', exact: true }).click();
  // The stage runs again: a later start, and the run ends again.
  for (let i = 0; ; i++) {
    const again = await check();
    if (again.startTime > first.startTime && again.status === 'TERMINAL') break;
    assert.ok(i < 150, `the restarted stage did not run again: ${JSON.stringify(again.status)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  await status(page).getByText('TERMINAL').waitFor();
  b.checkNoErrors();
});

test('pause, resume and cancel a run', async () => {
  const { page } = b;
  const id = await trigger(app, 'Wait');
  await page.goto(`${BASE}/#/applications/${app}/executions/details/${id}`);
  await node(page, 'Long wait').and(page.locator('[data-status="RUNNING"]')).waitFor();
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await status(page).getByText('PAUSED').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Pause', exact: true }).count(), 0, 'pause offered on a paused run');
  await page.getByRole('button', { name: 'Resume', exact: true }).click();
  await status(page).getByText('RUNNING').waitFor();
  await page.getByRole('button', { name: 'Cancel run', exact: true }).click();
  await status(page).getByText('CANCELED').waitFor();
  await page.getByText(/Canceled by/).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Cancel run', exact: true }).count(), 0, 'cancel offered on a finished run');
  assert.equal((await waitRun(id)).status, 'CANCELED');
  b.checkNoErrors();
});

test('empty and missing things say what to do', async () => {
  const { page } = b;
  await page.goto(`${BASE}/#/applications/${app}/clusters`);
  await page.getByText(`${app} has no server groups. Run a pipeline with a deploy stage to create one.`).waitFor();
  await page.goto(`${BASE}/#/applications/${app}/loadBalancers`);
  await page.getByText(`${app} has no load balancers.`).waitFor();
  await page.goto(`${BASE}/#/applications/nosuchapp/executions`);
  await page.getByRole('alert').filter({ hasText: 'Application nosuchapp cannot be shown' }).getByRole('link', { name: 'applications' }).waitFor();
  await page.goto(`${BASE}/#/applications/${app}/executions/details/01NOSUCHRUN0000000000000000`);
  await page.getByRole('alert').filter({ hasText: 'Loading run' }).waitFor();
  b.checkNoErrors(404);
});
