// The layers of src/ (docs/architecture.md): every file belongs to one, imports point one way, and
// the import graph has no cycle. ESLint holds the direction file by file (eslint.config.js); this
// reads the whole graph, dynamic imports and require() included, which a lint rule does not.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../../src/', import.meta.url));
// The table lives in eslint.config.js (plain JavaScript, loaded by path so that it needs no types).
const eslintConfig = '../../eslint.config.js';
const { layers: table } = (await import(eslintConfig)) as { layers: Record<string, readonly string[]> };

/** Every .ts file under src/, relative to it. */
function sources(dir = src): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') ? [path.relative(src, file)] : [];
  });
}

/** The layer of a file: its first folder under src/, or the file itself at the top. */
const layerOf = (file: string): string => file.split(path.sep)[0] as string;

/** Relative imports (static, dynamic, re-exports) resolved to files under src/, and package specifiers. */
export function importsOf(file: string, text: string): { files: string[]; packages: string[] } {
  const specifiers = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1] as string);
  const files: string[] = [];
  const packages: string[] = [];
  for (const specifier of specifiers) {
    if (specifier.startsWith('.')) files.push(path.normalize(path.join(path.dirname(file), specifier)));
    else if (!specifier.startsWith('node:')) packages.push(specifier);
  }
  return { files, packages };
}

const graph = new Map(
  sources().map((file) => [file, importsOf(file, readFileSync(path.join(src, file), 'utf8'))] as const),
);

test('every file under src/ belongs to a layer of the table', () => {
  const unknown = [...graph.keys()].filter((file) => table[layerOf(file)] === undefined);
  assert.deepEqual(unknown, [], 'add the layer to eslint.config.js and docs/architecture.md');
});

test('imports point one way: each layer imports only the layers below it', () => {
  const violations: string[] = [];
  for (const [file, { files }] of graph) {
    const from = layerOf(file);
    for (const imported of files) {
      const to = layerOf(imported);
      if (to !== from && !(table[from] ?? []).includes(to)) violations.push(`${file} -> ${imported}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('the pure layers and the replication core load no Kafka client', () => {
  const clientFree = new Set(['protocol', 'config', 'observability', 'replication']);
  const violations = [...graph]
    .filter(([file]) => clientFree.has(layerOf(file)))
    .flatMap(([file, { packages }]) =>
      packages.filter((p) => p === 'kafkajs' || p.startsWith('kafkajs/')).map((p) => `${file} -> ${p}`),
    );
  assert.deepEqual(violations, []);
});

/** The strongly connected components of more than one file, or a file importing itself (Tarjan). */
export function cycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of edges.get(node) ?? []) {
      if (!edges.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node) as number, low.get(next) as number));
      } else if (onStack.has(next))
        low.set(node, Math.min(low.get(node) as number, index.get(next) as number));
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (edges.get(node) ?? []).includes(node)) found.push(component.sort());
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return found;
}

test('the cycle check finds a cycle when there is one', () => {
  const edges = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts', 'd.ts']],
    ['e.ts', ['a.ts']],
  ]);
  assert.deepEqual(cycles(edges), [['a.ts', 'b.ts', 'c.ts'], ['d.ts']]);
});

test('the import graph of src/ has no cycle', () => {
  const edges = new Map([...graph].map(([file, { files }]) => [file, files] as const));
  assert.deepEqual(cycles(edges), []);
});

test('the import reader sees static, dynamic, side-effect and require() imports', () => {
  const text = [
    "import { a } from './a.ts';",
    "import type { B } from '../b/b.ts';",
    "export { c } from './c.ts';",
    "import './d.ts';",
    "const e = await import('./e.ts');",
    "const f = require('kafkajs/src/f');",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf('kafka/x.ts', text), {
    files: ['kafka/a.ts', 'b/b.ts', 'kafka/c.ts', 'kafka/d.ts', 'kafka/e.ts'],
    packages: ['kafkajs/src/f'],
  });
});
