import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

test('runs on Node.js 24 LTS, the version the project targets', () => {
  const major = Number(process.versions.node.split('.')[0]);
  assert.equal(major, 24, `tests must run on Node 24 (from the npm "node" package), not ${process.version}`);
});

test('the pinned "node" devDependency is a 24.x release and engines allow it', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    engines: { node: string };
    devDependencies: Record<string, string>;
  };
  assert.match(pkg.devDependencies['node'] ?? '', /^24\.\d+\.\d+$/);
  assert.equal(pkg.engines.node, '>=22');
});
