// The dashboard in a real browser: Debian's Chromium driven by
// playwright-core. Run by .ci/dashboard.sh after the binaries are built:
// KILLSWITCH_BIN names the killswitch command; the writes go to the
// PostgreSQL database of PG_URL (`killswitch publish`, then `killswitch
// serve --source`), with its password in PGPASSWORD. Without PG_URL (a
// quick local run) they go to VERSIONED_BIN, the in-memory stand-in
// (server/examples/dashboard_demo.rs).

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, start, stop } from './browser.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const FLAGS = join(here, 'flags.json');
const BIN = process.env.KILLSWITCH_BIN;
const VERSIONED = process.env.VERSIONED_BIN;
const PG_URL = process.env.PG_URL;
const ADMIN = 'browser-admin-token';
const READ = 'browser-read-token';

let browser;
before(async () => {
  assert.ok(BIN, 'set KILLSWITCH_BIN to the killswitch binary');
  assert.ok(PG_URL || VERSIONED, 'set PG_URL (and PGPASSWORD), or VERSIONED_BIN');
  browser = await launch();
});
after(async () => { if (browser) await browser.close(); });

/** What OFREP says about `key` for user u1. */
async function ofrep(url, key) {
  const r = await fetch(`${url}/ofrep/v1/evaluate/flags/${key}`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ context: { targetingKey: 'u1' } }),
  });
  return r.json();
}

async function login(page, url, token, name) {
  await page.goto(url + '/dashboard/login');
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(url + '/dashboard');
}

describe('a plain file source (read-only)', () => {
  let server;
  before(async () => {
    server = await start(BIN, ['serve', FLAGS, '--listen', '127.0.0.1:0', '--dashboard']);
  });
  after(() => stop(server));

  test('the flag list renders every flag of the config with its state', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/dashboard');
    const config = JSON.parse((await import('node:fs')).readFileSync(FLAGS, 'utf8'));
    const rows = page.locator('#flag-table tbody tr');
    assert.equal(await rows.count(), config.flags.length);
    for (const flag of config.flags) {
      assert.equal(await page.locator(`tr[data-key="${flag.flag_key}"]`).count(), 1, flag.flag_key);
    }
    assert.equal(await page.locator('tr[data-key="recommendations"] .pill').innerText(), 'Killed');
    assert.equal(await page.locator('tr[data-key="legacy_export"] .pill').innerText(), 'Disabled');
    assert.equal(await page.locator('tr[data-key="one_click_buy"] .pill').innerText(), 'Rolling out');
    assert.match(await page.locator('tr[data-key="new_search_ui"]').innerText(), /step 2 of 3/);
    assert.match(await page.locator('#source-health').innerText(), /healthy/);
    await page.close();
  });

  test('filtering by key and by state, as you type and without script', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/dashboard');
    await page.getByLabel('Filter by key').fill('checkout');
    const visible = page.locator('#flag-table tbody tr:visible');
    assert.deepEqual(await visible.evaluateAll((rows) => rows.map((r) => r.dataset.key)),
      ['checkout_v2', 'checkout_express']);
    assert.equal(await page.locator('#shown').innerText(), 'Showing 2 of 8 flags');
    await page.getByLabel('Filter by key').fill('');
    await page.getByLabel('State').selectOption('killed');
    assert.deepEqual(await visible.evaluateAll((rows) => rows.map((r) => r.dataset.key)), ['recommendations']);
    // The same filter rendered by the server (a shared link, or no script).
    const plain = await browser.newPage({ javaScriptEnabled: false });
    await plain.goto(server.url + '/dashboard?q=CHECK&state=on');
    assert.deepEqual(await plain.locator('#flag-table tbody tr:not([hidden])').evaluateAll((rows) => rows.map((r) => r.dataset.key)),
      ['checkout_v2', 'checkout_express']);
    await plain.close();
    await page.close();
  });

  test('try a user shows the same decision as `killswitch eval`', async () => {
    const page = await browser.newPage();
    const contexts = [
      { user_id: 'user-42', email: 'ana@example.com', plan: 'free', beta: false },
      { user_id: 'user-7', email: 'bo@internal.com', plan: 'free' },
      { user_id: 'user-1234', plan: 'pro' },
    ];
    for (const [flag, ctx] of [['new_search_ui', contexts[0]], ['new_search_ui', contexts[1]],
      ['new_search_ui', contexts[2]], ['button_colour', contexts[2]], ['one_click_buy', contexts[0]]]) {
      await page.goto(`${server.url}/dashboard/flags/${flag}`);
      await page.getByLabel('Context (JSON)').fill(JSON.stringify(ctx));
      await page.getByRole('button', { name: 'Evaluate' }).click();
      const shown = JSON.parse(await page.locator('#try-decision').innerText());
      const cli = spawnSync(BIN, ['eval', FLAGS, '--flag', flag, '--context', JSON.stringify(ctx)], { encoding: 'utf8' });
      assert.equal(cli.status, 0, cli.stderr);
      assert.deepEqual(shown, JSON.parse(cli.stdout.trim()), `${flag} ${JSON.stringify(ctx)}`);
      const explained = spawnSync(BIN, ['eval', FLAGS, '--flag', flag, '--explain', '--context', JSON.stringify(ctx)], { encoding: 'utf8' });
      const trace = explained.stdout.split('\n').slice(1).map((l) => l.replace(/^ {2}/, '')).join('\n').trim();
      assert.equal((await page.locator('#try-explain').innerText()).trim(), trace);
    }
    await page.close();
  });

  test('keyboard and labels: a skip link first, every control labelled', async () => {
    const page = await browser.newPage();
    for (const path of ['/dashboard', '/dashboard/flags/new_search_ui']) {
      await page.goto(server.url + path);
      const unlabelled = await page.evaluate(() => Array.from(
        document.querySelectorAll('input:not([type=hidden]), select, textarea, button'),
      ).filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map((el) => el.outerHTML));
      assert.deepEqual(unlabelled, [], path);
    }
    await page.goto(server.url + '/dashboard');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    // From the content, the keyboard reaches the filter and then a flag.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'filter');
    await page.keyboard.type('dark');
    for (let i = 0; i < 3; i += 1) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'dark_mode');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/dashboard\/flags\/dark_mode$/);
    await page.close();
  });

  test('actions are shown disabled, with the reason', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + '/dashboard/flags/checkout_v2');
    assert.match(await page.locator('#read-only-reason').innerText(), /plain file/);
    assert.equal(await page.getByRole('button', { name: 'Kill…' }).isDisabled(), true);
    const r = await fetch(server.url + '/api/v1/flags/checkout_v2/kill', {
      method: 'POST', body: JSON.stringify({ message: 'm', expect_version: 1, author: 'x' }),
    });
    assert.equal(r.status, 403);
    await page.close();
  });
});

