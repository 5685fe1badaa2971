import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import convict from 'convict';
import { ConfigError } from '../errors/index.ts';
import { flowOverlaps } from './flow-overlap.ts';
import { clusterSchema, envName, flowSchema, formats, topLevelSchema } from './schema.ts';
import { parseSize } from './sizes.ts';
import { closest } from './suggest.ts';
import type { ClusterConfig, Config, FlowConfig, SaslConfig } from './types.ts';
import { parseYamlText } from './yaml.ts';

for (const format of formats) convict.addFormat(format);

type Getter = (key: string) => unknown;

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
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new ConfigError(source, ['the top level must be a mapping of keys (clusters, flows, ...)']);
  }
  // convict has no per-item schema for these two; a value of the wrong shape is reported here,
  // under its key, and left out of what convict sees.
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
  const sections = Object.keys(topLevelSchema).filter((k) => k !== 'clusters' && k !== 'flows');
  const top = validated(topLevelSchema, withMappings(doc, sections, '', problems), '', problems, env);
  const rawClusters = top('clusters') as unknown;
  const rawFlows = top('flows') as unknown;

  const clusters: Record<string, ClusterConfig> = {};
  if (rawClusters === null || typeof rawClusters !== 'object' || Array.isArray(rawClusters)) {
    problems.push('clusters: must be a mapping of alias to cluster');
  } else {
    for (const [alias, entry] of Object.entries(rawClusters)) {
      if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(alias)) {
        problems.push(
          `clusters.${alias}: an alias is letters, digits, "-" and "_" (it appears in topic names and headers)`,
        );
      }
      const c = validated(
        clusterSchema,
        withMappings(entry, ['tls', 'sasl'], `clusters.${alias}.`, problems),
        `clusters.${alias}.`,
        problems,
      );
      const listed = c('bootstrapServers') as unknown;
      const bootstrapServers = Array.isArray(listed) ? (listed as string[]) : [];
      if (Array.isArray(listed) && bootstrapServers.length === 0)
        problems.push(`clusters.${alias}.bootstrapServers: at least one host:port is required`);
      for (const server of bootstrapServers) {
        // host:port or [IPv6]:port, port 1-65535
        const match = /^(?:\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(String(server));
        const port = Number(match?.[1]);
        if (match === null || port < 1 || port > 65_535)
          problems.push(`clusters.${alias}.bootstrapServers: "${server}" is not host:port (port 1-65535)`);
      }
      clusters[alias] = {
        alias,
        bootstrapServers,
        clientId: c('clientId') as string,
        connectionTimeoutMs: c('connectionTimeoutMs') as number,
        tls: tlsOf(c, `clusters.${alias}.tls`, problems),
        sasl: saslOf(c, `clusters.${alias}.sasl`, problems, env),
      };
    }
  }
  if (Object.keys(clusters).length === 0) problems.push('clusters: at least one cluster is required');

  const flows: FlowConfig[] = [];
  if (!Array.isArray(rawFlows)) {
    problems.push('flows: must be a list of flows');
  } else {
    if (rawFlows.length === 0) problems.push('flows: at least one flow is required');
    rawFlows.forEach((entry, index) => {
      const f = validated(
        flowSchema,
        withMappings(entry, ['topics', 'groupOffsetSync', 'transaction'], `flows[${index}].`, problems),
        `flows[${index}].`,
        problems,
      );
      const source = f('source') as string;
      const target = f('target') as string;
      for (const [key, alias] of [
        ['source', source],
        ['target', target],
      ] as const) {
        if (alias === '') problems.push(`flows[${index}].${key}: required (a cluster alias)`);
        else if (clusters[alias] === undefined)
          problems.push(`flows[${index}].${key}: no cluster named "${alias}"`);
      }
      if (source !== '' && source === target)
        problems.push(`flows[${index}]: source and target are the same cluster`);
      const name = (f('name') as string) || `${source}->${target}`;
      const list = (value: unknown) => (Array.isArray(value) ? (value as string[]) : []);
      const include = list(f('topics.include'));
      const exclude = list(f('topics.exclude'));
      const groupInclude = list(f('groupOffsetSync.include'));
      const groupExclude = list(f('groupOffsetSync.exclude'));
      for (const [key, patterns] of [
        ['topics.include', include],
        ['topics.exclude', exclude],
        ['groupOffsetSync.include', groupInclude],
        ['groupOffsetSync.exclude', groupExclude],
      ] as const) {
        patterns.forEach((pattern, i) => {
          try {
            // Checked alone first: "a)|(b" is only valid once wrapped, and would then match too much.
            new RegExp(String(pattern));
          } catch (error) {
            problems.push(
              `flows[${index}].${key}[${i}]: not a valid regular expression: ${(error as Error).message}`,
            );
          }
        });
      }
      if (flows.some((other) => other.name === name))
        problems.push(`flows[${index}].name: "${name}" is used by another flow`);
      const group = (f('group') as string) || `kafka-mirror.${name.replace('->', '-')}`;
      if ((f('transaction.intervalMs') as number) >= (f('transaction.timeoutMs') as number))
        problems.push(
          `flows[${index}].transaction.intervalMs: must be below transaction.timeoutMs (the coordinator would abort every transaction)`,
        );
      const positionsTopic = positionsTopicOf(group);
      if (positionsTopic.length > 249)
        problems.push(
          `flows[${index}].group: too long for exactly-once delivery (its positions topic name would exceed 249 characters)`,
        );
      flows.push({
        name,
        source,
        target,
        group,
        topics: { include, exclude: exclude.map(String) },
        naming: f('naming') as FlowConfig['naming'],
        stackPrefixes: f('stackPrefixes') as boolean,
        startFrom: f('startFrom') as FlowConfig['startFrom'],
        refreshIntervalMs: f('refreshIntervalMs') as number,
        commitIntervalMs: f('commitIntervalMs') as number,
        maxBytesPerSecond: sizeOf(f('maxBytesPerSecond')),
        replicationFactor: f('replicationFactor') as number,
        topicConfigs: f('topicConfigs') as string[],
        delivery: f('delivery') as FlowConfig['delivery'],
        transaction: {
          maxRecords: f('transaction.maxRecords') as number,
          maxBytes: sizeOf(f('transaction.maxBytes')),
          intervalMs: f('transaction.intervalMs') as number,
          timeoutMs: f('transaction.timeoutMs') as number,
          positionsTopic,
        },
        groupOffsetSync: {
          enabled: f('groupOffsetSync.enabled') as boolean,
          include: groupInclude.map(String),
          exclude: groupExclude.map(String),
          intervalMs: f('groupOffsetSync.intervalMs') as number,
        },
      });
    });
  }

  for (const { first, second, example } of flowOverlaps(flows)) {
    const [a, b] = [flows[first], flows[second]] as [FlowConfig, FlowConfig];
    problems.push(
      `flows[${second}] ("${b.name}") and flows[${first}] ("${a.name}") both copy topics from ${a.source} to ${a.target} (such as ${example}): every record would be written twice; give them disjoint topics.include and topics.exclude`,
    );
  }

  if (problems.length > 0) throw new ConfigError(source, problems);
  const get = <T>(key: string) => top(key as never) as T;
  return deepFreeze({
    clusters,
    flows,
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
  });
}

