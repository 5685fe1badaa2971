// A secure client listener for launcher clusters: EXTERNAL becomes SASL_SSL with SCRAM (and
// PLAIN) users, while INTERNAL (replication) and CONTROLLER (quorum) stay PLAINTEXT on loopback.
//
// TLS: one certificate per cluster run, for 127.0.0.1 and localhost, signed by a CA made for that
// run (certificates.ts); brokers load it as a PEM keystore (KIP-651, Kafka 2.7+).
// Users: KRaft keeps SCRAM credentials in the metadata log, so they are written at format time
// (`StorageTool format --add-scram`, KIP-900, Kafka 3.5+), before any broker is up to take an
// AlterUserScramCredentials request. PLAIN checks the same names against its JAAS list.
import { readFileSync } from 'node:fs';
import type { SASLOptions } from 'kafkajs';
import type { BrokerOverrides } from './broker-config.ts';
import { createCertificateAuthority, issueServerCertificate } from './certificates.ts';
import type {
  OauthbearerListenerOptions,
  ClusterOptions,
  ClusterSecurity,
  KafkaCluster,
  SaslMechanism,
  SecurityOptions,
} from './types.ts';

const SCRAM = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export const SASL_MECHANISMS = ['scram-sha-256', 'scram-sha-512', 'plain'] as const;

/**
 * Names and passwords go unquoted into `--add-scram 'SCRAM-SHA-256=[name=...,password=...]'`
 * and into a JAAS line in server.properties, so characters those syntaxes give a meaning to
 * (`,` `=` `[` `]` `"` `\` `;`, spaces) are refused rather than escaped.
 */
const SAFE = /^[A-Za-z0-9._~@%+-]+$/;

export function checkUsers(users: Readonly<Record<string, string>>): void {
  const entries = Object.entries(users);
  if (entries.length === 0) throw new Error('security.scramUsers: at least one user is required');
  for (const [name, password] of entries) {
    if (!SAFE.test(name))
      throw new Error(`security.scramUsers: user name ${JSON.stringify(name)} must match ${String(SAFE)}`);
    // The password itself is never echoed: tests assert that it appears nowhere.
    if (typeof password !== 'string' || !SAFE.test(password))
      throw new Error(`security.scramUsers: the password of ${name} must match ${String(SAFE)}`);
  }
}

