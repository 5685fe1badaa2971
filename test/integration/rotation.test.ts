// Credential rotation on a running daemon (issue 25, deliverable 2; src/kafka/credentials.ts). The
// source is SASL_SSL with mutual TLS required, behind Toxiproxy. Each test rotates on the broker
// (a SCRAM password through AlterUserScramCredentials; the trusted client CA through a dynamic
// listener config update), rewrites the daemon's files, then cuts every connection: Kafka checks
// credentials only at authentication, so the cut is what puts the daemon on the new material. The
// flow resumes and every source record reaches the target (nothing missing, by provenance), the
// old credential is refused by then, the log names each re-read file, and no secret is shown.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from '../../src/kafka/kafkajs/index.ts';
import { clusterPair } from '../support/cluster-pair.ts';
import { startDaemon, type DaemonProcess } from '../support/daemon.ts';
import {
  createCertificateAuthority,
  ensureKafkaRuntime,
  issueClientCertificate,
  kafkaVersionFromEnv,
  securityOf,
  type CertificateAuthority,
  type KafkaCluster,
} from '../support/kafka/index.ts';
import { startJava } from '../support/kafka/perf-tools.ts';
import { client, createTopic, numbered, produceAll, withAdmin } from '../support/kafka-client.ts';
import { auditTopic, waitForRecords } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

const secret = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;
const USERS = { mirror: secret('mirror'), admin: secret('admin') };

// The client CAs the source's EXTERNAL listener trusts: a PEM trust store whose path is set now,
// its content written before the cluster starts.
const pki = mkdtempSync(path.join(os.tmpdir(), 'kafka-mirror-rotation-'));
const firstTrustStore = path.join(pki, 'trust-1.pem');
let firstClientCa: CertificateAuthority;
before(async () => {
  firstClientCa = await createCertificateAuthority(pki, 'client-1');
  await copyFile(firstClientCa.certFile, firstTrustStore);
  // What the launcher's readiness check presents (a client of the first CA).
  await issueClientCertificate(firstClientCa, pki, 'launcher');
});
after(() => rm(pki, { recursive: true, force: true }));

const clusters = clusterPair({
  source: {
    security: {
      scramUsers: USERS,
      clientCertificate: {
        certFile: path.join(pki, 'launcher.pem'),
        keyFile: path.join(pki, 'launcher.key'),
      },
    },
    toxiproxy: true,
    brokerConfig: {
      'listener.name.external.ssl.client.auth': 'required',
      'listener.name.external.ssl.truststore.type': 'PEM',
      'listener.name.external.ssl.truststore.location': firstTrustStore,
    },
  },
});

/** Runs Kafka's ConfigCommand (kafka-configs.sh) against the cluster's PLAINTEXT replication listener. */
async function kafkaConfigs(cluster: KafkaCluster, args: readonly string[]): Promise<void> {
  const runtime = await ensureKafkaRuntime(kafkaVersionFromEnv());
  const logDir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-configs-'));
  const bootstrap = (cluster.directBootstrapServers ?? []).join(',');
  const tool = startJava(
    runtime,
    'kafka-configs',
    ['-Xmx256m'],
    'kafka.admin.ConfigCommand',
    ['--bootstrap-server', bootstrap, ...args],
    logDir,
    'test',
  );
  try {
    await tool.finish(90_000);
  } finally {
    await tool.stop(1000);
    await rm(logDir, { recursive: true, force: true });
  }
}

/** Replaces `file` at once (write aside, rename), as a Kubernetes Secret update does. */
async function replaceFile(file: string, content: string | Buffer): Promise<void> {
  await writeFile(`${file}.next`, content, { mode: 0o600 });
  await rename(`${file}.next`, file);
}

interface Login {
  readonly cert: string;
  readonly key: string;
  readonly password: string;
}

