// What the dashboard's browser tests and screenshot script share: Debian's
// Chromium driven by playwright-core (never a downloaded browser), and a
// server started on a free loopback port.

import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/**
 * Chromium, headless, with the flags it needs as root in a container.
 * Playwright gives each launch a fresh temporary profile (its own
 * --user-data-dir), removed on close.
 */
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * Starts `bin args...` (which prints `listening on http://ADDR`) and
 * resolves to { url, child, stderr() } once it listens.
 */
export function start(bin, args, options = {}) {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no listening line: ' + seen)), 15000);
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${seen}`)));
    child.stderr.on('data', (chunk) => {
      seen += chunk;
      // The address is complete once whitespace follows it (stderr may
      // arrive in pieces that split it).
      const m = /listening on (http:\/\/\S+)\s/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], child, stderr: () => seen });
      }
    });
  });
}

/** Stops a server started with `start` and waits for it. */
export async function stop(server) {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise((resolve) => server.child.on('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
}
