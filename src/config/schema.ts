// The configuration schema: the single source of truth for every key, its default and its
// documentation. Three parts, each validated strictly by convict: the top level, one schema per
// cluster entry and one per flow entry (convict has no schema for maps and lists of objects). The
// flow entry's is in flow-schema.ts, exported here with the others.
//
// The formats' validators throw plain Errors: that is convict's contract for a format (it catches
// them and their message becomes a problem line, with the key path, of the KM_CONFIG error that
// load.ts throws). They are no error kafka-mirror reports as such (docs/errors.md).
import { parseSize, SIZE_ABOVE_ZERO } from './sizes.ts';
import { oauthbearerSchema } from './oauthbearer.ts';

export { flowSchema } from './flow-schema.ts';

const coerceInt = (value: unknown) =>
  typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;

const size = {
  name: 'size',
  validate: (value: unknown) => void parseSize(value),
  coerce: coerceInt,
};

/** A byte budget or limit: 0 would stop the daemon from fetching, queueing or writing anything. */
const positiveSize = {
  name: 'positive-size',
  validate: (value: unknown) => {
    if (parseSize(value) === 0) throw new Error(SIZE_ABOVE_ZERO);
  },
  coerce: coerceInt,
};

const positiveInt = {
  name: 'positive-int',
  validate: (value: unknown) => {
    if (!Number.isSafeInteger(value) || (value as number) <= 0) throw new Error('must be a positive integer');
  },
  coerce: coerceInt,
};

/** Node's timers take at most 2^31-1 ms; a longer one fires after 1 ms (with a TimeoutOverflowWarning). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Milliseconds of a timeout or interval. */
const duration = {
  name: 'milliseconds',
  validate: (value: unknown) => {
    if (!Number.isSafeInteger(value) || (value as number) <= 0 || (value as number) > MAX_DURATION_MS)
      throw new Error(
        `must be a positive integer of milliseconds, at most ${MAX_DURATION_MS} (about 24.8 days: Node fires a longer timer after 1 ms)`,
      );
  },
  coerce: coerceInt,
};

/** An interval that can be off: 0, or milliseconds as `duration`. */
const durationOrOff = {
  name: 'milliseconds-or-0',
  validate: (value: unknown) => {
    if (value !== 0) duration.validate(value);
  },
  coerce: coerceInt,
};

/** Above this, a replication factor is a typo rather than a plan: 16 copies of every record. */
export const MAX_REPLICATION_FACTOR = 16;

/** -1 (the target's default.replication.factor) or a number of copies; plan and start compare it with the target's brokers. */
const replicationFactor = {
  name: 'replication-factor',
  validate: (value: unknown) => {
    const n = value as number;
    if (!Number.isSafeInteger(n) || (n !== -1 && (n < 1 || n > MAX_REPLICATION_FACTOR)))
      throw new Error(
        `must be -1 (the target's default) or from 1 to ${MAX_REPLICATION_FACTOR}, and at most the target's broker count`,
      );
  },
  coerce: coerceInt,
};

/** Produce requests in flight per partition: a broker keeps the last 5 batches of an idempotent producer per partition. */
const inFlight = {
  name: 'in-flight',
  validate: (value: unknown) => {
    if (!Number.isSafeInteger(value) || (value as number) < 1 || (value as number) > 5)
      throw new Error('must be an integer from 1 to 5');
  },
  coerce: coerceInt,
};

const stringList = {
  name: 'string-list',
  validate: (value: unknown) => {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
      throw new Error('must be a list of non-empty strings');
    }
  },
};

/**
 * Strict yes/no. convict's Boolean turns every string but "false" into true, and YAML 1.2 reads
 * `no` and `off` as strings, so `enabled: no` would switch a feature on. Environment overrides
 * arrive as strings: only "true" and "false" are taken.
 */
const bool = {
  name: 'bool',
  validate: (value: unknown) => {
    if (typeof value !== 'boolean') throw new Error('must be true or false');
  },
  coerce: (value: unknown) => (value === 'true' ? true : value === 'false' ? false : value),
};

/** Bearer tokens of /control/ are refused below this length: a short one can be guessed. */
export const MIN_CONTROL_TOKEN_LENGTH = 16;

/** A JSON list given as an environment override; anything else is left for validate to refuse. */
const jsonList = (value: unknown) => {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
};

