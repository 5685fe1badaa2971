// docs/configuration.md is generated from the schema (`npm run docs:config`); a unit test fails
// when the file is stale, so the schema stays the single source of truth for every key.
import { clusterSchema, flowSchema, topLevelSchema } from './schema.ts';

interface Leaf {
  doc: string;
  format: unknown;
  default: unknown;
  env?: string;
}

function isLeaf(node: unknown): node is Leaf {
  return typeof node === 'object' && node !== null && 'doc' in node && 'default' in node;
}

function formatName(format: unknown): string {
  if (Array.isArray(format)) return format.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (typeof format === 'function') return format.name.toLowerCase();
  return String(format);
}

function rows(schema: object, prefix: string): string[] {
  return Object.entries(schema).flatMap(([key, node]: [string, unknown]) => {
    const path = `${prefix}${key}`;
    if (!isLeaf(node)) return rows(node as object, `${path}.`);
    const env = node.env === undefined ? '' : `\`${node.env}\``;
    return [
      `| \`${path}\` | ${formatName(node.format)} | \`${JSON.stringify(node.default)}\` | ${env} | ${node.doc} |`,
    ];
  });
}

const HEADER = '| key | format | default | environment | meaning |\n| --- | --- | --- | --- | --- |';

/** docs/configuration.md: its sections, a blank line between each. */
export function renderConfigDocs(): string {
  const sections = [introduction, keyTables, sameClustersFlows, secrets, crossDatacenterDefaults];
  return sections.map((section) => section()).join('\n\n');
}

/** The title, how the file is validated and the formats of values. */
function introduction(): string {
  return `# Configuration

<!-- Generated from src/config/schema.ts by \`npm run docs:config\`; do not edit by hand. -->

One YAML or JSON file, validated strictly at start (\`kafka-mirror validate --config <file>\` checks
it offline): unknown keys are errors (with the key probably meant: "did you mean ...?"), and every
problem is reported at once with its key path (exit code 2); a YAML syntax error points at the line
where the unclosed bracket or quote opens. Environment variables override the keys that name one;
a bad value from a variable is reported with the variable's name, and a \`KAFKA_MIRROR_*\` variable
that is no setting is warned about (a typo would otherwise be ignored). Example:
\`config/active-passive.yaml\`.

Formats:

- \`size\`: a number of bytes or a string such as \`"64MiB"\`, \`"512KiB"\`, \`"10MB"\`;
  \`positive-size\`: the same, above 0.
- \`milliseconds\`: a whole number from 1 to 2147483647 (about 24.8 days): Node fires a longer
  timer after 1 ms, so larger values are refused; \`milliseconds-or-0\`: the same, or 0 (off).
- \`replication-factor\`: -1 (the target cluster's \`default.replication.factor\`) or 1 to 16.
  Offline, \`validate\` cannot know the target's brokers; \`kafka-mirror plan\` reports a factor above
  the target's broker count as a conflict (exit 2) and the daemon logs it at start.
- \`positive-int\`: a whole number above 0; \`bool\`: \`true\` or \`false\`.

\`validate\` also warns (exit code still 0) when the V8 heap limit of the process, as set by
\`NODE_OPTIONS\`, is below what the flows need (the flows' queue budgets + 64 MiB,
docs/operations.md, Memory), and when \`log.pretty\` is set where pino-pretty is not installed
(the container image: the daemon then writes JSON lines).`;
}

/** One table of keys each for the top level, a cluster and a flow. */
function keyTables(): string {
  return `## Top level

${HEADER}
${rows(topLevelSchema, '').join('\n')}

## \`clusters.<alias>\`

An alias is letters, digits, \`-\` and \`_\`; it names the cluster in flows, topic prefixes and
provenance headers.

${HEADER}
${rows(clusterSchema, 'clusters.<alias>.').join('\n')}

## \`flows[]\`

${HEADER}
${rows(flowSchema, 'flows[].').join('\n')}`;
}

