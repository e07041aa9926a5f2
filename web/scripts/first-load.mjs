// Measures the web UI's first page load from a running gennaker: each of
// N loads uses a fresh browser context (nothing cached) and times the
// navigation to "/" until the applications list has rendered from the API.
//
//   node scripts/first-load.mjs http://127.0.0.1:8084 [loads] [screenshot-hash screenshot.png]
//
// CHROMIUM_PATH names the browser (default: Debian's /usr/bin/chromium).
import { chromium } from 'playwright-core';

const [base = 'http://127.0.0.1:8084', n = '10', shotHash, shotPath] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const rows = [];
for (let i = 0; i < Number(n); i++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const start = Date.now();
  await page.goto(`${base}/#/applications`);
  await page.locator('table, .empty').first().waitFor();
  const rendered = Date.now() - start;
  const nav = await page.evaluate(() => {
    const t = performance.getEntriesByType('navigation')[0];
    const bytes = performance.getEntriesByType('resource').reduce((s, r) => s + (r.transferSize || 0), t.transferSize || 0);
    return { dcl: t.domContentLoadedEventEnd, load: t.loadEventEnd, bytes };
  });
  rows.push({ ...nav, rendered });
  await context.close();
}
const median = (k) => rows.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
const max = (k) => Math.max(...rows.map((r) => r[k]));
console.log(`${rows.length} cold loads of ${base}/#/applications`);
console.log(`  DOMContentLoaded   median ${median('dcl').toFixed(0)} ms, max ${max('dcl').toFixed(0)} ms`);
console.log(`  load event         median ${median('load').toFixed(0)} ms, max ${max('load').toFixed(0)} ms`);
console.log(`  applications shown median ${median('rendered')} ms, max ${max('rendered')} ms`);
console.log(`  transferred        ${rows[0].bytes} bytes`);
if (shotHash && shotPath) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${base}/${shotHash}`);
  await page.waitForTimeout(1500);
  await page.screenshot({ path: shotPath });
  console.log(`  screenshot of ${shotHash}: ${shotPath}`);
}
await browser.close();