/** `--add-scram` arguments of `StorageTool format`: every user, for both SCRAM mechanisms. */
export function scramFormatArgs(users: Readonly<Record<string, string>>): string[] {
  return Object.entries(users).flatMap(([name, password]) =>
    SCRAM.flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${name},password=${password}]`]),
  );
}

/** server.properties entries that make EXTERNAL a SASL_SSL listener (prefixed: only EXTERNAL changes). */
export function secureListenerSettings(
  keystoreFile: string,
  users: Readonly<Record<string, string>>,
  oauthbearer = false,
): BrokerOverrides {
  const prefix = 'listener.name.external';
  const plainUsers = Object.entries(users)
    .map(([name, password]) => ` user_${name}="${password}"`)
    .join('');
  return {
    'listener.security.protocol.map': 'INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL,CONTROLLER:PLAINTEXT',
    [`${prefix}.ssl.keystore.type`]: 'PEM',
    [`${prefix}.ssl.keystore.location`]: keystoreFile,
    [`${prefix}.ssl.client.auth`]: 'none',
    [`${prefix}.sasl.enabled.mechanisms`]: [...SCRAM, 'PLAIN', ...(oauthbearer ? ['OAUTHBEARER'] : [])].join(
      ',',
    ),
    ...Object.fromEntries(
      SCRAM.map((m) => [
        `${prefix}.${m.toLowerCase()}.sasl.jaas.config`,
        'org.apache.kafka.common.security.scram.ScramLoginModule required;',
      ]),
    ),
    [`${prefix}.plain.sasl.jaas.config`]: `org.apache.kafka.common.security.plain.PlainLoginModule required${plainUsers};`,
  };
}

export interface PreparedSecurity {
  readonly info: ClusterSecurity;
  readonly brokerConfig: BrokerOverrides;
  readonly formatArgs: readonly string[];
  /** JVM flags the brokers need (the allowed OAUTHBEARER URLs). */
  readonly jvmFlags: readonly string[];
}

/**
 * EXTERNAL also takes OAUTHBEARER, validated by Kafka's OAuthBearerValidatorCallbackHandler
 * (org.apache.kafka.common.security.oauthbearer, Kafka 3.1+ with KIP-768; package `.secured`
 * before 4.0): signature against the JWKS, `exp`, `aud` and (when given) `iss`, no clock skew,
 * so an expired token is refused at once. Readiness still checks with SCRAM.
 */
export function oauthbearerListenerSettings(options: OauthbearerListenerOptions): BrokerOverrides {
  const prefix = 'listener.name.external.oauthbearer';
  return {
    [`${prefix}.sasl.jaas.config`]:
      'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
    [`${prefix}.sasl.server.callback.handler.class`]:
      'org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler',
    'sasl.oauthbearer.jwks.endpoint.url': options.jwksUrl,
    'sasl.oauthbearer.expected.audience': options.audience,
    'sasl.oauthbearer.clock.skew.seconds': 0,
    ...(options.issuer === undefined ? {} : { 'sasl.oauthbearer.expected.issuer': options.issuer }),
    ...(options.maxReauthMs === undefined
      ? {}
      : { [`${prefix}.connections.max.reauth.ms`]: options.maxReauthMs }),
  };
}

/** Kafka 4.0+ refuses OAUTHBEARER URLs not listed in this system property (KIP-1139 / CVE-2025-27817). */
function oauthbearerJvmFlags(options: OauthbearerListenerOptions | undefined): string[] {
  if (options === undefined) return [];
  const urls = [options.jwksUrl, ...(options.tokenUrl === undefined ? [] : [options.tokenUrl])];
  return [
    `-Dorg.apache.kafka.sasl.oauthbearer.allowed.urls=${urls.join(',')}`,
    // log4j2.properties: the broker logs each re-authentication (Kafka 4; 3.9 logs with log4j 1).
    '-Dkafka.mirror.test.sasl.log.level=DEBUG',
  ];
}

/** Makes the run's CA and broker certificate in `dir`, and what the brokers and clients need. */
export async function prepareSecurity(
  dir: string,
  clusterName: string,
  options: SecurityOptions,
): Promise<PreparedSecurity> {
  const users = { ...options.scramUsers };
  checkUsers(users);
  const ca = await createCertificateAuthority(dir, clusterName);
  const server = await issueServerCertificate(ca, dir, 'broker');
  return {
    info: {
      protocol: 'SASL_SSL',
      caFile: ca.certFile,
      mechanisms: SASL_MECHANISMS,
      users,
      clientCertificate: options.clientCertificate,
    },
    brokerConfig: {
      ...secureListenerSettings(server.keystoreFile, users, options.oauthbearer !== undefined),
      ...(options.oauthbearer === undefined ? {} : oauthbearerListenerSettings(options.oauthbearer)),
    },
    formatArgs: scramFormatArgs(users),
    jvmFlags: oauthbearerJvmFlags(options.oauthbearer),
  };
}

/** kafkajs `ssl` and `sasl` options for a secure cluster, as one of its users (default: the first). */
export function kafkajsSecurity(
  security: ClusterSecurity,
  options: { user?: string; password?: string; mechanism?: SaslMechanism; ca?: string } = {},
): { ssl: { ca: Buffer[] }; sasl: SASLOptions } {
  const username = options.user ?? Object.keys(security.users)[0];
  if (username === undefined) throw new Error('the cluster has no users');
  const password = options.password ?? security.users[username];
  if (password === undefined) throw new Error(`the cluster has no user ${username}`);
  return {
    ssl: { ca: [readFileSync(options.ca ?? security.caFile)] },
    sasl: { mechanism: options.mechanism ?? 'scram-sha-512', username, password } as SASLOptions,
  };
}

/** What a client needs to reach `cluster`; throws when it was not started with `security`. */
export function securityOf(cluster: KafkaCluster): ClusterSecurity {
  if (cluster.security === undefined) throw new Error(`${cluster.name} was not started with security`);
  return cluster.security;
}

/**
 * Options of a cluster behind KRaft's StandardAuthorizer with SASL_SSL `users`, `admin` its super
 * user (it must be one of them): everyone else may do only what ACLs grant. `brokerConfig` adds to
 * the brokers' settings.
 */
export function authorizerOptions(
  users: Readonly<Record<string, string>>,
  brokerConfig: BrokerOverrides = {},
): Pick<ClusterOptions, 'security' | 'brokerConfig'> {
  return {
    security: { scramUsers: users },
    brokerConfig: {
      'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
      // The brokers and controllers talk over PLAINTEXT listeners, as ANONYMOUS; clients use SASL_SSL.
      'super.users': 'User:admin;User:ANONYMOUS',
      ...brokerConfig,
    },
  };
}

/** A daemon config's cluster entry for `cluster`, logged in as `user` with SCRAM-SHA-512. */
export function daemonClusterAs(cluster: KafkaCluster, user: string) {
  const security = securityOf(cluster);
  return {
    bootstrapServers: [...cluster.bootstrapServers],
    tls: { ca: security.caFile },
    sasl: { mechanism: 'scram-sha-512', username: user, password: security.users[user] },
  };
}
