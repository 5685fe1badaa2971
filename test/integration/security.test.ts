// kafka-mirror against SASL_SSL clusters (TLS, SCRAM users made at format time): it replicates
// through them with passwords from a file and from the environment, and a wrong password or an
// untrusted broker certificate on the target leaves the flow not ready, with the reason in
// /status, while nothing is written to the target, nothing is committed on the source and no
// password appears in a log line or an endpoint (DESIGN.md invariants 6 and 7).
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { Kafka as KafkaClient } from 'kafkajs';
import { Kafka, logLevel } from '../../src/kafka/kafkajs/index.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import { startDaemon, type DaemonProcess } from '../support/daemon.ts';
import {
  createCertificateAuthority,
  kafkajsSecurity,
  securityOf,
  type KafkaCluster,
  type SaslMechanism,
} from '../support/kafka/index.ts';
import { createTopic, numbered, produceAll, readTopic, withAdmin } from '../support/kafka-client.ts';
import { get, parseExposition, total } from '../support/prometheus.ts';
import { committedTotal, waitForRecords } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

const secret = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;
/** Random per run, so "appears nowhere" cannot pass by accident or fail on a fixed string. */
const USERS = { mirror: secret('mirror'), admin: secret('admin') };

const clusters = clusterPair({ both: { security: { scramUsers: USERS } } });

/** A quiet test client on a secure cluster, logged in as `admin` unless told otherwise. */
function secureClient(
  cluster: KafkaCluster,
  login: { user?: string; mechanism?: SaslMechanism; secure?: 'tls+sasl' | 'tls' | 'none' } = {},
): KafkaClient {
  const security = kafkajsSecurity(securityOf(cluster), {
    user: login.user ?? 'admin',
    mechanism: login.mechanism,
  });
  const secure = login.secure ?? 'tls+sasl';
  return new Kafka({
    clientId: 'kafka-mirror-test',
    brokers: [...cluster.bootstrapServers],
    ...(secure === 'none' ? {} : { ssl: security.ssl }),
    ...(secure === 'tls+sasl' ? { sasl: security.sasl } : {}),
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: secure === 'tls+sasl' ? { retries: 8, initialRetryTime: 200, maxRetryTime: 2000 } : { retries: 0 },
  });
}

/** The daemon's view of a cluster: its CA, and the mirror user with the password from `sasl`. */
function clusterConfig(cluster: KafkaCluster, sasl: Record<string, string>, ca = securityOf(cluster).caFile) {
  return {
    bootstrapServers: [...cluster.bootstrapServers],
    connectionTimeoutMs: 3000,
    tls: { ca },
    sasl: { username: 'mirror', ...sasl },
  };
}

/** A file holding `content` and a newline (as a mounted Secret), removed after the test. */
async function secretFile(t: TestContext, content: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-secret-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'password');
  await writeFile(file, `${content}\n`, { mode: 0o600 });
  return file;
}

/** An environment variable the daemon inherits (startDaemon passes this process's environment on). */
function secretEnv(t: TestContext, value: string): string {
  const name = `KAFKA_MIRROR_TEST_PASSWORD_${randomBytes(4).toString('hex').toUpperCase()}`;
  process.env[name] = value;
  t.after(() => delete process.env[name]);
  return name;
}

/** The source side every daemon here uses: SCRAM-SHA-512 with the password in the environment. */
function sourceConfig(t: TestContext) {
  return clusterConfig(clusters.source, {
    mechanism: 'scram-sha-512',
    passwordEnv: secretEnv(t, USERS.mirror),
  });
}

/** Everything the daemon shows the outside world: its endpoints and its output. */
async function exposed(daemon: DaemonProcess, base: string): Promise<Record<string, string>> {
  return {
    '/metrics': (await get(base, '/metrics')).body,
    '/status': (await get(base, '/status')).body,
    '/readyz': (await get(base, '/readyz')).body,
    'the log': daemon.output(),
  };
}