/** Whether a fresh client with `login` gets in (one attempt, through Toxiproxy as the daemon). */
async function admitted(cluster: KafkaCluster, login: Login): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'kafka-mirror-test',
    brokers: [...cluster.bootstrapServers],
    ssl: {
      ca: [await readFile(securityOf(cluster).caFile)],
      cert: await readFile(login.cert),
      key: await readFile(login.key),
    },
    sasl: { mechanism: 'scram-sha-512', username: 'mirror', password: login.password },
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 0 },
  });
  try {
    await withAdmin(kafka, (admin) => admin.describeCluster());
    return true;
  } catch {
    return false;
  }
}

/** The daemon's credential files, each a path it keeps while the content rotates. */
interface Files {
  readonly dir: string;
  readonly password: string;
  readonly cert: string;
  readonly key: string;
}

async function daemonFiles(t: TestContext): Promise<Files> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-credentials-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const issued = await issueClientCertificate(firstClientCa, dir, `mirror-${randomUUID().slice(0, 6)}`);
  const files = {
    dir,
    password: path.join(dir, 'password'),
    cert: path.join(dir, 'client.pem'),
    key: path.join(dir, 'client.key'),
  };
  await writeFile(files.password, `${USERS.mirror}\n`, { mode: 0o600 });
  await copyFile(issued.certFile, files.cert);
  await copyFile(issued.keyFile, files.key);
  return files;
}

/**
 * Copies a topic with a daemon, calls `rotate` once the first records are on the target, writes
 * more, cuts every connection to the source, writes more again, and checks that every record
 * arrives.
 * Returns the daemon (still running) for the test's own checks.
 */
async function copyAcrossRotation(
  t: TestContext,
  files: Files,
  rotate: () => Promise<void>,
): Promise<DaemonProcess> {
  const id = randomUUID().slice(0, 8);
  const topic = `rotation-${id}`;
  const { source } = clusters;
  // The test's own clients bypass Toxiproxy and security: the replication listener.
  const src = client(source.directBootstrapServers ?? []);
  await createTopic(src, topic, { partitions: 3 });
  await produceAll(src, topic, numbered(`${topic}-a`, 0, 1500));
  const daemon = await startDaemon(t, {
    clusters: {
      src: {
        bootstrapServers: [...source.bootstrapServers],
        connectionTimeoutMs: 3000,
        tls: { ca: securityOf(source).caFile, cert: files.cert, key: files.key },
        sasl: { mechanism: 'scram-sha-512', username: 'mirror', passwordFile: files.password },
      },
      dst: { bootstrapServers: [...clusters.target.bootstrapServers] },
    },
    flows: [
      {
        name: `rotation-${id}`,
        source: 'src',
        target: 'dst',
        topics: { include: [topic] },
        commitIntervalMs: 500,
      },
    ],
    shutdown: { timeoutMs: 5000 },
  });
  const copied = await waitForRecords(clusters.dst, topic, 1500, 90_000);
  assert.ok(copied, `the first half copied; the daemon said:\n${daemon.output().slice(-4000)}`);

  await rotate();
  await produceAll(src, topic, numbered(`${topic}-b`, 0, 1500));
  // Kafka keeps authenticated sessions across a credential change: cut them.
  await source.network?.setEnabled(false);
  await sleep(1000);
  await source.network?.setEnabled(true);
  // Written after the cut: only a connection made with the new material can copy these.
  await produceAll(src, topic, numbered(`${topic}-c`, 0, 1000));

  assert.ok(await waitForRecords(clusters.dst, topic, 4000, 90_000), 'everything copied after the cut');
  const audit = await auditTopic(src, clusters.dst, topic);
  assert.equal(audit.missing, 0, 'nothing missing');
  assert.equal(audit.reordered, 0, 'order kept');
  t.diagnostic(`duplicates after the cut (at-least-once): ${audit.duplicates}`);
  return daemon;
}

function assertReRead(daemon: DaemonProcess, files: readonly string[]): void {
  for (const file of files) {
    assert.ok(
      daemon.logs.some((l) => l['msg'] === `re-read ${file} (changed)` && l['cluster'] === 'src'),
      `a log line says ${file} was re-read`,
    );
  }
}

