import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { AdminListenError, KafkaMirrorError } from '../../../src/errors/index.ts';
import { AdminServer, type AdminSources, type Readiness } from '../../../src/observability/admin-server.ts';
import { createLogger } from '../../../src/observability/logger.ts';

/** Waits (without timers of its own) until `condition` holds; fails the test after 1 s. */
async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 1000;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

const PROMETHEUS = 'text/plain; version=0.0.4; charset=utf-8';

/** What the daemon would expose; tests change `readiness` and `failMetrics` as they go. */
class FakeSources implements AdminSources {
  readiness_: Readiness = { ready: true, flows: {} };
  failMetrics = false;
  /** When set, metrics() waits for it (a scrape in progress). */
  hold: Promise<void> | undefined;
  metricsCalls = 0;
  body = '# HELP kafka_mirror_info x\n# TYPE kafka_mirror_info gauge\nkafka_mirror_info{version="1"} 1\n';

  async metrics(): Promise<{ contentType: string; body: string }> {
    this.metricsCalls++;
    await this.hold;
    if (this.failMetrics) throw new Error('collect failed');
    return { contentType: PROMETHEUS, body: this.body };
  }

  readiness(): Readiness {
    return this.readiness_;
  }

  status(): unknown {
    return { flows: [{ name: 'us->asia', state: 'running', lag: 3 }] };
  }
}

/** A server on 127.0.0.1 and a random port, closed after the test. */
async function serve(t: TestContext) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } });
  const sources = new FakeSources();
  const server = new AdminServer(sources, logger);
  t.after(() => server.close());
  const address = await server.listen('127.0.0.1', 0);
  const url = (path: string) => `http://127.0.0.1:${address.port}${path}`;
  const logged = (msg: string) =>
    lines.map((line) => JSON.parse(line) as { msg: string }).filter((entry) => entry.msg === msg);
  return { server, sources, address, url, logged };
}

test('listen resolves the bound address and logs it', async (t) => {
  const { address, logged } = await serve(t);
  assert.equal(address.host, '127.0.0.1');
  assert.ok(Number.isInteger(address.port) && address.port > 0, `a real port, not 0: ${address.port}`);
  assert.deepEqual(
    logged('admin server listening').map((e) => (e as unknown as { port: number }).port),
    [address.port],
  );
});

test('/metrics serves the exposition with its content type', async (t) => {
  const { url, sources } = await serve(t);
  const response = await fetch(url('/metrics'));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), PROMETHEUS);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  assert.equal(await response.text(), sources.body);
  assert.equal(sources.metricsCalls, 1);
  const withQuery = await fetch(url('/metrics?name[]=x'));
  assert.equal(withQuery.status, 200, 'the query string does not change the route');
  assert.equal(await withQuery.text(), sources.body);
});

test('/healthz answers 200 ok', async (t) => {
  const { url } = await serve(t);
  const response = await fetch(url('/healthz'));
  assert.equal(response.status, 200);
  assert.equal(await response.text(), 'ok\n');
});

test('/readyz is 200 when ready and 503 with the reasons per flow when not', async (t) => {
  const { url, sources } = await serve(t);
  const ready = await fetch(url('/readyz'));
  assert.equal(ready.status, 200);
  assert.match(ready.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await ready.json(), { ready: true, flows: {} });

  sources.readiness_ = {
    ready: false,
    flows: { 'us->asia': ['not assigned', 'target stalled for 31 s'], 'asia->us': [] },
  };
  const notReady = await fetch(url('/readyz'));
  assert.equal(notReady.status, 503);
  assert.match(notReady.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await notReady.json(), sources.readiness_);
});

test('/status serves the status as JSON', async (t) => {
  const { url, sources } = await serve(t);
  const response = await fetch(url('/status'));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await response.json(), sources.status());
});

test('an unknown path is 404', async (t) => {
  const { url } = await serve(t);
  for (const path of ['/', '/nope', '/metrics/extra', '/METRICS']) {
    const response = await fetch(url(path));
    assert.equal(response.status, 404, path);
    assert.match(await response.text(), /not found/);
  }
});

test('methods other than GET and HEAD are 405 with an Allow header, and reach no source', async (t) => {
  const { url, sources } = await serve(t);
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const response = await fetch(url('/metrics'), { method, body: method === 'DELETE' ? undefined : 'x' });
    assert.equal(response.status, 405, method);
    assert.equal(response.headers.get('allow'), 'GET, HEAD');
    await response.arrayBuffer();
  }
  assert.equal(sources.metricsCalls, 0);
});

