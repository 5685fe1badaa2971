import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors/index.ts';
import { controlOf } from './control.ts';
import { flowOverlaps } from './flow-overlap.ts';
import { clusterSchema, flowSchema, topLevelSchema } from './schema.ts';
import { registerSecret } from './secrets.ts';
import { parseSize } from './sizes.ts';
import type { AdminTlsConfig, ClusterConfig, Config, FlowConfig, SaslConfig } from './types.ts';
import { oauthbearerOf } from './oauthbearer.ts';
import { type Getter, validated, withMappings } from './validated.ts';
import { parseYamlText } from './yaml.ts';

/** Reads, validates and freezes a config file (YAML or JSON). Every problem is reported at once. */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = {}): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read the file: ${(error as Error).message}`]);
  }
  const parsed = parseYamlText(text);
  if ('problem' in parsed) throw new ConfigError(file, [`not valid YAML or JSON: ${parsed.problem}`]);
  return parseConfig(parsed.document ?? {}, file, env);
}

/** Validates a parsed document. `env` supplies the documented environment overrides. */
export function parseConfig(document: unknown, source = 'config', env: NodeJS.ProcessEnv = {}): Config {
  const problems: string[] = [];
  const doc = topLevelOf(document, source, problems);
  const sections = Object.keys(topLevelSchema).filter((k) => k !== 'clusters' && k !== 'flows');
  const top = validated(topLevelSchema, withMappings(doc, sections, '', problems), '', problems, env);
  const clusters = clustersOf(top('clusters'), problems, env);
  const flows = flowsOf(top('flows'), clusters, problems);
  problems.push(...overlapProblems(flows));
  const control = controlOf(top, problems, env);
  const tls = adminTlsOf(top, problems);
  if (problems.length > 0) throw new ConfigError(source, problems);
  const settings = settingsOf(top);
  return deepFreeze({ clusters, flows, ...settings, admin: { ...settings.admin, tls, control } });
}

/**
 * The document as a mapping. convict has no per-item schema for clusters and flows; a value of the
 * wrong shape is reported here, under its key, and left out of what convict sees.
 */
function topLevelOf(document: unknown, source: string, problems: string[]): Record<string, unknown> {
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(source, ['the top level must be a mapping of keys (clusters, flows, ...)']);
  }
  const doc = { ...(document as Record<string, unknown>) };
  if (
    'clusters' in doc &&
    (doc['clusters'] === null || typeof doc['clusters'] !== 'object' || Array.isArray(doc['clusters']))
  ) {
    problems.push('clusters: must be a mapping of alias to cluster');
    delete doc['clusters'];
  }
  if ('flows' in doc && !Array.isArray(doc['flows'])) {
    problems.push('flows: must be a list of flows');
    delete doc['flows'];
  }
  return doc;
}

/** The clusters by alias; at least one. */
function clustersOf(
  rawClusters: unknown,
  problems: string[],
  env: NodeJS.ProcessEnv,
): Record<string, ClusterConfig> {
  const clusters: Record<string, ClusterConfig> = {};
  if (rawClusters === null || typeof rawClusters !== 'object' || Array.isArray(rawClusters)) {
    problems.push('clusters: must be a mapping of alias to cluster');
  } else {
    for (const [alias, entry] of Object.entries(rawClusters))
      clusters[alias] = clusterOf(alias, entry, problems, env);
  }
  if (Object.keys(clusters).length === 0) problems.push('clusters: at least one cluster is required');
  return clusters;
}

function clusterOf(alias: string, entry: unknown, problems: string[], env: NodeJS.ProcessEnv): ClusterConfig {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(alias)) {
    problems.push(
      `clusters.${alias}: an alias is letters, digits, "-" and "_" (it appears in topic names and headers)`,
    );
  }
  const prefix = `clusters.${alias}`;
  const c = validated(
    clusterSchema,
    withMappings(entry, ['tls', 'sasl'], `${prefix}.`, problems),
    `${prefix}.`,
    problems,
  );
  return {
    alias,
    bootstrapServers: bootstrapServersOf(c('bootstrapServers'), prefix, problems),
    clientId: c('clientId') as string,
    connectionTimeoutMs: c('connectionTimeoutMs') as number,
    tls: tlsOf(c, `${prefix}.tls`, problems),
    sasl: saslOf(c, `${prefix}.sasl`, problems, env),
  };
}

/** At least one server, each host:port or [IPv6]:port with a port from 1 to 65535. */
function bootstrapServersOf(listed: unknown, prefix: string, problems: string[]): string[] {
  const bootstrapServers = Array.isArray(listed) ? (listed as string[]) : [];
  if (Array.isArray(listed) && bootstrapServers.length === 0)
    problems.push(`${prefix}.bootstrapServers: at least one host:port is required`);
  for (const server of bootstrapServers) {
    const match = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(String(server));
    const port = Number(match?.[1]);
    if (match === null || port < 1 || port > 65_535)
      problems.push(`${prefix}.bootstrapServers: "${server}" is not host:port (port 1-65535)`);
  }
  return bootstrapServers;
}

/** The flows, in order; at least one. */
function flowsOf(
  rawFlows: unknown,
  clusters: Record<string, ClusterConfig>,
  problems: string[],
): FlowConfig[] {
  const flows: FlowConfig[] = [];
  if (!Array.isArray(rawFlows)) {
    problems.push('flows: must be a list of flows');
    return flows;
  }
  if (rawFlows.length === 0) problems.push('flows: at least one flow is required');
  rawFlows.forEach((entry: unknown, index) => flows.push(flowOf(entry, index, clusters, flows, problems)));
  return flows;
}

/** One flow; `earlier` are the flows before it (a name is used once). */
function flowOf(
  entry: unknown,
  index: number,
  clusters: Record<string, ClusterConfig>,
  earlier: readonly FlowConfig[],
  problems: string[],
): FlowConfig {
  const at = `flows[${index}]`;
  const f = validated(
    flowSchema,
    withMappings(
      entry,
      ['topics', 'groupOffsetSync', 'transaction', 'topicConfigSync', 'aclSync', 'drill'],
      `${at}.`,
      problems,
    ),
    `${at}.`,
    problems,
  );
  const source = f('source') as string;
  const target = f('target') as string;
  checkFlowClusters(source, target, at, clusters, problems);
  const name = (f('name') as string) || `${source}->${target}`;
  const patterns = patternsOf(f, at, problems);
  if (earlier.some((other) => other.name === name))
    problems.push(`${at}.name: "${name}" is used by another flow`);
  const group = (f('group') as string) || `kafka-mirror.${name.replace('->', '-')}`;
  return {
    name,
    source,
    target,
    group,
    topics: { include: patterns.include, exclude: patterns.exclude.map(String) },
    naming: f('naming') as FlowConfig['naming'],
    stackPrefixes: f('stackPrefixes') as boolean,
    startFrom: f('startFrom') as FlowConfig['startFrom'],
    refreshIntervalMs: f('refreshIntervalMs') as number,
    commitIntervalMs: f('commitIntervalMs') as number,
    maxBytesPerSecond: sizeOf(f('maxBytesPerSecond')),
    replicationFactor: f('replicationFactor') as number,
    topicConfigs: f('topicConfigs') as string[],
    delivery: f('delivery') as FlowConfig['delivery'],
    transaction: transactionOf(f, at, group, problems),
    groupOffsetSync: {
      enabled: f('groupOffsetSync.enabled') as boolean,
      include: patterns.groupInclude.map(String),
      exclude: patterns.groupExclude.map(String),
      intervalMs: f('groupOffsetSync.intervalMs') as number,
    },
    topicConfigSync: {
      enabled: f('topicConfigSync.enabled') as boolean,
      exclude: patterns.configExclude.map(String),
    },
    aclSync: { enabled: f('aclSync.enabled') as boolean },
    drill: drillOf(f),
  };
}

/** A flow's DR drills (src/offsets/drill.ts). */
function drillOf(f: Getter): FlowConfig['drill'] {
  return {
    intervalMs: f('drill.intervalMs') as number,
    groups: f('drill.groups') as string[],
    records: f('drill.records') as number,
  };
}

/** A flow's source and target: two different clusters, both defined. */
function checkFlowClusters(
  source: string,
  target: string,
  at: string,
  clusters: Record<string, ClusterConfig>,
  problems: string[],
): void {
  for (const [key, alias] of [
    ['source', source],
    ['target', target],
  ] as const) {
    if (alias === '') problems.push(`${at}.${key}: required (a cluster alias)`);
    else if (clusters[alias] === undefined) problems.push(`${at}.${key}: no cluster named "${alias}"`);
  }
  if (source !== '' && source === target) problems.push(`${at}: source and target are the same cluster`);
}

/** A flow's topic and group patterns, each a valid regular expression. */
function patternsOf(f: Getter, at: string, problems: string[]) {
  const list = (value: unknown) => (Array.isArray(value) ? (value as string[]) : []);
  const patterns = {
    include: list(f('topics.include')),
    exclude: list(f('topics.exclude')),
    groupInclude: list(f('groupOffsetSync.include')),
    groupExclude: list(f('groupOffsetSync.exclude')),
    configExclude: list(f('topicConfigSync.exclude')),
  };
  for (const [key, listed] of [
    ['topics.include', patterns.include],
    ['topics.exclude', patterns.exclude],
    ['groupOffsetSync.include', patterns.groupInclude],
    ['groupOffsetSync.exclude', patterns.groupExclude],
    ['topicConfigSync.exclude', patterns.configExclude],
  ] as const) {
    listed.forEach((pattern, i) => {
      try {
        // Checked alone first: "a)|(b" is only valid once wrapped, and would then match too much.
        new RegExp(String(pattern));
      } catch (error) {
        problems.push(`${at}.${key}[${i}]: not a valid regular expression: ${(error as Error).message}`);
      }
    });
  }
  return patterns;
}

/** A flow's exactly-once transactions: an interval below the timeout, a positions topic name Kafka takes. */
function transactionOf(f: Getter, at: string, group: string, problems: string[]): FlowConfig['transaction'] {
  if ((f('transaction.intervalMs') as number) >= (f('transaction.timeoutMs') as number))
    problems.push(
      `${at}.transaction.intervalMs: must be below transaction.timeoutMs (the coordinator would abort every transaction)`,
    );
  const positionsTopic = positionsTopicOf(group);
  if (positionsTopic.length > 249)
    problems.push(
      `${at}.group: too long for exactly-once delivery (its positions topic name would exceed 249 characters)`,
    );
  return {
    maxRecords: f('transaction.maxRecords') as number,
    maxBytes: sizeOf(f('transaction.maxBytes')),
    intervalMs: f('transaction.intervalMs') as number,
    idleCommitMs: f('transaction.idleCommitMs') as number,
    timeoutMs: f('transaction.timeoutMs') as number,
    positionsTopic,
  };
}

/** Two flows between the same clusters that would both copy a topic (flow-overlap.ts). */
function overlapProblems(flows: readonly FlowConfig[]): string[] {
  return flowOverlaps(flows).map(({ first, second, example }) => {
    const [a, b] = [flows[first], flows[second]] as [FlowConfig, FlowConfig];
    return `flows[${second}] ("${b.name}") and flows[${first}] ("${a.name}") both copy topics from ${a.source} to ${a.target} (such as ${example}): every record would be written twice; give them disjoint topics.include and topics.exclude`;
  });
}

/** The top-level settings besides clusters and flows. */
function settingsOf(top: Getter): Omit<Config, 'clusters' | 'flows' | 'admin'> & {
  admin: Omit<Config['admin'], 'control' | 'tls'>;
} {
  const get = <T>(key: string) => top(key) as T;
  return {
    queue: { maxRecords: get<number>('queue.maxRecords'), maxBytes: parseSize(get('queue.maxBytes')) },
    consumer: {
      maxBytes: parseSize(get('consumer.maxBytes')),
      maxBytesPerPartition: parseSize(get('consumer.maxBytesPerPartition')),
      maxWaitMs: get<number>('consumer.maxWaitMs'),
      sessionTimeoutMs: get<number>('consumer.sessionTimeoutMs'),
    },
    producer: {
      compression: get<Config['producer']['compression']>('producer.compression'),
      maxRequestBytes: parseSize(get('producer.maxRequestBytes')),
      concurrency: get<number>('producer.concurrency'),
      maxInFlightPerPartition: get<number>('producer.maxInFlightPerPartition'),
      requestTimeoutMs: get<number>('producer.requestTimeoutMs'),
    },
    shutdown: { timeoutMs: get<number>('shutdown.timeoutMs') },
    heartbeats: {
      enabled: get<boolean>('heartbeats.enabled'),
      intervalMs: get<number>('heartbeats.intervalMs'),
    },
    metrics: { lagIntervalMs: get<number>('metrics.lagIntervalMs') },
    admin: {
      host: get<string>('admin.host'),
      port: get<number>('admin.port'),
      stallTimeoutMs: get<number>('admin.stallTimeoutMs'),
    },
    log: { level: get<string>('log.level'), pretty: get<boolean>('log.pretty') },
    reload: { watch: get<boolean>('reload.watch'), debounceMs: get<number>('reload.debounceMs') },
  };
}

/** admin.tls: cert and key go together and must be readable now; the key is a secret. */
function adminTlsOf(top: Getter, problems: string[]): AdminTlsConfig | undefined {
  const [cert, key, ca] = (['cert', 'key', 'ca'] as const).map((k) => top(`admin.tls.${k}`) as string);
  for (const [name, file] of [
    ['cert', cert],
    ['key', key],
    ['ca', ca],
  ] as const) {
    if (file === '' || file === undefined) continue;
    const unreadable = whyUnreadable(file);
    if (unreadable !== undefined) problems.push(`admin.tls.${name}: cannot read "${file}": ${unreadable}`);
    else if (name === 'key') registerSecret(readFileSync(file, 'utf8'));
  }
  if ((cert === '') !== (key === '')) problems.push('admin.tls: cert and key go together (HTTPS needs both)');
  if (cert === '' || key === '' || cert === undefined || key === undefined) {
    if (ca !== '') problems.push('admin.tls.ca: only with admin.tls.cert and admin.tls.key');
    return undefined;
  }
  return { cert, key, ca: ca === '' ? undefined : ca };
}

/** TLS of a cluster: its PEM files must be readable now (they are read when clients connect). */
function tlsOf(c: Getter, prefix: string, problems: string[]): ClusterConfig['tls'] {
  const files: { ca?: string; cert?: string; key?: string } = {};
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = c(`tls.${key}`) as string;
    if (file === '') continue;
    files[key] = file;
    const unreadable = whyUnreadable(file);
    if (unreadable !== undefined) problems.push(`${prefix}.${key}: cannot read "${file}": ${unreadable}`);
    else if (key === 'key') registerSecret(readFileSync(file, 'utf8'));
  }
  if ((files.cert === undefined) !== (files.key === undefined))
    problems.push(`${prefix}: cert and key go together (mutual TLS needs both)`);
  return { enabled: (c('tls.enabled') as boolean) || Object.keys(files).length > 0, ...files };
}

/** Why a file cannot be read now (the system's code, such as ENOENT or EACCES, or "not a file"), if it cannot. */
function whyUnreadable(file: string): string | undefined {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile() ? undefined : 'not a file';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'error';
  }
}

/** SASL of a cluster, with its password taken from exactly one of password, passwordFile, passwordEnv. */
function saslOf(
  c: Getter,
  prefix: string,
  problems: string[],
  env: NodeJS.ProcessEnv,
): SaslConfig | undefined {
  const mechanism = c('sasl.mechanism') as SaslConfig['mechanism'] | 'none';
  const username = c('sasl.username') as string;
  const sources = (['password', 'passwordFile', 'passwordEnv'] as const).filter((k) => c(`sasl.${k}`) !== '');
  if (mechanism === 'oauthbearer') {
    if (username !== '' || sources.length > 0)
      problems.push(
        `${prefix}: username and password are not used with mechanism oauthbearer (see sasl.oauthbearer)`,
      );
    return {
      mechanism,
      username: '',
      password: '',
      oauthbearer: oauthbearerOf(c, `${prefix}.oauthbearer`, problems, env),
    };
  }
  if (mechanism === 'none') {
    if (username !== '' || sources.length > 0)
      problems.push(`${prefix}.mechanism: credentials are set but the mechanism is none`);
    return undefined;
  }
  if (username === '') problems.push(`${prefix}.username: required with mechanism ${mechanism}`);
  if (sources.length !== 1) {
    problems.push(`${prefix}: give the password in exactly one of password, passwordFile, passwordEnv`);
    return undefined;
  }
  const [source] = sources;
  let password = '';
  if (source === 'password') password = c('sasl.password') as string;
  else if (source === 'passwordFile') {
    const file = c('sasl.passwordFile') as string;
    try {
      password = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      if (password === '') problems.push(`${prefix}.passwordFile: "${file}" is empty`);
    } catch (error) {
      problems.push(
        `${prefix}.passwordFile: cannot read "${file}": ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
  } else {
    const name = c('sasl.passwordEnv') as string;
    password = env[name] ?? '';
    if (password === '')
      problems.push(`${prefix}.passwordEnv: environment variable ${name} is not set or empty`);
    registerSecret(password);
    return { mechanism, username, password, passwordEnv: name };
  }
  registerSecret(password);
  if (source === 'passwordFile')
    return { mechanism, username, password, passwordFile: c('sasl.passwordFile') as string };
  return { mechanism, username, password };
}

/** A size convict has validated (an invalid one is a problem already, and the config is not returned). */
function sizeOf(value: unknown): number {
  try {
    return parseSize(value);
  } catch {
    return 0;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The compacted topic on the target that holds an exactly-once flow's source positions: one per
 * consumer group (the instances of a flow share it). Characters a topic name cannot hold become `_`.
 */
export function positionsTopicOf(group: string): string {
  const base = group.startsWith('kafka-mirror.') ? group.slice('kafka-mirror.'.length) : group;
  return `kafka-mirror.positions.${base.replace(/[^a-zA-Z0-9._-]/g, '_')}`;
}