/**
 * convict cannot read a nested key whose parent is not a mapping (`tls:` left empty is null):
 * such a value is reported under its key, never echoed (it may be a secret), and left out.
 */
function withMappings(entry: unknown, keys: readonly string[], prefix: string, problems: string[]): unknown {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return entry;
  const copy = { ...(entry as Record<string, unknown>) };
  for (const key of keys) {
    const value = copy[key];
    if (key in copy && (value === null || typeof value !== 'object' || Array.isArray(value))) {
      problems.push(`${prefix}${key}: must be a mapping`);
      delete copy[key];
    }
  }
  return copy;
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
    return { mechanism, username, password, passwordEnv: name };
  }
  return { mechanism, username, password };
}

/** Loads `value` into a convict instance of `schema`; problems are collected with their key path. */
function validated(
  schema: object,
  value: unknown,
  prefix: string,
  problems: string[],
  env: NodeJS.ProcessEnv = {},
): Getter {
  const config = convict(schema as convict.Schema<unknown>, { env, args: [] });
  const get: Getter = (key) => (config as unknown as { get(key: string): unknown }).get(key);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    problems.push(`${prefix.replace(/\.$/, '')}: must be a mapping`);
    return get;
  }
  try {
    config.load(value);
    config.validate({ allowed: 'strict' });
  } catch (error) {
    for (const line of (error as Error).message.split('\n')) {
      const undeclared = /configuration param '(.+)' not declared in the schema/.exec(line);
      const overridden = /configuration param '(.+)' missing from config, did you override its parent\?/.exec(
        line,
      );
      if (undeclared?.[1] !== undefined && overridden === null) {
        // A mapping where a value belongs reports its inner keys as unknown: once is enough.
        if (
          !problems.some((p) =>
            p.startsWith(`${prefix}${undeclared[1]?.replace(/\.[^.]+$/, '')}: must be a value`),
          )
        )
          problems.push(`${prefix}${undeclared[1]}: unknown key${didYouMean(schema, undeclared[1])}`);
      } else if (overridden?.[1] !== undefined) {
        problems.push(`${prefix}${overridden[1]}: must be a value, not a mapping`);
      } else {
        const problem = line.replace(/: value was .*$/, '');
        // The environment wins over the file: a bad value of a key with a variable set came from it.
        const variable = envName(problem.split(':')[0] ?? '');
        const fromEnv = prefix === '' && env[variable] !== undefined ? ` (from ${variable})` : '';
        problems.push(`${prefix}${problem}${fromEnv}`);
      }
    }
  }
  return get;
}

const isLeaf = (node: unknown) =>
  typeof node === 'object' && node !== null && 'doc' in node && 'default' in node;

/** Paths of every key of a schema. */
function keyPaths(schema: object, prefix = ''): string[] {
  return Object.entries(schema).flatMap(([key, node]: [string, unknown]) =>
    isLeaf(node) ? [`${prefix}${key}`] : keyPaths(node as object, `${prefix}${key}.`),
  );
}

/**
 * "; did you mean X?" for an unknown key path of a schema: the closest key beside the first
 * unknown part, or else where keys of that exact name live (`maxBytes` at the top level).
 */
function didYouMean(schema: object, path: string): string {
  let node = schema as Record<string, unknown>;
  for (const part of path.split('.')) {
    const inner = node[part];
    if (inner === undefined) {
      const sibling = closest(part, Object.keys(node));
      if (sibling !== undefined) return `; did you mean ${sibling}?`;
      const elsewhere = keyPaths(schema).filter((p) => p.split('.').at(-1) === part);
      return elsewhere.length > 0 ? `; did you mean ${elsewhere.slice(0, 3).join(' or ')}?` : '';
    }
    if (isLeaf(inner)) return '';
    node = inner as Record<string, unknown>;
  }
  return '';
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