test('HEAD answers the status and headers without a body', async (t) => {
  const { url, sources } = await serve(t);
  const metrics = await fetch(url('/metrics'), { method: 'HEAD' });
  assert.equal(metrics.status, 200);
  assert.equal(metrics.headers.get('content-type'), PROMETHEUS);
  assert.equal(await metrics.text(), '');

  sources.readiness_ = { ready: false, flows: { 'us->asia': ['starting'] } };
  const readyz = await fetch(url('/readyz'), { method: 'HEAD' });
  assert.equal(readyz.status, 503, 'a HEAD probe sees readiness too');
  assert.equal(await readyz.text(), '');
});

test('a source that fails answers 500 and is logged; the server keeps serving', async (t) => {
  const { url, sources, logged } = await serve(t);
  sources.failMetrics = true;
  const failed = await fetch(url('/metrics'));
  assert.equal(failed.status, 500);
  assert.equal(await failed.text(), 'internal error\n');
  assert.equal(logged('admin request failed').length, 1);
  const healthz = await fetch(url('/healthz'));
  assert.equal(healthz.status, 200);
});

test('listening on a port in use rejects with KM_ADMIN_LISTEN', async (t) => {
  const { address } = await serve(t);
  const lines: string[] = [];
  const second = new AdminServer(
    new FakeSources(),
    createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } }),
  );
  t.after(() => second.close());
  const error = await second.listen('127.0.0.1', address.port).then(
    () => assert.fail('the second listen succeeded'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof AdminListenError);
  assert.ok(error instanceof KafkaMirrorError);
  assert.equal(error.code, 'KM_ADMIN_LISTEN');
  assert.equal(error.retriable, false);
  assert.equal((error.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${address.port}`));
  assert.equal(lines.length, 0, 'nothing claims the server is listening');
  await second.close(); // closing a server that never listened resolves
});

test('close() is idempotent and closes idle keep-alive connections', { timeout: 2000 }, async (t) => {
  const { server, address } = await serve(t);
  const agent = new Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  let socket: Socket | undefined;
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: address.port, path: '/healthz', agent }, (res) => {
      socket = res.socket;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(text));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(body, 'ok\n');
  assert.ok(socket !== undefined);
  const closed = new Promise<void>((resolve) => socket?.once('close', () => resolve()));
  await new Promise<void>((resolve) => setImmediate(resolve)); // the socket returns to the agent's pool
  assert.equal(socket.destroyed, false, 'the connection is kept alive');

  const first = server.close();
  const again = server.close();
  assert.equal(first, again, 'a second close() returns the same promise');
  await first;
  await closed; // the test's timeout bounds this: the server does not wait for the idle socket
  assert.equal(socket.destroyed, true);
  await server.close();
  await assert.rejects(fetch(`http://127.0.0.1:${address.port}/healthz`), 'the port no longer answers');
});

test(
  'close() does not wait for a request in progress: its connection is closed',
  { timeout: 2000 },
  async (t) => {
    const { server, sources, url } = await serve(t);
    let release!: () => void;
    sources.hold = new Promise<void>((resolve) => (release = resolve));
    const scrape = fetch(url('/metrics')).then(
      (response) => response.text(),
      (error: unknown) => error,
    );
    try {
      await waitFor(() => sources.metricsCalls === 1, 'the scrape to reach the server');
      let closed = false;
      void server.close().then(() => (closed = true));
      await waitFor(() => closed, 'close() to finish while the scrape is still in progress');
    } finally {
      release(); // so that a failure does not leave close() hanging in the after hook
    }
    assert.ok((await scrape) instanceof Error, 'the scrape in progress was cut off');
  },
);

test('destroy() is idempotent, cuts a request in progress, and close() after it resolves', async (t) => {
  const { server, sources, url, address } = await serve(t);
  let release!: () => void;
  sources.hold = new Promise<void>((resolve) => (release = resolve));
  t.after(() => release());
  const scrape = fetch(url('/metrics')).then(
    (response) => response.text(),
    (error: unknown) => error,
  );
  await waitFor(() => sources.metricsCalls === 1, 'the scrape to reach the server');
  const first = server.destroy();
  assert.equal(server.destroy(), first, 'a second destroy() returns the same promise');
  await first;
  assert.ok((await scrape) instanceof Error, 'the scrape in progress was cut off');
  await server.close();
  await server.destroy();
  await assert.rejects(fetch(`http://127.0.0.1:${address.port}/healthz`), 'the port no longer answers');
});
