// Invariant 6: an unreachable cluster makes its flow not-ready and retried with backoff; the
// other flows run, and a SIGTERM still stops the daemon promptly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { freePort } from '../support/kafka/ports.ts';
import { createTopic, numbered, produceAll } from '../support/kafka-client.ts';
import { waitForRecords } from '../support/replication-checks.ts';

test(
  'a flow to an unreachable cluster is retried while the other flows replicate; SIGTERM still exits 0',
  { timeout: 180_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const nobody = `127.0.0.1:${await freePort()}`; // nothing listens here
    await createTopic(src, 'orders', { partitions: 2 });
    await produceAll(src, 'orders', numbered('o', 0, 1000));
    const daemon = await startDaemon(t, {
      clusters: {
        src: { bootstrapServers: [...source.bootstrapServers] },
        dst: { bootstrapServers: [...target.bootstrapServers] },
        dead: { bootstrapServers: [nobody], connectionTimeoutMs: 500 },
      },
      flows: [
        { source: 'src', target: 'dst', topics: { include: ['orders'] } },
        { source: 'src', target: 'dead', topics: { include: ['orders'] } },
      ],
      shutdown: { timeoutMs: 5000 },
    });
    assert.ok(await waitForRecords(dst, 'orders', 1000, 90_000), 'the reachable flow did not replicate');
    // The unreachable cluster is probed with backoff (jitter: 50-100% of 1 s, then doubling).
    const retry = await daemon.waitForLog(
      (l) => l['msg'] === 'cluster unreachable; retrying' && l['cluster'] === 'dead',
      90_000,
    );
    assert.ok(Number(retry['retryInMs']) >= 500);
    assert.match(String(retry['cause']), /^connection refused \(ECONNREFUSED at /);
    assert.equal(
      daemon.logs.some((l) => l['msg'] === 'flow running' && l['flow'] === 'src->dead'),
      false,
    );
    const stopping = Date.now();
    assert.equal(await daemon.stop('SIGTERM'), 0);
    assert.ok(Date.now() - stopping < 15_000, `shutdown took ${Date.now() - stopping} ms`);
  },
);