/** admin.control.tokens: where each token is read from (never the token itself). */
const controlTokens = {
  name: 'control-tokens',
  validate: (value: unknown) => {
    if (!Array.isArray(value)) throw new Error('must be a list of { name, file } or { name, env }');
    value.forEach((entry: unknown, i) => {
      const e = (entry ?? {}) as Record<string, unknown>;
      const keys = typeof entry === 'object' && entry !== null ? Object.keys(e) : [];
      if (typeof e['name'] !== 'string' || !/^[A-Za-z0-9._-]+$/.test(e['name']))
        throw new Error(`[${i}].name: required, letters, digits, ".", "_" and "-"`);
      const sources = keys.filter((k) => k === 'file' || k === 'env');
      if (sources.length !== 1 || typeof e[sources[0] ?? ''] !== 'string' || e[sources[0] ?? ''] === '')
        throw new Error(`[${i}]: give exactly one of file, env (a token is never written in the config)`);
      const unknown = keys.find((k) => !['name', 'file', 'env'].includes(k));
      if (unknown !== undefined) throw new Error(`[${i}].${unknown}: unknown key (name, file, env)`);
    });
  },
  coerce: jsonList,
};

export const formats = [
  controlTokens,
  size,
  positiveSize,
  positiveInt,
  duration,
  replicationFactor,
  inFlight,
  stringList,
  bool,
  durationOrOff,
];

