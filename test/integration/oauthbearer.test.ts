// kafka-mirror writing into a cluster whose client listener takes SASL OAUTHBEARER, with JWTs
// validated by the broker (Kafka's OAuthBearerValidatorCallbackHandler) against the JWKS of a
// small OIDC provider the test runs (test/support/oidc-provider.ts). Tokens live 15 s and the
// broker ends OAUTHBEARER sessions after 10 s (connections.max.reauth.ms, KIP-368) while records
// flow for more than two token lifetimes: every record is copied once, several tokens are issued
// (the cache refreshed), and the broker keeps taking the daemon's writes after the first token
// expired. A token for the wrong audience and a client secret the endpoint refuses each leave the
// flow not ready with their KM_ code, and the secret appears nowhere.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startClusterPair, type StartedPair } from '../support/cluster-pair.ts';
import { startDaemon } from '../support/daemon.ts';
import { Kafka, logLevel } from '../../src/kafka/kafkajs/index.ts';
import { oauthbearerSaslOptions, type OauthTokenProvider } from '../../src/kafka/oauth.ts';
import type { OauthbearerConfig } from '../../src/config/oauthbearer.ts';
import { readFileSync } from 'node:fs';
import { securityOf } from '../support/kafka/index.ts';
import { clientAs, createTopic, numbered, produceAll, readTopic } from '../support/kafka-client.ts';
import { startOidcProvider, type OidcProvider } from '../support/oidc-provider.ts';
import { get } from '../support/prometheus.ts';
import { audit, totals, waitForRecords } from '../support/replication-checks.ts';
import { eventually } from '../support/settled.ts';

const CLIENT_SECRET = `secret-${randomBytes(12).toString('base64url')}`;
const AUDIENCE = `kafka-${randomBytes(3).toString('hex')}`;
const USERS = { admin: `admin-${randomBytes(9).toString('base64url')}` };

let oidc: OidcProvider;
let pair: StartedPair;
let failed = false;

before(async () => {
  oidc = await startOidcProvider({
    clients: { mirror: CLIENT_SECRET },
    lifetimeSeconds: 15,
    audience: AUDIENCE,
  });
  pair = await startClusterPair({
    target: {
      security: {
        scramUsers: USERS,
        oauthbearer: {
          jwksUrl: oidc.jwksUrl,
          tokenUrl: oidc.tokenUrl,
          audience: AUDIENCE,
          issuer: oidc.issuer,
          maxReauthMs: 10_000,
        },
      },
    },
  });
});
after(async () => {
  await pair?.stop({ keepLogs: failed });
  await oidc?.close();
});

const guard = (fn: (t: TestContext) => Promise<void>) => async (t: TestContext) => {
  try {
    await fn(t);
  } catch (error) {
    failed = true;
    throw error;
  }
};

async function secretFile(t: TestContext, content: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kafka-mirror-oauth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'client-secret');
  await writeFile(file, `${content}\n`, { mode: 0o600 });
  return file;
}

/** The daemon's view of the OAUTHBEARER target. */
function targetConfig(oauthbearer: Record<string, unknown>) {
  return {
    bootstrapServers: [...pair.target.bootstrapServers],
    connectionTimeoutMs: 3000,
    tls: { ca: securityOf(pair.target).caFile },
    sasl: {
      mechanism: 'oauthbearer',
      oauthbearer: { tokenEndpointUrl: oidc.tokenUrl, clientId: 'mirror', scope: 'kafka', ...oauthbearer },
    },
  };
}

function flowOf(flow: string, topic: string) {
  return {
    name: flow,
    source: 'src',
    target: 'dst',
    topics: { include: [topic] },
    commitIntervalMs: 500,
    refreshIntervalMs: 2000,
  };
}