function assertNoSecret(texts: Record<string, string>, secrets: Record<string, string>): void {
  for (const [name, value] of Object.entries(secrets)) {
    for (const [where, text] of Object.entries(texts)) {
      assert.ok(!text.includes(value), `the ${name} appears in ${where}`);
    }
  }
}

interface FlowStatus {
  name: string;
  state: string;
  group: string;
  startError?: string;
  notReady?: string[];
}

/**
 * Runs a flow whose target the daemon cannot use and checks that it fails cleanly: retried and
 * never ready, the reason in /status, no topic created on the target, no offset committed on the
 * source, no password shown.
 */
async function assertRefusedTarget(
  t: TestContext,
  target: object,
  reason: RegExp,
  secrets: Record<string, string>,
): Promise<void> {
  const id = randomUUID().slice(0, 8);
  const topic = `refused-${id}`;
  const flow = `refused-${id}`;
  const src = secureClient(clusters.source);
  await createTopic(src, topic, { partitions: 2 });
  // Records to copy: were anything replicated or committed, it would show.
  await produceAll(src, topic, numbered(topic, 0, 200));
  const daemon = await startDaemon(t, {
    clusters: { src: sourceConfig(t), dst: target },
    flows: [
      { name: flow, source: 'src', target: 'dst', topics: { include: [topic] }, commitIntervalMs: 500 },
    ],
    shutdown: { timeoutMs: 5000 },
  });
  const base = await daemon.adminUrl();
  // Two failed probes of the target: the first is not a fluke, and it is retried, not given up
  // (one line per cluster and retry, with the cause: src/daemon/reachability.ts).
  const failures = () =>
    daemon.logs.filter((l) => l['cluster'] === 'dst' && l['msg'] === 'cluster unreachable; retrying').length;
  await eventually('two failed start attempts', async () => (failures() >= 2 ? true : undefined), 100_000);
  const readyz = await get(base, '/readyz');
  assert.equal(readyz.status, 503, '/readyz while the target refuses the daemon');
  const status = JSON.parse((await get(base, '/status')).body) as { ready: boolean; flows: FlowStatus[] };
  const entry = status.flows.find((f) => f.name === flow);
  assert.equal(status.ready, false);
  assert.equal(entry?.state, 'starting');
  t.diagnostic(`startError: ${String(entry?.startError)}`);
  assert.match(entry?.startError ?? '', reason, `/status startError: ${String(entry?.startError)}`);
  assert.match((entry?.notReady ?? []).join(' '), reason, '/readyz gives the same reason');
  const metrics = (await get(base, '/metrics')).body;
  assert.equal(total(parseExposition(metrics), 'kafka_mirror_flow_ready', { flow }), 0);
  assert.equal(
    daemon.logs.some((l) => l['flow'] === flow && l['msg'] === 'flow running'),
    false,
    'the flow never ran',
  );

  const texts = await exposed(daemon, base);
  assert.equal(await daemon.stop('SIGTERM'), 0, 'a refused flow does not hold up shutdown');
  texts['the log after shutdown'] = daemon.output();
  assertNoSecret(texts, secrets);

  const targetTopics = await withAdmin(secureClient(clusters.target), (admin) => admin.listTopics());
  assert.ok(!targetTopics.includes(topic), 'the remote topic was not created on the target');
  const [offsets] = await withAdmin(src, (admin) =>
    admin.fetchOffsets({ groupId: entry?.group ?? '', topics: [topic] }),
  );
  assert.equal(entry?.group, `kafka-mirror.${flow}`);
  assert.deepEqual(
    offsets?.partitions.map((p) => p.offset),
    ['-1', '-1'],
    'nothing committed on the source group',
  );
}

