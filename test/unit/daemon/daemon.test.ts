// The daemon's lifecycle without a broker (src/daemon/daemon.ts): clusters nobody listens on, so
// its flows wait for them. destroy() ends that at once, is idempotent, and close() after it
// resolves. A destroyed daemon with a running flow: test/integration/start-up.test.ts.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { parseConfig } from '../../../src/config/index.ts';
import { Daemon } from '../../../src/daemon/daemon.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { freePorts } from '../../support/kafka/ports.ts';

test('against unreachable clusters: destroy() is idempotent, stops every probe, and close() after it resolves', async (t) => {
  const [us, eu] = await freePorts(2); // nothing listens
  const config = parseConfig({
    clusters: {
      us: { bootstrapServers: [`127.0.0.1:${us}`] },
      eu: { bootstrapServers: [`127.0.0.1:${eu}`] },
    },
    flows: [{ source: 'us', target: 'eu' }],
    admin: { host: '127.0.0.1', port: 0 },
  });
  const lines: Array<{ msg: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const daemon = new Daemon(config, createLogger({ level: 'info', destination }), { metrics: new Metrics() });
  t.after(() => daemon.destroy());
  const { adminPort } = await daemon.start();
  const base = `http://127.0.0.1:${adminPort}`;
  assert.equal((await fetch(`${base}/readyz`)).status, 503, 'waiting for its clusters');
  assert.deepEqual(daemon.flows, []);

  const first = daemon.destroy();
  assert.equal(daemon.destroy(), first, 'a second destroy() returns the same promise');
  await first;
  await daemon.close();
  assert.deepEqual(daemon.readiness(), {
    ready: false,
    flows: { 'us->eu': ['draining: the daemon is shutting down'] },
  });
  await assert.rejects(fetch(`${base}/healthz`), 'the admin server is closed');
  const retries = lines.filter((l) => l.msg === 'cluster unreachable; retrying').length;
  assert.ok(retries > 0, 'both clusters were being probed');
  await new Promise<void>((resolve) => setTimeout(resolve, 1500));
  assert.equal(
    lines.filter((l) => l.msg === 'cluster unreachable; retrying').length,
    retries,
    'no probe after destroy()',
  );
});
