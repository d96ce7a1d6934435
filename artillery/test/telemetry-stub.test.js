// The telemetry preload must leave Artillery without a way to phone home, and nothing else changed.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const STUB = path.join(__dirname, '..', 'telemetry-stub.cjs');

test('posthog-node resolves to an inert client and posthog fetches never leave the process', () => {
  // A child process: the preload patches module loading and fetch process-wide.
  const script = `
    const { PostHog } = require('posthog-node');
    const c = new PostHog('token', { flushInterval: 100 });
    c.capture({ event: 'x', distinctId: 'y' });
    Promise.all([c.shutdownAsync(), c.shutdown(),
                 fetch('https://us.i.posthog.com/i/v0/e/', { method: 'POST', body: '{}' })])
      .then(([, , r]) => { console.log(JSON.stringify({ name: PostHog.name, status: r.status })); });
  `;
  const started = Date.now();
  const out = spawnSync(process.execPath, ['--require', STUB, '-e', script], {
    cwd: path.join(__dirname, '..'),
    encoding: 'utf8',
    timeout: 10000,
  });
  assert.equal(out.status, 0, out.stderr);
  assert.deepEqual(JSON.parse(out.stdout.trim()), { name: 'InertPostHog', status: 204 });
  assert.ok(Date.now() - started < 5000, 'no network wait');
});

test('other fetches and modules are untouched', async (t) => {
  const server = http.createServer((req, res) => res.end('hello'));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const { port } = server.address();
  const script = `
    fetch('http://127.0.0.1:${port}/x').then((r) => r.text())
      .then((body) => console.log(JSON.stringify({ body, path: typeof require('node:path').join })));
  `;
  const child = require('node:child_process').spawn(process.execPath, ['--require', STUB, '-e', script]);
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const code = await new Promise((r) => child.on('close', r));
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout.trim()), { body: 'hello', path: 'function' });
});