describe('SASL_SSL clusters', () => {
  test(
    'the client listener takes TLS with a SASL login only; every user works with every mechanism',
    { timeout: 60_000 },
    clusters.guard(async () => {
      const cluster = clusters.source;
      assert.equal(securityOf(cluster).protocol, 'SASL_SSL');
      for (const user of Object.keys(USERS)) {
        for (const mechanism of securityOf(cluster).mechanisms) {
          const { clusterId } = await withAdmin(secureClient(cluster, { user, mechanism }), (admin) =>
            admin.describeCluster(),
          );
          assert.equal(clusterId, cluster.clusterId, `${user} with ${mechanism}`);
        }
      }
      for (const secure of ['none', 'tls'] as const) {
        await assert.rejects(
          withAdmin(secureClient(cluster, { secure }), (admin) => admin.describeCluster()),
          `a client with ${secure === 'none' ? 'neither TLS nor SASL' : 'TLS but no SASL login'} is refused`,
        );
      }
    }),
  );

  test(
    'replicates 5,000 records between SASL_SSL clusters, passwords from a file and the environment',
    { timeout: 120_000 },
    clusters.guard(async (t) => {
      const id = randomUUID().slice(0, 8);
      const topic = `secure-${id}`;
      const flow = `secure-${id}`;
      const src = secureClient(clusters.source);
      const dst = secureClient(clusters.target);
      await createTopic(src, topic, { partitions: 3 });
      const sent = numbered(topic, 0, 5000);
      await produceAll(src, topic, sent);

      const daemon = await startDaemon(t, {
        clusters: {
          src: sourceConfig(t),
          dst: clusterConfig(clusters.target, {
            mechanism: 'scram-sha-256',
            passwordFile: await secretFile(t, USERS.mirror),
          }),
        },
        flows: [
          {
            name: flow,
            source: 'src',
            target: 'dst',
            topics: { include: [topic] },
            commitIntervalMs: 500,
            refreshIntervalMs: 2000,
          },
        ],
      });
      const base = await daemon.adminUrl();
      assert.ok(await waitForRecords(dst, topic, sent.length, 90_000), `${topic} not replicated`);
      await eventually('/readyz 200', async () =>
        (await get(base, '/readyz')).status === 200 ? true : undefined,
      );
      await eventually('every record committed on the source', async () =>
        (await committedTotal(src, `kafka-mirror.${flow}`, topic)) === sent.length ? true : undefined,
      );

      const received = await readTopic(dst, topic);
      assert.equal(received.length, sent.length, 'no duplicates');
      assert.deepEqual(
        new Set(received.map((r) => r.value)),
        new Set(sent.map((m) => m.value)),
        'every record arrived',
      );
      const texts = await exposed(daemon, base);
      assert.equal(await daemon.stop('SIGTERM'), 0);
      assertNoSecret(texts, { 'mirror password': USERS.mirror });
    }),
  );

  test(
    'a wrong password on the target: not ready, an authentication error, nothing written or committed',
    { timeout: 90_000 },
    clusters.guard(async (t) => {
      const wrong = secret('wrong');
      await assertRefusedTarget(
        t,
        clusterConfig(clusters.target, {
          mechanism: 'scram-sha-512',
          passwordFile: await secretFile(t, wrong),
        }),
        /authentication/i,
        { 'wrong password': wrong, 'mirror password': USERS.mirror },
      );
    }),
  );

  test(
    'a target certificate from an untrusted CA: not ready, a certificate error, nothing written or committed',
    { timeout: 150_000 },
    clusters.guard(async (t) => {
      const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-ca-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      // Valid, but it signed nothing the target presents.
      const untrusted = await createCertificateAuthority(dir, 'untrusted');
      await assertRefusedTarget(
        t,
        clusterConfig(
          clusters.target,
          { mechanism: 'scram-sha-512', passwordFile: await secretFile(t, USERS.mirror) },
          untrusted.certFile,
        ),
        /certificate|self[- ]signed|verify/i,
        { 'mirror password': USERS.mirror },
      );
    }),
  );
});
