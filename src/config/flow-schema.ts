// The schema of one flow entry (`flows: [...]`), part of the configuration schema (schema.ts, which
// exports it with the others and defines the formats named here by their names).
export const flowSchema = {
  name: {
    doc: 'Flow id, used in the consumer group, metrics and logs. Defaults to `<source>-><target>`.',
    format: String,
    default: '',
  },
  source: { doc: 'Alias of the source cluster.', format: String, default: '' },
  target: { doc: 'Alias of the target cluster.', format: String, default: '' },
  group: {
    doc: 'Consumer group on the source. Defaults to `kafka-mirror.<source>-<target>` (from the flow name).',
    format: String,
    default: '',
  },
  topics: {
    include: {
      doc: 'Regular expressions; a source topic is replicated when one matches the whole name.',
      format: 'string-list',
      default: ['.*'],
    },
    exclude: {
      doc: 'Regular expressions; a topic matching one (whole name) is never replicated. Exclude wins over include. Topics starting with `__` are never replicated.',
      format: 'string-list',
      default: [] as string[],
    },
  },
  naming: {
    doc: '`identity` keeps topic names; `prefix` names the remote topic `<source>.<topic>`.',
    format: ['identity', 'prefix'],
    default: 'identity',
  },
  stackPrefixes: {
    doc: 'With `prefix` naming, also prefix topics that already carry a cluster alias (`asia.us.orders` instead of keeping `us.orders`).',
    format: 'bool',
    default: false,
  },
  startFrom: {
    doc: 'Where a new consumer group starts: `earliest` copies the existing backlog, `latest` only new records.',
    format: ['earliest', 'latest'],
    default: 'earliest',
  },
  refreshIntervalMs: {
    doc: 'How often source topics are listed to pick up new matching topics and partitions.',
    format: 'milliseconds',
    default: 30_000,
  },
  commitIntervalMs: {
    doc: 'How often the acknowledged watermark is committed to the source group (also on rebalance and shutdown).',
    format: 'milliseconds',
    default: 5000,
  },
  maxBytesPerSecond: {
    doc: 'Bandwidth cap of the flow, in record bytes (key, value, headers, before compression) per second, for links shared with other traffic; bursts up to one second of it. 0 = no cap.',
    format: 'size',
    default: 0,
  },
  replicationFactor: {
    doc: "Replication factor of topics created on the target: -1 uses the target cluster's default, otherwise 1 to 16 and at most the target's broker count (`plan` and start compare it with the brokers the target has).",
    format: 'replication-factor',
    default: -1,
  },
  delivery: {
    doc: '`at-least-once` writes with acks=all and commits to the source group after the target acknowledged (a crash replays a little). `exactly-once` writes each partition in Kafka transactions on the target, with the source position in the same transaction; read_committed consumers of the target then see every record once (docs/exactly-once.md).',
    format: ['at-least-once', 'exactly-once'],
    default: 'at-least-once',
  },
  transaction: {
    maxRecords: {
      doc: 'Exactly-once: a partition commits its transaction once it holds this many records.',
      format: 'positive-int',
      default: 50_000,
    },
    maxBytes: {
      doc: 'Exactly-once: a partition commits its transaction once it holds this many record bytes.',
      format: 'positive-size',
      default: '32MiB',
    },
    intervalMs: {
      doc: "Exactly-once: a partition's open transaction is committed at the latest this long after it began. Read_committed consumers of the target see records only once committed, so this bounds the latency it adds under load.",
      format: 'milliseconds',
      default: 1000,
    },
    idleCommitMs: {
      doc: "Exactly-once: a partition with nothing more to write (every write of its transaction acknowledged, none waiting) commits once its transaction is this old, without waiting for intervalMs: the latency a light load sees. Each such partition commits up to 1000/idleCommitMs times a second; with many partitions at low rates raise it (intervalMs or more turns it off). 100 ms is Kafka Streams' commit.interval.ms under exactly-once.",
      format: 'milliseconds',
      default: 100,
    },
    timeoutMs: {
      doc: "Exactly-once: the transaction timeout given to the target's coordinator, which aborts a transaction open longer (a frozen or cut-off instance). At most the brokers' transaction.max.timeout.ms.",
      format: 'milliseconds',
      default: 60_000,
    },
  },
  groupOffsetSync: {
    enabled: {
      doc: 'Translate the committed source offsets of the selected consumer groups and commit them to the same groups on the target, for failover (docs/disaster-recovery.md). Only groups with no active member on the target are written, and never backwards.',
      format: 'bool',
      default: false,
    },
    include: {
      doc: 'Regular expressions; a consumer group is synced when one matches its whole id. The groups of kafka-mirror flows are never synced.',
      format: 'string-list',
      default: ['.*'],
    },
    exclude: {
      doc: 'Regular expressions; a group matching one (whole id) is never synced. Exclude wins over include.',
      format: 'string-list',
      default: [] as string[],
    },
    intervalMs: {
      doc: 'How often the selected groups are synced. A failover replays at most what the groups consumed on the source in one interval.',
      format: 'milliseconds',
      default: 10_000,
    },
  },
  topicConfigs: {
    doc: 'Topic configs copied from a source topic (those it sets itself) when its remote topic is created; with `topicConfigSync.enabled`, every config the sync copies is copied at creation too, and these are copied even when `topicConfigSync.exclude` names them.',
    format: 'string-list',
    default: [
      'cleanup.policy',
      'retention.ms',
      'retention.bytes',
      'max.message.bytes',
      'compression.type',
      'min.compaction.lag.ms',
      'max.compaction.lag.ms',
      'delete.retention.ms',
      'message.timestamp.type',
      'segment.bytes',
      'segment.ms',
      'min.cleanable.dirty.ratio',
    ],
  },
  topicConfigSync: {
    enabled: {
      doc: "At every refresh, set on each remote topic the configs its source topic sets itself (not defaults), except `exclude`; a config this process set that the source no longer sets is removed, one set on the target by hand never (docs/operations.md, Topic configuration sync). As MirrorMaker 2's sync.topic.configs.enabled.",
      format: 'bool',
      default: true,
    },
    exclude: {
      doc: "Regular expressions; a topic config whose whole name matches one is never synced (nor removed). The default is MirrorMaker 2's (DefaultConfigPropertyFilter) plus message.timestamp.before/after.max.ms. Configs listed in `topicConfigs` are still copied when a remote topic is created.",
      format: 'string-list',
      // MirrorMaker 2's DefaultConfigPropertyFilter.CONFIG_PROPERTIES_EXCLUDE_DEFAULT (connect/mirror),
      // plus the two configs that replaced message.timestamp.difference.max.ms (KIP-937, Kafka
      // 3.6), for its reason: replicas carry their source timestamps, old ones too, and a target
      // that bounds them would refuse a backlog. The rest is the target cluster's business:
      // throttles of its own reassignments, durability and elections fitted to its brokers, and
      // the timestamp type (LogAppendTime on the target would replace the source timestamps).
      default: [
        'follower\\.replication\\.throttled\\.replicas',
        'leader\\.replication\\.throttled\\.replicas',
        'message\\.timestamp\\.difference\\.max\\.ms',
        'message\\.timestamp\\.type',
        'unclean\\.leader\\.election\\.enable',
        'min\\.insync\\.replicas',
        'message\\.timestamp\\.before\\.max\\.ms',
        'message\\.timestamp\\.after\\.max\\.ms',
      ],
    },
  },
  aclSync: {
    enabled: {
      doc: "At each topic refresh, copy the source's READ and DESCRIBE ACLs (literal and prefixed, ALLOW and DENY; ALL as READ) of the topics the flow replicates to their remote topic names on the target, like MirrorMaker 2's sync.topic.acls.enabled. Never WRITE, never deletes an ACL. Needs DESCRIBE on both clusters and ALTER on the target (docs/operations.md, Permissions).",
      format: 'bool',
      default: false,
    },
  },
  drill: {
    intervalMs: {
      doc: 'DR drills (docs/disaster-recovery.md, DR drills): every this long the daemon translates the positions of `groups` (or, without groups, sample positions `records` back from what the flow copied last) as a failover would, reads `records` records per partition on the target from each translated offset and compares them with the source. 0 = off. Reads only; runs on connections of its own and never overlaps itself.',
      format: 'milliseconds-or-0',
      default: 0,
    },
    groups: {
      doc: "Consumer groups (exact ids) whose committed source offsets the drill translates and checks. Empty: sample positions of the drill's own on every partition.",
      format: 'string-list',
      default: [] as string[],
    },
    records: {
      doc: 'Target records a drill reads and compares per partition, from each translated offset on.',
      format: 'positive-int',
      default: 100,
    },
  },
};