const topLevel = {
  clusters: {
    doc: 'Kafka clusters by alias (`us`, `asia`); each entry is a cluster (see the cluster keys).',
    format: Object,
    default: {},
  },
  flows: {
    doc: 'Replication flows, one per direction `source -> target` (see the flow keys).',
    format: Array,
    default: [],
  },
  queue: {
    maxRecords: {
      doc: 'Records buffered between source fetch and target write, per flow. When full, fetching pauses.',
      format: 'positive-int',
      default: 100_000,
    },
    maxBytes: {
      doc: 'Memory of the records buffered per flow, held encoded as they will be written (keys, values, headers, record framing) plus 12 bytes per record and 4 KiB per chunk of up to producer.maxRequestBytes. When full, fetching pauses. Size the V8 heap to the budgets: docs/operations.md, Memory.',
      format: 'positive-size',
      default: '64MiB',
    },
  },
  consumer: {
    maxBytes: {
      doc: 'Memory one fetch from the source may bring in, decoded (payload plus 512 bytes per record and 144 per header for the objects that hold them). The daemon asks the broker for this divided by how much the data expands when decoded (compression, object overhead), measured on every batch, and decompresses at most this much of the compressed batches of a fetch (and one batch more), leaving the rest to the next fetch; soft: a broker always returns at least one record batch, and one is always decoded.',
      format: 'positive-size',
      default: '8MiB',
    },
    maxBytesPerPartition: {
      doc: 'Memory per partition in one fetch, decoded (sized like consumer.maxBytes). Large values suit long, fast links.',
      format: 'positive-size',
      default: '2MiB',
    },
    maxWaitMs: {
      doc: 'How long the source broker may hold a fetch waiting for data.',
      format: 'milliseconds',
      default: 500,
    },
    sessionTimeoutMs: {
      doc: 'Source consumer-group session timeout: how long before a silent instance loses its partitions.',
      format: 'milliseconds',
      default: 30_000,
    },
  },
  producer: {
    compression: {
      doc: 'Compression of batches written to the target. source (the default): each batch with the codec its records had on the source, as their producer chose (a compressed topic stays compressed across the link, an uncompressed one costs no CPU to compress). A codec name compresses everything with it: lz4 is cheap on CPU and suits uncompressed topics on a slow link.',
      format: ['source', 'none', 'gzip', 'snappy', 'lz4', 'zstd'],
      default: 'source',
    },
    maxRequestBytes: {
      doc: "Upper bound of record bytes in one produce request for one partition (records are split across requests above it). Keep below the target topics' max.message.bytes.",
      format: 'positive-size',
      default: '960KiB',
    },
    concurrency: {
      doc: 'Produce requests in flight at once per flow, across partitions.',
      format: 'positive-int',
      default: 32,
    },
    maxInFlightPerPartition: {
      doc: "Produce requests in flight at once per target partition (1 to 5). At-least-once flows: above 1 the writes are idempotent: each partition's requests carry a producer id and sequence numbers, so the target appends them in order whatever is retried, and a retried request the target already has is not written twice. Several requests per round trip are what fill a long link. 1: one request at a time, without a producer id (for a target that refuses InitProducerId: before Kafka 3.0 it needs the IDEMPOTENT_WRITE permission). Exactly-once flows always write under their lane's transactional id, with up to this many requests in flight within a transaction (sequence numbers keep the order); the transaction commits once every one of them is acknowledged.",
      format: 'in-flight',
      default: 5,
    },
    requestTimeoutMs: {
      doc: 'How long the target may take to acknowledge a produce request (acks=all).',
      format: 'milliseconds',
      default: 30_000,
    },
  },
  shutdown: {
    timeoutMs: {
      doc: 'On SIGTERM: time allowed to stop fetching, drain the queue, flush and commit (flows still connecting included) before the daemon gives up; closing connections then takes at most 5 s more. Give orchestrators a grace period above both.',
      format: 'milliseconds',
      default: 30_000,
    },
  },
  heartbeats: {
    enabled: {
      doc: "Write a heartbeat record to each flow's source cluster (topic `kafka-mirror.heartbeats`, created with one partition) and replicate it, so replication latency is measured while user traffic is idle. Needs permission to create and write that topic.",
      format: 'bool',
      default: true,
    },
    intervalMs: {
      doc: 'Time between heartbeats of a flow.',
      format: 'milliseconds',
      default: 5000,
    },
  },
  metrics: {
    lagIntervalMs: {
      doc: "How often each flow reads the source's log-end and committed offsets for `kafka_mirror_lag_records`, the progress log and /status.",
      format: 'milliseconds',
      default: 10_000,
    },
  },
  admin: {
    host: {
      doc: 'Bind address of the admin HTTP server (/metrics, /healthz, /readyz, /status).',
      format: String,
      default: '0.0.0.0',
    },
    port: {
      doc: 'Port of the admin HTTP server (0 picks a free port).',
      format: 'port',
      default: 9464,
    },
    stallTimeoutMs: {
      doc: 'A flow whose oldest write has waited this long for the target is not ready (/readyz 503, `kafka_mirror_flow_ready` 0): the target is down, unreachable or far too slow.',
      format: 'milliseconds',
      default: 30_000,
    },
    tls: {
      cert: {
        doc: 'PEM certificate (chain) of the admin server. With `admin.tls.key`, the admin server speaks HTTPS only (metrics scrapes, probes, `kafka-mirror status` and the control verbs included). Both files are read at start and again whenever they change (checked every 10 s), so a renewed certificate is served to new connections without a restart.',
        format: String,
        default: '',
      },
      key: {
        doc: 'PEM private key of `admin.tls.cert` (unencrypted). Masked by value in every output.',
        format: String,
        default: '',
      },
      ca: {
        doc: 'PEM CA certificate(s) that `kafka-mirror status` and the control verbs trust for the admin server when they take its address from this config. Empty: the system CAs and `admin.tls.cert` itself (a self-signed certificate).',
        format: String,
        default: '',
      },
    },
    control: {
      enabled: {
        doc: 'Serve the mutating endpoints under /control/ (pause, resume, resume halted partitions, log level, topic refresh; docs/operations.md, Control). Needs at least one token in `admin.control.tokens`. While off, /control/ answers 403 saying how to turn it on.',
        format: 'bool',
        default: false,
      },
      tokens: {
        doc: `Bearer tokens that may call /control/: a list of \`{ name, file }\` or \`{ name, env }\`. The token is read at load from the file (a mounted Secret) or the environment variable, surrounding whitespace removed, and must be at least ${MIN_CONTROL_TOKEN_LENGTH} characters, without whitespace inside. \`name\` (letters, digits, \`.\`, \`_\`, \`-\`) names the caller in logs and in \`kafka_mirror_control_requests_total\`; the token itself is never logged nor shown. As an environment override, a JSON list.`,
        format: 'control-tokens',
        default: [] as Array<{ name: string; file?: string; env?: string }>,
      },
    },
  },
  log: {
    level: {
      doc: 'Log level.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace'],
      default: 'info',
    },
    pretty: {
      doc: 'Human-readable log lines instead of JSON (for terminals, not for production). Needs pino-pretty, a development dependency: where it is not installed (the container image) the daemon writes JSON lines and warns once.',
      format: 'bool',
      default: false,
    },
  },
  reload: {
    watch: {
      doc: 'Reload the config when its file changes, as SIGHUP does (docs/operations.md, Reloading the configuration). The directory is watched, not the file: a Kubernetes ConfigMap mount swaps its `..data` symlink instead of writing the file. A reload happens only when the content changed.',
      format: 'bool',
      default: false,
    },
    debounceMs: {
      doc: 'With reload.watch: how long the directory must be quiet after a change before the file is read (an editor or a ConfigMap update touches several files).',
      format: 'milliseconds',
      default: 1000,
    },
  },
};