/** Why two flows between the same clusters may not copy the same topic. */
function sameClustersFlows(): string {
  return `### Flows between the same clusters

Several flows may run between one source and one target (different tuning, \`exactly-once\` for
some topics), but never for the same topic: each flow has its own consumer group, so a topic two
flows select is copied twice and every record lands twice on the target. \`validate\` refuses two
flows with the same source and target when it can tell offline, naming both flows and a pattern
they share:

- a literal include of one flow (a name without regular-expression syntax, such as \`payments\` or
  \`orders\\.eu\`) that both flows select, their excludes applied;
- or the same include pattern in both flows, when neither flow excludes that same pattern.

Different regular expressions that select some names in common (\`orders\\..*\` and \`.*\\.eu\`) are
not compared offline: \`kafka-mirror plan\` checks the topics that exist and reports each topic two
flows would copy as a conflict (exit 2). Give such flows disjoint \`topics.include\` and
\`topics.exclude\`.`;
}

/** How passwords and TLS keys stay out of the file. */
function secrets(): string {
  return `## Secrets

No secret needs to be in the file. For SASL give exactly one of \`sasl.password\` (inline),
\`sasl.passwordFile\` (a file whose content is the password, such as a mounted Kubernetes Secret;
one trailing newline is removed) or \`sasl.passwordEnv\` (the name of an environment variable).
TLS keys and certificates are files (\`tls.ca\`, \`tls.cert\`, \`tls.key\`). The password file and
the TLS files are read again whenever they change (checked at each new connection), so rotating them
needs no restart (docs/operations.md, Rotating credentials). Paths are relative to the daemon's working directory; use absolute paths in deployments.
Secrets never appear in logs, metrics, \`/status\` or error messages.`;
}

/** Why the defaults suit a replicator reading the source across a long link. */
function crossDatacenterDefaults(): string {
  return `## Defaults for cross-datacenter links

The defaults assume a replicator next to the target cluster, reading the source across a long
link (tens to hundreds of milliseconds):

- **Fetch large, wait briefly**: \`consumer.maxBytes\` 8 MiB per fetch and
  \`consumer.maxBytesPerPartition\` 2 MiB fill a long link's pipe with few round trips. Both
  count decoded memory (uncompressed 1 KiB records take about 1.5 times their wire size, 100-byte
  records about 5 times, compressed data more): the daemon asks the broker for proportionally
  fewer wire bytes, so on a long link with small or well-compressed records raise them (memory
  grows by the same amount);
  \`consumer.maxWaitMs\` 500 ms bounds the latency a quiet topic adds.
- **Keep the source's compression**: \`producer.compression\` \`source\` writes each batch with
  the codec its records had on the source: a compressed topic stays compressed across the link,
  and an uncompressed one costs no CPU to compress (the replicator and the target broker, which
  decompresses every batch to validate it, each spent about a fifth of a copy's CPU on lz4 that
  saved nothing on incompressible data; docs/performance.md). Set \`lz4\` for uncompressed topics
  on a slow or metered link.
- **Many writes in flight, one per partition**: \`producer.concurrency\` 32 requests at once across
  partitions, never two for one partition (a retry cannot reorder); requests of up to
  \`producer.maxRequestBytes\` 960 KiB keep each one under a target's default
  \`max.message.bytes\` (1 MiB) while moving as much as a round trip allows: over a 100 ms link,
  960 KiB requests moved twice the records per second of 512 KiB ones (docs/performance.md). A
  topic with a lower \`max.message.bytes\` refuses such a request; the writer then splits it in
  halves until it fits (lower the setting to avoid the retries).
- **Patient timeouts**: \`producer.requestTimeoutMs\` 30 s and \`consumer.sessionTimeoutMs\` 30 s ride
  out a slow or briefly broken link without a rebalance; \`clusters.<alias>.connectionTimeoutMs\`
  10 s allows for a distant handshake (TLS and SASL included).
- **Commit often**: \`flows[].commitIntervalMs\` 5 s bounds the duplicates after a crash.
- **Memory**: \`queue.maxBytes\` 64 MiB per flow is enough to keep a 100 ms link busy at a few
  hundred MB/s; size the heap with it (docs/operations.md, Memory).
- Sockets are plain TCP with the operating system's keep-alive and buffer sizes; on a high
  bandwidth-delay link raise the hosts' TCP buffer limits (\`net.core.rmem_max\`, \`net.ipv4.tcp_rmem\`).
`;
}
