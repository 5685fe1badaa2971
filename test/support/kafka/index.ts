// The local Kafka launcher: real Apache Kafka clusters for tests, benchmarks and the demo.
//
//   const source = await startCluster({ name: 'source', nodes: 3, toxiproxy: true });
//   ... source.bootstrapServers, source.killNode(2), source.network?.addToxic(...) ...
//   await source.stop();
//
//   const secure = await startCluster({ name: 'target', security: { scramUsers: { mirror: 'pw' } } });
//   ... SASL_SSL clients: secure.security.caFile, kafkajsSecurity(secure.security, { user: 'mirror' }) ...
//
// Two backends behind one API, picked by KAFKA_MIRROR_TEST_BACKEND (jvm | testcontainers):
// `jvm` runs brokers from Maven Central jars as local java processes (the default when java and
// mvn exist); `testcontainers` runs the apache/kafka image where a Docker engine is reachable.
import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { JvmCluster } from './jvm-cluster.ts';
import type { Backend, ClusterOptions, KafkaCluster } from './types.ts';

export type {
  Backend,
  ClusterNetwork,
  ClusterOptions,
  ClusterSecurity,
  JvmProfile,
  KafkaCluster,
  SaslMechanism,
  SecurityOptions,
} from './types.ts';
export type { Toxic } from './toxiproxy.ts';
export {
  createCertificateAuthority,
  issueClientCertificate,
  type CertificateAuthority,
} from './certificates.ts';
export { authorizerOptions, daemonClusterAs, kafkajsSecurity, securityOf } from './security.ts';
export { DEFAULT_KAFKA_VERSION, ensureKafkaRuntime, kafkaVersionFromEnv } from './jars.ts';
export { ensureToxiproxy } from './toxiproxy.ts';

function has(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The backend named by KAFKA_MIRROR_TEST_BACKEND, else jvm when java and mvn exist, else testcontainers when docker does. */
export function selectBackend(
  env: NodeJS.ProcessEnv = process.env,
  probe: (command: string, args: string[]) => boolean = has,
): Backend {
  const chosen = env['KAFKA_MIRROR_TEST_BACKEND'];
  if (chosen === 'jvm' || chosen === 'testcontainers') return chosen;
  if (chosen !== undefined && chosen !== '') {
    throw new Error(
      `KAFKA_MIRROR_TEST_BACKEND must be "jvm" or "testcontainers", got ${JSON.stringify(chosen)}`,
    );
  }
  const java = probe('java', ['-version']);
  const mvn = probe('mvn', ['--version']);
  if (java && mvn) return 'jvm';
  if (probe('docker', ['info'])) return 'testcontainers';
  const missing = [java ? undefined : '`java` (JDK 17+)', mvn ? undefined : '`mvn` (Maven)'].filter(Boolean);
  throw new Error(
    `no Kafka backend: the jvm backend needs ${missing.join(' and ')} on PATH, ` +
      'and the testcontainers backend needs a reachable Docker engine (`docker info` failed)',
  );
}

export async function startCluster(options: ClusterOptions = {}): Promise<KafkaCluster> {
  if (selectBackend() === 'jvm') return JvmCluster.start(options);
  const { TestcontainersCluster } = await import('./testcontainers-cluster.ts');
  return TestcontainersCluster.start(options);
}

/**
 * Ends every cluster this process started or is starting, at once (jvm backend): SIGKILL, and
 * their directories removed. For the demo's second Ctrl-C; tests stop clusters one by one.
 */
export function abortAllClusters(): Promise<void> {
  return JvmCluster.abortAll();
}

/** Starts a cluster for one test and stops it afterwards, keeping its logs if the test failed. */
export async function useCluster(t: TestContext, options: ClusterOptions = {}): Promise<KafkaCluster> {
  const cluster = await startCluster(options);
  // TestContext#passed exists at run time (Node 21.7+) but is missing from @types/node 24's TestContext.
  t.after(() => cluster.stop({ keepLogs: (t as { passed?: boolean }).passed !== true }));
  return cluster;
}
