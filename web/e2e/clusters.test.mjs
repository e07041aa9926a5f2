// On the clusters page a user watches a red/black, sees a traffic guard
// refuse to disable the cluster's last enabled server group, and rolls the
// new server group back to the previous one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, BASE, createApplication, deployPipeline, loadBalancerPipeline, openBrowser, savePipeline, screenshot, trigger, waitRun } from './lib.mjs';

const app = 'store';
let b;

before(async () => {
  await createApplication({
    name: app,
    email: 'ops@example.com',
    trafficGuards: [{ account: 'local', location: 'local', stack: 'prod', enabled: true }],
  });
  await savePipeline(loadBalancerPipeline(app));
  await savePipeline(deployPipeline(app));
  for (const [name, params] of [
    ['Create load balancer', {}],
    ['Deploy', { version: 'v1' }],
  ]) {
    const run = await waitRun(await trigger(app, name, params));
    assert.equal(run.status, 'SUCCEEDED', `${name} ended ${run.status}`);
  }
  b = await openBrowser();
});

after(async () => {
  await b?.close();
});

const card = (page, name) => page.locator(`[data-server-group="${name}"]`);

test('watch a red/black on the clusters page', async () => {
  const { page } = b;
  await page.goto(`${BASE}/#/applications/${app}/clusters`);
  await card(page, `${app}-prod-v000`).waitFor();
  const run = await trigger(app, 'Deploy', { version: 'v2' });
  // The new server group comes up beside the old one; both serve until
  // the old one is disabled.
  await page.locator(`[data-server-group="${app}-prod-v001"][data-enabled="true"]`).getByText('2 up').waitFor();
  assert.equal(await card(page, `${app}-prod-v000`).getAttribute('data-enabled'), 'true', 'the old server group was disabled before the new one was up');
  await screenshot(page, 'clusters-redblack');
  assert.equal((await waitRun(run)).status, 'SUCCEEDED');
  await page.locator(`[data-server-group="${app}-prod-v000"][data-enabled="false"]`).waitFor();
  await page.locator(`[data-server-group="${app}-prod-v001"][data-enabled="true"]`).waitFor();
  await card(page, `${app}-prod-v001`).getByText('2 up').waitFor();
  await card(page, `${app}-prod-v001`).getByRole('link', { name: /Deploy/ }).waitFor();
  b.checkNoErrors();
});

test("a traffic guard's refusal is shown with its message", async () => {
  const { page } = b;
  await card(page, `${app}-prod-v001`).getByRole('button', { name: `Disable ${app}-prod-v001` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByText('The traffic guard on store-prod').waitFor();
  await dialog.getByRole('button', { name: 'Disable' }).click();
  const outcome = page.getByRole('status');
  await outcome.getByText('TERMINAL').waitFor();
  await outcome.getByText(/traffic guard .* refuses to disable/).waitFor();
  await screenshot(page, 'clusters-traffic-guard');
  assert.equal(await card(page, `${app}-prod-v001`).getAttribute('data-enabled'), 'true', 'the guarded server group was disabled');
  b.checkNoErrors();
});

test('roll back a server group and see the previous one enabled', async () => {
  const { page } = b;
  await card(page, `${app}-prod-v001`).getByRole('button', { name: `Rollback ${app}-prod-v001` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Restore to').selectOption(`${app}-prod-v000`);
  await dialog.getByRole('button', { name: 'Rollback' }).click();
  await page.getByRole('status').getByText('SUCCEEDED').waitFor({ timeout: 60_000 });
  await page.locator(`[data-server-group="${app}-prod-v000"][data-enabled="true"]`).waitFor();
  await page.locator(`[data-server-group="${app}-prod-v001"][data-enabled="false"]`).waitFor();
  await screenshot(page, 'clusters-rolled-back');

  // The API agrees, and the load balancer routes to v000 only.
  const groups = await api('GET', `/applications/${app}/serverGroups`);
  const enabled = groups.filter((g) => !g.isDisabled).map((g) => g.name);
  assert.deepEqual(enabled, [`${app}-prod-v000`]);
  await page.getByRole('link', { name: 'Load balancers' }).click();
  const lb = page.getByRole('region', { name: `load balancer ${app}-lb` });
  await lb.getByRole('row', { name: new RegExp(`${app}-prod-v000 enabled`) }).waitFor();
  await screenshot(page, 'load-balancers');
  b.checkNoErrors();
});

test('resize and destroy a server group', async () => {
  const { page } = b;
  await page.getByRole('link', { name: 'Clusters' }).click();
  const old = card(page, `${app}-prod-v001`);
  await old.getByRole('button', { name: `Resize ${app}-prod-v001` }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Instances').fill('1');
  await dialog.getByRole('button', { name: 'Resize' }).click();
  await page.getByRole('status').getByText('SUCCEEDED').waitFor({ timeout: 60_000 });
  await old.getByText('capacity 1/1/2').waitFor();

  await old.getByRole('button', { name: `Destroy ${app}-prod-v001` }).click();
  // The enabled v000 keeps the cluster serving: no guard is named.
  assert.equal(await page.getByRole('dialog').getByText('traffic guard').count(), 0);
  await page.getByRole('dialog').getByRole('button', { name: 'Destroy' }).click();
  await old.waitFor({ state: 'detached', timeout: 60_000 });
  await page.getByRole('status').getByText('SUCCEEDED').waitFor();
  const groups = await api('GET', `/applications/${app}/serverGroups`);
  assert.deepEqual(groups.map((g) => g.name), [`${app}-prod-v000`]);
  b.checkNoErrors();
});