function assertNoSecret(daemon: DaemonProcess, secrets: readonly string[]): void {
  for (const value of secrets) assert.ok(!daemon.output().includes(value), 'no secret in the log');
}

describe('credential rotation on a running daemon', () => {
  test(
    'a SCRAM password changed on the broker and in the password file: the flow resumes on it, nothing lost',
    { timeout: 240_000 },
    clusters.guard(async (t) => {
      const files = await daemonFiles(t);
      const [previous, rotated] = [USERS.mirror, secret('rotated')];
      const daemon = await copyAcrossRotation(t, files, async () => {
        await kafkaConfigs(
          clusters.source,
          [
            ['--alter', '--entity-type', 'users', '--entity-name', 'mirror'],
            ['--add-config', `SCRAM-SHA-512=[iterations=8192,password=${rotated}]`],
          ].flat(),
        );
        // The broker's password from now on (the next test logs in with it).
        USERS.mirror = rotated;
        const old = { cert: files.cert, key: files.key, password: previous };
        await eventually('the old password refused', async () =>
          (await admitted(clusters.source, old)) ? undefined : true,
        );
        await replaceFile(files.password, `${rotated}\n`);
      });
      assertReRead(daemon, [files.password]);
      assert.equal(await admitted(clusters.source, { ...files, password: rotated }), true);
      assert.equal(await daemon.stop('SIGTERM'), 0);
      assertNoSecret(daemon, [previous, rotated]);
    }),
  );

  test(
    'a client certificate from a new CA, the old CA then removed on the broker: the flow resumes on it, nothing lost',
    { timeout: 240_000 },
    clusters.guard(async (t) => {
      const files = await daemonFiles(t);
      const old = {
        cert: path.join(files.dir, 'old.pem'),
        key: path.join(files.dir, 'old.key'),
        password: USERS.mirror,
      };
      await copyFile(files.cert, old.cert);
      await copyFile(files.key, old.key);
      const daemon = await copyAcrossRotation(t, files, async () => {
        const secondCa = await createCertificateAuthority(files.dir, 'client-2');
        const renewed = await issueClientCertificate(secondCa, files.dir, 'mirror-renewed');
        // 1. The broker trusts both CAs; 2. the daemon's files get the new pair; 3. the old CA goes.
        const both = path.join(pki, `trust-${randomUUID().slice(0, 6)}.pem`);
        const onlyNew = path.join(pki, `trust-${randomUUID().slice(0, 6)}.pem`);
        await writeFile(
          both,
          (await readFile(firstClientCa.certFile, 'utf8')) + (await readFile(secondCa.certFile, 'utf8')),
        );
        await copyFile(secondCa.certFile, onlyNew);
        await trustClientCas(clusters.source, both);
        await replaceFile(files.key, await readFile(renewed.keyFile));
        await replaceFile(files.cert, await readFile(renewed.certFile));
        await trustClientCas(clusters.source, onlyNew);
        await eventually('the old certificate refused', async () =>
          (await admitted(clusters.source, old)) ? undefined : true,
        );
      });
      assertReRead(daemon, [files.cert, files.key]);
      assert.equal(
        await admitted(clusters.source, { cert: files.cert, key: files.key, password: USERS.mirror }),
        true,
        'the new certificate admitted',
      );
      assert.equal(await daemon.stop('SIGTERM'), 0);
      const key = await readFile(files.key, 'utf8');
      assertNoSecret(
        daemon,
        key.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')),
      );
    }),
  );
});

/** Points every broker's EXTERNAL trust store at `file` (a dynamic per-broker config; Kafka reloads it). */
async function trustClientCas(cluster: KafkaCluster, file: string): Promise<void> {
  for (const id of cluster.nodeIds) {
    await kafkaConfigs(
      cluster,
      [
        ['--alter', '--entity-type', 'brokers', '--entity-name', String(id)],
        ['--add-config', `listener.name.external.ssl.truststore.location=${file}`],
      ].flat(),
    );
  }
}