describe('SASL OAUTHBEARER target', () => {
  test(
    'a flow copies every record once for more than two token lifetimes: tokens refreshed, sessions re-authenticated',
    { timeout: 150_000 },
    guard(async (t) => {
      const id = randomUUID().slice(0, 8);
      const topic = `oauth-${id}`;
      await createTopic(pair.src, topic, { partitions: 2 });
      const issuedBefore = oidc.issued();
      const daemon = await startDaemon(t, {
        clusters: {
          src: { bootstrapServers: [...pair.source.bootstrapServers] },
          dst: targetConfig({ clientSecretFile: await secretFile(t, CLIENT_SECRET) }),
        },
        flows: [flowOf(`oauth-${id}`, topic)],
        shutdown: { timeoutMs: 10_000 },
      });
      await daemon.waitForLog((l) => l['msg'] === 'flow running', 90_000);
      const started = Date.now();
      // Batches of records for 36 s (> two 15 s token lifetimes, > three 10 s sessions).
      let batches = 0;
      while (Date.now() - started < 36_000 && batches < 40) {
        await produceAll(pair.src, topic, numbered(`${topic}-${batches}`, 0, 50));
        batches += 1;
        await sleep(1500);
      }
      const count = batches * 50;
      const dst = clientAs(pair.target, 'admin');
      assert.ok(await waitForRecords(dst, topic, count, 60_000), `${count} records reached the target`);
      const result = totals(audit(await readTopic(pair.src, topic), await readTopic(dst, topic)));
      assert.deepEqual(result, { missing: 0, duplicates: 0, reordered: 0, target: count });
      const issued = oidc.issued() - issuedBefore;
      t.diagnostic(`${count} records in ${batches} batches; ${issued} tokens issued`);
      assert.ok(issued >= 3, `tokens refreshed during the run (${issued} issued)`);
      // KIP-368: the broker began re-authentications on open connections (its DEBUG line, on Kafka 4).
      if (pair.target.kafkaVersion.startsWith('4.')) {
        const log = await pair.target.logTail(1, 100_000);
        const reauthentications = log
          .split('\n')
          .filter((l) => l.includes('Beginning re-authentication')).length;
        t.diagnostic(`${reauthentications} re-authentications logged by the broker`);
        assert.ok(reauthentications >= 2, `connections re-authenticated (${reauthentications})`);
      }
      const problems = daemon.logs.filter((l) =>
        /KM_OAUTH|could not start|unreachable/.test(JSON.stringify(l)),
      );
      assert.deepEqual(problems, [], 'no authentication failure while records flowed');
      assert.equal(await daemon.stop('SIGTERM'), 0);
      assert.ok(!daemon.output().includes(CLIENT_SECRET), 'the client secret appears in no log line');
    }),
  );

  for (const refusal of [
    {
      name: 'a token for another audience is refused by the broker',
      oauthbearer: () => ({ clientSecretEnv: secretEnv(CLIENT_SECRET), audience: 'another-service' }),
      code: 'KM_OAUTH_REJECTED',
    },
    {
      name: 'a client secret the token endpoint refuses',
      oauthbearer: () => ({ clientSecretEnv: secretEnv(`wrong-${CLIENT_SECRET}`) }),
      code: 'KM_OAUTH_TOKEN_REFUSED',
    },
  ]) {
    test(
      `${refusal.name}: the flow is not ready, with ${refusal.code}`,
      { timeout: 120_000 },
      guard(async (t) => {
        const id = randomUUID().slice(0, 8);
        const topic = `oauth-refused-${id}`;
        await createTopic(pair.src, topic, { partitions: 1 });
        await produceAll(pair.src, topic, numbered(topic, 0, 20));
        const daemon = await startDaemon(t, {
          clusters: {
            src: { bootstrapServers: [...pair.source.bootstrapServers] },
            dst: targetConfig(refusal.oauthbearer()),
          },
          flows: [flowOf(`refused-${id}`, topic)],
          shutdown: { timeoutMs: 5000 },
        });
        const base = await daemon.adminUrl();
        await eventually(
          `${refusal.code} in the daemon's output`,
          async () => (daemon.output().includes(refusal.code) ? true : undefined),
          90_000,
        );
        const status = (await get(base, '/status')).body;
        assert.match(status, new RegExp(refusal.code), '/status names the code');
        assert.equal((await get(base, '/readyz')).status, 503);
        await daemon.stop('SIGTERM');
        assert.ok(!daemon.output().includes(CLIENT_SECRET), 'the client secret appears in no log line');
        assert.ok(!status.includes(CLIENT_SECRET), 'nor in /status');
      }),
    );
  }
});

describe('SASL OAUTHBEARER refusals by the broker', () => {
  test(
    'an expired token, and one signed by an unknown key, are refused with KM_OAUTH_REJECTED',
    { timeout: 60_000 },
    guard(async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: oidc.issuer, sub: 'mirror', aud: AUDIENCE, iat: now - 60, scope: 'kafka' };
      const stranger = await startOidcProvider({ clients: {} });
      try {
        const tokens = {
          expired: oidc.sign({ ...claims, exp: now - 5 }),
          'signed by an unknown key': stranger.sign({ ...claims, exp: now + 600 }),
          valid: oidc.sign({ ...claims, exp: now + 600 }),
        };
        for (const [name, value] of Object.entries(tokens)) {
          const provider = { token: async () => ({ value }) } as unknown as OauthTokenProvider;
          const config = { extensions: {} } as unknown as OauthbearerConfig;
          const kafka = new Kafka({
            clientId: 'kafka-mirror-test',
            brokers: [...pair.target.bootstrapServers],
            ssl: { ca: [readFileSync(securityOf(pair.target).caFile)] },
            sasl: oauthbearerSaslOptions(config, provider) as never,
            logLevel: logLevel.NOTHING,
            retry: { retries: 0 },
          });
          const admin = kafka.admin();
          const described = admin.connect().then(() => admin.describeCluster());
          if (name === 'valid') assert.equal((await described).clusterId, pair.target.clusterId);
          else
            await assert.rejects(described, (error: unknown) => {
              const text = `${String(error)} ${String((error as { cause?: unknown }).cause)}`;
              assert.match(text, /KM_OAUTH_REJECTED|refused the OAUTHBEARER token/, `${name}: ${text}`);
              return true;
            });
          await admin.disconnect().catch(() => {});
        }
      } finally {
        await stranger.close();
      }
    }),
  );
});

const envNames: string[] = [];
after(() => envNames.forEach((n) => delete process.env[n]));

/** An environment variable the daemon inherits, holding `value`. */
function secretEnv(value: string): string {
  const name = `KAFKA_MIRROR_TEST_OAUTH_${randomBytes(4).toString('hex').toUpperCase()}`;
  process.env[name] = value;
  envNames.push(name);
  return name;
}
