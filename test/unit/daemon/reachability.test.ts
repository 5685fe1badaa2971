// The daemon's view of which clusters answer (src/daemon/reachability.ts): one line per cluster and
// failed probe with the cause and the next retry, one probe loop however many flows wait, flows
// released when the cluster answers. Probes are plain functions here; the real probe against real
// sockets: test/unit/kafka/connect-cause.test.ts, against brokers: test/integration/unreachable.test.ts.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ClusterConfig } from '../../../src/config/index.ts';
import type { ClusterAnswer } from '../../../src/kafka/cluster-probe.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Reachability } from '../../../src/daemon/reachability.ts';

const refused = () =>
  Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), {
    name: 'KafkaJSConnectionError',
    code: 'ECONNREFUSED',
    broker: '127.0.0.1:1',
  });

const cluster = (alias: string): ClusterConfig => ({
  alias,
  bootstrapServers: [`${alias}:9092`],
  clientId: 'kafka-mirror',
  connectionTimeoutMs: 1000,
  tls: { enabled: false },
  sasl: undefined,
});

function setup(t: TestContext, answers: Record<string, () => ClusterAnswer>) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const stop = new AbortController();
  t.after(() => stop.abort());
  const probes: string[] = [];
  const failures: string[] = [];
  const reach = new Reachability(
    { us: cluster('us'), asia: cluster('asia') },
    createLogger({ level: 'info', destination: stream }),
    {
      probe: async (c) => {
        probes.push(c.alias);
        const answer = answers[c.alias];
        if (answer === undefined) throw refused();
        return answer();
      },
      signal: stop.signal,
      onFailure: (alias) => failures.push(alias),
      retryBaseMs: 20,
      retryMaxMs: 40,
    },
  );
  return { reach, lines, probes, failures, stop };
}

const answer = (): ClusterAnswer => ({ clusterId: 'id-us', brokers: 3, topics: undefined });

test('an unreachable cluster: one warning per failed probe naming it, its cause and the next retry', async (t) => {
  const { reach, lines, probes } = setup(t, { us: answer });
  const answered = await reach.probeAll();
  assert.deepEqual([...answered.keys()], ['us']);
  for (let i = 0; i < 100 && probes.filter((p) => p === 'asia').length < 4; i++) await sleep(10);
  const retries = lines.filter((l) => l['msg'] === 'cluster unreachable; retrying');
  assert.ok(retries.length >= 3, `${retries.length} retry lines`);
  for (const line of retries) {
    assert.equal(line['level'], 40);
    assert.equal(line['cluster'], 'asia');
    assert.equal(line['cause'], 'connection refused (ECONNREFUSED at 127.0.0.1:1)');
    assert.equal(line['kind'], 'connection refused');
    assert.ok(Number.isFinite(Date.parse(String(line['nextRetryAt']))));
    assert.ok(Number(line['retryInMs']) >= 10 && Number(line['retryInMs']) <= 40);
    assert.equal(line['err'], undefined, 'no error object, so no stack trace');
  }
  // One line per failed probe (a probe may be in flight).
  const asiaProbes = probes.filter((p) => p === 'asia').length;
  assert.ok(Math.abs(asiaProbes - retries.length) <= 1, `${asiaProbes} probes, ${retries.length} lines`);
  assert.match(
    reach.reason('asia') ?? '',
    /^cluster asia unreachable: connection refused \(ECONNREFUSED at 127\.0\.0\.1:1\); next retry at \d{4}-/,
  );
  assert.equal(reach.reason('us'), undefined);
  assert.deepEqual(
    lines
      .filter((l) => l['msg'] === 'cluster reachable')
      .map((l) => [l['cluster'], l['clusterId'], l['brokers']]),
    [['us', 'id-us', 3]],
  );
});

test('flows waiting for a cluster share one probe loop and are released when it answers', async (t) => {
  const answers: Record<string, () => ClusterAnswer> = { us: answer };
  const { reach, lines, probes } = setup(t, answers);
  await reach.probeAll();
  const waiting = [reach.until('asia'), reach.until('asia'), reach.until('asia')];
  let released = 0;
  for (const w of waiting) void w.then(() => released++);
  await sleep(100);
  assert.equal(released, 0);
  const probesBefore = probes.filter((p) => p === 'asia').length;
  answers['asia'] = () => ({ clusterId: 'id-asia', brokers: 1, topics: undefined });
  await Promise.all(waiting);
  assert.equal(released, 3);
  assert.ok(probes.filter((p) => p === 'asia').length - probesBefore <= 2, 'one loop, not one per waiter');
  assert.ok(lines.some((l) => l['msg'] === 'cluster reachable again' && l['cluster'] === 'asia'));
  assert.equal(reach.reason('asia'), undefined);
  await reach.until('asia'); // answered: at once
});

test('a cluster a flow lost is probed again before the flow retries; close releases every waiter', async (t) => {
  const answers: Record<string, () => ClusterAnswer> = { us: answer, asia: answer };
  const { reach, failures, stop } = setup(t, answers);
  await reach.probeAll();
  delete answers['asia'];
  reach.lost('asia', refused());
  assert.deepEqual(failures, ['asia']);
  assert.match(reach.reason('asia') ?? '', /^cluster asia unreachable: connection refused/);
  const waiting = reach.until('asia');
  stop.abort();
  await waiting;
});
