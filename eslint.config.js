import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/ and what each may import besides itself (docs/architecture.md). A folder is a
 * layer; `errors` and `version.ts` are leaves; `cli.ts` is the entry point and may import
 * anything, `cli/` (its commands) anything but `cli.ts`. test/unit/layers.test.ts checks the same
 * table over the import graph, and that it has no cycle.
 */
/** What the adapters and everything above them may import. */
const belowOffsets = ['errors', 'version.ts', 'protocol', 'config', 'observability', 'replication', 'kafka'];
export const layers = {
  errors: [],
  'version.ts': [],
  protocol: ['errors'],
  config: ['errors', 'protocol'],
  observability: ['errors', 'config'],
  replication: ['errors', 'protocol', 'config', 'observability'],
  kafka: ['errors', 'version.ts', 'protocol', 'config', 'observability', 'replication'],
  offsets: belowOffsets,
  tools: [...belowOffsets, 'offsets'],
  daemon: [...belowOffsets, 'offsets'],
  // The commands of the command line; only cli.ts imports them.
  cli: [...belowOffsets, 'offsets', 'tools', 'daemon'],
  'cli.ts': [...belowOffsets, 'offsets', 'tools', 'daemon', 'cli'],
  // The package's programmatic entry point (package.json "exports"); nothing in src/ imports it.
  'index.ts': [...belowOffsets, 'offsets'],
};
/** Layers that must not import the Kafka client: pure bytes, configuration and the replication core. */
const clientFree = ['protocol', 'config', 'observability', 'replication'];

const folders = Object.keys(layers).filter((layer) => !layer.endsWith('.ts'));
const escape = (name) => name.replace(/[.]/g, '\\.');
/** One no-restricted-imports block per layer: any layer it may not import, by folder or file name. */
const layerRules = folders.map((layer) => {
  const forbidden = Object.keys(layers).filter((other) => other !== layer && !layers[layer].includes(other));
  const names = forbidden.map((other) =>
    other.endsWith('.ts') ? `\\.\\./${escape(other)}$` : `(^|/)${other}/`,
  );
  const patterns = [
    {
      regex: `(${names.join('|')})`,
      message: `src/${layer} may import only ${layers[layer].join(', ')} (docs/architecture.md).`,
    },
  ];
  if (clientFree.includes(layer))
    patterns.push({
      regex: '^kafkajs(/|$)',
      message: `src/${layer} imports no Kafka client (docs/architecture.md).`,
    });
  return { files: [`src/${layer}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
});

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', '.cache/', 'coverage/'] },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only (STYLE.md).' },
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object (erasable syntax, STYLE.md).' },
      ],
    },
  },
  {
    // Functions that read as one step each (issue 21): a longer one is a sign of two steps.
    files: ['src/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 60, skipBlankLines: true, skipComments: true }] },
  },
  ...layerRules,
  prettier,
);
