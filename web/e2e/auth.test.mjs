// When the API asks for credentials (401), the UI asks for a token and sends
// it as a bearer token from then on. gennaker up has no authentication of
// its own yet, so the browser's request routing stands in for an API that
// requires a token (a fake of that one decision, named here as such).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE, openBrowser } from './lib.mjs';

let b;
before(async () => {
  b = await openBrowser();
});
after(async () => {
  await b?.close();
});

test('a 401 brings up the token login, and the token is sent', async () => {
  const { page } = b;
  const seen = [];
  // fakeTokenCheck: the API answers 401 to requests without "Bearer t0ken".
  await page.route(/\/applications(\?|$)/, async (route) => {
    const auth = route.request().headers().authorization || '';
    seen.push(auth);
    if (auth !== 'Bearer t0ken') {
      await route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ status: 401, error: 'Unauthorized', message: 'a bearer token is required' }) });
      return;
    }
    await route.continue();
  });
  await page.goto(`${BASE}/#/applications`);
  const token = page.getByLabel(/paste your API token/);
  await token.waitFor();
  await page.getByRole('alert').getByText('a bearer token is required').waitFor();
  await token.fill('t0ken');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Applications' }).waitFor();
  await page.locator('table, .empty').first().waitFor();
  assert.equal(await token.count(), 0, 'the login stays after a good token');
  assert.equal(seen.at(-1), 'Bearer t0ken');
  b.checkNoErrors(401);
});