/** `queue.maxBytes` -> `KAFKA_MIRROR_QUEUE_MAX_BYTES`. */
export function envName(path: string): string {
  return `KAFKA_MIRROR_${path
    .replace(/\./g, '_')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()}`;
}

/**
 * Every scalar top-level setting can be overridden by an environment variable named after its
 * path (the environment wins over the file). Clusters and flows are lists and maps: their
 * secrets come from `passwordEnv` and files instead.
 */
function withEnv<T extends object>(schema: T, prefix = ''): T {
  for (const [key, value] of Object.entries(schema) as Array<[string, Record<string, unknown>]>) {
    if (key === 'clusters' || key === 'flows') continue;
    if ('doc' in value && 'default' in value) value['env'] = envName(`${prefix}${key}`);
    else withEnv(value, `${prefix}${key}.`);
  }
  return schema;
}

export const topLevelSchema = withEnv(topLevel);

export const clusterSchema = {
  bootstrapServers: {
    doc: 'Bootstrap brokers, `host:port`.',
    format: 'string-list',
    default: [] as string[],
  },
  clientId: {
    doc: 'Client id sent to the brokers (defaults to `kafka-mirror`).',
    format: String,
    default: 'kafka-mirror',
  },
  connectionTimeoutMs: { doc: 'TCP connect timeout.', format: 'milliseconds', default: 10_000 },
  tls: {
    enabled: {
      doc: 'Connect with TLS. Implied when `ca`, `cert` or `key` is set; alone, the system CAs verify the brokers.',
      format: 'bool',
      default: false,
    },
    ca: {
      doc: 'PEM file of the CA certificates that verify the brokers (replaces the system CAs). Read again when it changes, checked at each new connection: no restart to rotate it (docs/operations.md, Rotating credentials).',
      format: String,
      default: '',
    },
    cert: {
      doc: 'PEM file of the client certificate, for mutual TLS (with `key`). Read again when it changes, checked at each new connection; open connections keep the certificate they presented.',
      format: String,
      default: '',
    },
    key: {
      doc: 'PEM file of the client private key, for mutual TLS (with `cert`). Read at start and again when it changes (checked at each new connection); its content is never logged. Replace `cert` and `key` together, each by a rename.',
      format: String,
      default: '',
    },
  },
  sasl: {
    mechanism: {
      doc: 'SASL authentication: `none`, `plain`, `scram-sha-256`, `scram-sha-512` or `oauthbearer` (settings under `oauthbearer`). Use with TLS: PLAIN sends the password as is.',
      format: ['none', 'plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'],
      default: 'none',
    },
    username: { doc: 'SASL user name.', format: String, default: '' },
    password: {
      doc: 'SASL password, inline. Prefer `passwordFile` or `passwordEnv` so the config file holds no secret.',
      format: String,
      default: '',
      sensitive: true,
    },
    passwordFile: {
      doc: 'File whose content (trailing newline removed) is the SASL password, such as a mounted Kubernetes Secret. Read again when it changes, checked at each new login: new connections use the new password, open ones stay logged in (docs/operations.md, Rotating credentials). An empty or missing file keeps the previous password.',
      format: String,
      default: '',
    },
    passwordEnv: {
      doc: 'Name of the environment variable that holds the SASL password. Read once at start: a process cannot see its environment change, so rotating it needs a restart (use `passwordFile` to rotate without one).',
      format: String,
      default: '',
    },
    oauthbearer: oauthbearerSchema,
  },
};
