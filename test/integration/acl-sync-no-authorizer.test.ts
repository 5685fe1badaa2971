// Topic ACL sync against clusters without an authorizer (issue 22): Kafka answers DescribeAcls
// with SECURITY_DISABLED (MirrorSourceConnector.listTopicAclBindings stops on it too). The flow
// reports it once (log, metric, /status) and copies every record.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { clusterPair } from '../support/cluster-pair.ts';
import { startDaemon } from '../support/daemon.ts';
import { createTopic, numbered, produceAll } from '../support/kafka-client.ts';
import { get, scrape, total } from '../support/prometheus.ts';
import { waitForRecords } from '../support/replication-checks.ts';

const clusters = clusterPair();

test(
  'no authorizer: ACL sync refused with SECURITY_DISABLED once, records still copied',
  { timeout: 180_000 },
  clusters.guard(async (t) => {
    const id = randomUUID().slice(0, 8);
    const { src, dst } = clusters;
    const topic = `noauth-${id}-a`;
    await createTopic(src, topic);
    await produceAll(src, topic, numbered(topic, 0, 10));
    const flow = `noauth-${id}`;
    const daemon = await startDaemon(t, {
      clusters: {
        src: { bootstrapServers: [...clusters.source.bootstrapServers] },
        dst: { bootstrapServers: [...clusters.target.bootstrapServers] },
      },
      flows: [
        {
          name: flow,
          source: 'src',
          target: 'dst',
          topics: { include: [`noauth-${id}-.*`] },
          refreshIntervalMs: 1000,
          aclSync: { enabled: true },
        },
      ],
      heartbeats: { enabled: false },
      shutdown: { timeoutMs: 5000 },
    });
    const refused = await daemon.waitForLog((l) => String(l['msg']).startsWith('topic ACL sync refused'));
    const err = refused['err'] as Record<string, unknown>;
    assert.equal(err['code'], 'KM_ACL_SYNC_REFUSED');
    assert.equal(err['kafkaError'], 'SECURITY_DISABLED');
    assert.equal(err['cluster'], 'src');
    assert.equal(err['request'], 'describe');
    assert.ok(await waitForRecords(dst, topic, 10, 60_000), 'records copied');
    // Two more topic refresh passes: no second report.
    for (const next of ['b', 'c']) {
      await createTopic(src, `noauth-${id}-${next}`);
      await daemon.waitForLog(
        (l) => l['msg'] === 'created remote topic' && l['remoteTopic'] === `noauth-${id}-${next}`,
      );
    }
    const reports = daemon.logs.filter((l) => String(l['msg']).startsWith('topic ACL sync refused'));
    assert.equal(reports.length, 1, 'reported once');
    const base = await daemon.adminUrl();
    const samples = await scrape(base);
    assert.equal(total(samples, 'kafka_mirror_acl_syncs_total', { flow, result: 'refused' }), 1);
    const status = JSON.parse((await get(base, '/status')).body) as {
      flows: Array<{ aclSync: { refused: { kafkaError: string } | null } }>;
    };
    assert.equal(status.flows[0]?.aclSync.refused?.kafkaError, 'SECURITY_DISABLED');
    assert.equal(await daemon.stop('SIGTERM'), 0);
  }),
);
