// Takes the README's screenshots of the dashboard (docs/dashboard-*.png):
//   .ci/dashboard.sh --screenshots     (on a throw-away PostgreSQL cluster)
// or, over the in-memory stand-in:
//   DEMO_BIN=target/debug/examples/dashboard_demo node screenshots.mjs
import { spawnSync } from 'node:child_process';
import { launch, start, stop } from './browser.mjs';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const docs = join(here, '..', '..', '..', 'docs');
const dir = mkdtempSync(join(tmpdir(), 'killswitch-shots-'));
writeFileSync(join(dir, 'admin.tokens'), 'screenshot-admin-token\n');
const { PG_URL, KILLSWITCH_BIN } = process.env;
let server;
if (PG_URL) {
  const published = spawnSync(KILLSWITCH_BIN, ['publish', join(here, 'flags.json'), '--to', PG_URL,
    '--author', 'release-bot', '--message', 'Q4 launch plan'], { encoding: 'utf8' });
  if (published.status !== 0) throw new Error(published.stderr);
  server = await start(KILLSWITCH_BIN, ['serve', '--source', PG_URL, '--listen', '127.0.0.1:0', '--dashboard',
    '--admin-token-file', join(dir, 'admin.tokens')]);
} else {
  server = await start(process.env.DEMO_BIN, [join(here, 'flags.json'), '--listen', '127.0.0.1:0',
    '--admin-token-file', join(dir, 'admin.tokens')]);
}
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  await page.goto(server.url + '/dashboard/login');
  await page.getByLabel('Your name').fill('Ana (on call)');
  await page.getByLabel('Access token').fill('screenshot-admin-token');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL('**/dashboard');
  // A little history first.
  await page.goto(server.url + '/dashboard/flags/one_click_buy');
  await page.getByLabel('rollout_percentage').fill('50');
  await page.getByLabel('Message (required)').fill('Ramp one-click buy to 50 % (error rate flat for 24 h)');
  await page.getByRole('button', { name: 'Publish rollout' }).click();
  await page.goto(server.url + '/dashboard');
  await page.screenshot({ path: join(docs, 'dashboard-list.png'), fullPage: true });
  await page.goto(server.url + '/dashboard/flags/new_search_ui');
  await page.getByLabel('Context (JSON)').fill('{\n  "user_id": "user-42",\n  "email": "ana@example.com",\n  "plan": "free",\n  "beta": false\n}');
  await page.getByRole('button', { name: 'Evaluate' }).click();
  await page.screenshot({ path: join(docs, 'dashboard-flag.png'), fullPage: true });
  await page.goto(server.url + '/dashboard/flags/checkout_v2/kill');
  await page.screenshot({ path: join(docs, 'dashboard-kill.png'), fullPage: true });
  await page.goto(server.url + '/dashboard/history');
  await page.screenshot({ path: join(docs, 'dashboard-history.png'), fullPage: true });
  await page.goto(server.url + '/dashboard/history/1/rollback');
  await page.screenshot({ path: join(docs, 'dashboard-rollback.png'), fullPage: true });
} finally {
  await browser.close();
  await stop(server);
}
