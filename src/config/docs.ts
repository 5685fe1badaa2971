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

export function renderConfigDocs(): string {
  return `# Configuration

<!-- Generated from src/config/schema.ts by \`npm run docs:config\`; do not edit by hand. -->

One YAML or JSON file, validated strictly at start (\`kafka-mirror validate --config <file>\` checks
it offline): unknown keys are errors, and every problem is reported at once with its key path
(exit code 2). Sizes take a number of bytes or a string such as \`"64MiB"\`, \`"512KiB"\`, \`"10MB"\`.
Environment variables override the keys that name one. Example: \`config/active-passive.yaml\`.

## Top level

${HEADER}
${rows(topLevelSchema, '').join('\n')}

## \`clusters.<alias>\`

An alias is letters, digits, \`-\` and \`_\`; it names the cluster in flows, topic prefixes and
provenance headers.

${HEADER}
${rows(clusterSchema, 'clusters.<alias>.').join('\n')}

## \`flows[]\`

${HEADER}
${rows(flowSchema, 'flows[].').join('\n')}
`;
}