describe(PG_URL ? 'a PostgreSQL source (writes)' : 'the in-memory stand-in source (writes)', () => {
  let server;
  let dir;
  let first;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'killswitch-dashboard-'));
    writeFileSync(join(dir, 'admin.tokens'), ADMIN + '\n');
    writeFileSync(join(dir, 'read.tokens'), READ + '\n');
    if (PG_URL) {
      const published = spawnSync(BIN, ['publish', FLAGS, '--to', PG_URL, '--author', 'ci',
        '--message', 'the browser tests\' config'], { encoding: 'utf8' });
      assert.equal(published.status, 0, published.stderr);
      first = Number(/\d+/.exec(published.stdout)[0]);
      server = await start(BIN, ['serve', '--source', PG_URL, '--listen', '127.0.0.1:0', '--dashboard',
        '--admin-token-file', join(dir, 'admin.tokens'), '--dashboard-token-file', join(dir, 'read.tokens')]);
    } else {
      first = 1;
      server = await start(VERSIONED, [FLAGS, '--listen', '127.0.0.1:0',
        '--admin-token-file', join(dir, 'admin.tokens'), '--read-token-file', join(dir, 'read.tokens')]);
    }
  });
  after(() => stop(server));

  test('a write without the admin token is refused', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page, server.url, READ, 'Reader');
    await page.goto(server.url + '/dashboard/flags/checkout_v2');
    assert.match(await page.locator('#read-only-reason').innerText(), /admin token/);
    const confirm = await page.goto(server.url + '/dashboard/flags/checkout_v2/kill');
    assert.equal(confirm.status(), 403);
    // Straight to the endpoints: without a token, and with the read token.
    const body = JSON.stringify({ message: 'm', expect_version: 1, author: 'x' });
    const anonymous = await fetch(server.url + '/api/v1/flags/checkout_v2/kill', { method: 'POST', body });
    assert.equal(anonymous.status, 401);
    const reader = await fetch(server.url + '/api/v1/flags/checkout_v2/kill', {
      method: 'POST', body, headers: { authorization: 'Bearer ' + READ },
    });
    assert.equal(reader.status, 403);
    assert.equal((await ofrep(server.url, 'checkout_v2')).value, true);
    await context.close();
  });

  test('a kill from the page is visible to an OFREP client within a second', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page, server.url, ADMIN, 'Ana');
    await page.goto(server.url + '/dashboard/flags/checkout_v2');
    await page.getByRole('link', { name: 'Kill…' }).click();
    assert.match(await page.locator('#blast-radius').innerText(), /2 flag\(s\) depend on it/);
    await page.getByLabel(/Message/).fill('INC-7: checkout errors');
    const clicked = Date.now();
    await page.getByRole('button', { name: 'Kill checkout_v2' }).click();
    let answer;
    do {
      answer = await ofrep(server.url, 'checkout_v2');
    } while (answer.reason !== 'DISABLED' && Date.now() - clicked < 1000);
    assert.equal(answer.reason, 'DISABLED', `not killed within a second: ${JSON.stringify(answer)}`);
    assert.equal(answer.metadata.reason, 'kill_switch');
    await page.waitForURL(/published=/);
    assert.match(await page.locator('#flag-summary').innerText(), /Killed/);
    assert.equal((await ofrep(server.url, 'one_click_buy')).value, false);
    const history = await (await fetch(server.url + '/api/v1/history', { headers: { authorization: 'Bearer ' + READ } })).json();
    assert.equal(history.versions[0].author, 'Ana');
    assert.equal(history.versions[0].message, 'INC-7: checkout errors');
    await context.close();
  });

  test('a stale write is refused, and an open list follows new versions', async () => {
    const ana = await browser.newContext();
    const bo = await browser.newContext();
    const a = await ana.newPage();
    const b = await bo.newPage();
    await login(a, server.url, ADMIN, 'Ana');
    await login(b, server.url, ADMIN, 'Bo');
    const list = await ana.newPage();
    await list.goto(server.url + '/dashboard');
    const before = await list.locator('body').getAttribute('data-version');
    // Ana opens the kill confirmation; Bo changes the rollout first.
    await a.goto(server.url + '/dashboard/flags/one_click_buy/kill');
    await a.getByLabel(/Message/).fill('INC-8: one-click errors');
    await b.goto(server.url + '/dashboard/flags/one_click_buy');
    await b.getByLabel('rollout_percentage').fill('50');
    await b.getByLabel('Message (required)').fill('ramp to 50');
    await b.getByRole('button', { name: 'Publish rollout' }).click();
    await b.waitForURL(/published=/);
    // Ana's page says it is stale, keeps what she typed, and her kill is refused.
    await a.locator('#live-notice').waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await a.locator('#live-notice').innerText(), /refused as stale/);
    assert.equal(await a.getByLabel(/Message/).inputValue(), 'INC-8: one-click errors');
    const [response] = await Promise.all([
      a.waitForResponse((r) => r.url().endsWith('/kill')),
      a.getByRole('button', { name: 'Kill one_click_buy' }).click(),
    ]);
    assert.equal(response.status(), 409);
    assert.match(await a.locator('#refusal').innerText(), /has been published since/);
    const detail = await fetch(server.url + '/api/v1/flags/one_click_buy', { headers: { authorization: 'Bearer ' + READ } });
    assert.equal((await detail.json()).percentage, 50);
    // The list Ana left open shows the new version without a reload.
    await list.waitForFunction((v) => document.body.dataset.version !== v, before, { timeout: 5000 });
    assert.match(await list.locator('tr[data-key="one_click_buy"]').innerText(), /50 %/);
    await ana.close();
    await bo.close();
  });

  test('rollback from the history restores the earlier decisions', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await login(page, server.url, ADMIN, 'Ana');
    assert.equal((await ofrep(server.url, 'checkout_v2')).value, false);
    await page.goto(server.url + '/dashboard/history');
    await page.getByRole('link', { name: `Roll back to ${first}…` }).click();
    assert.match(await page.locator('#changes').innerText(), /kill_switch: true -> false/);
    await page.getByLabel(/Message/).fill(`INC-7 resolved: back to version ${first}`);
    await page.getByRole('button', { name: `Roll back to version ${first}` }).click();
    await page.waitForURL(/published=/);
    assert.equal((await ofrep(server.url, 'checkout_v2')).value, true);
    assert.equal((await ofrep(server.url, 'one_click_buy')).metadata.percentage, 30);
    await context.close();
  });
});
