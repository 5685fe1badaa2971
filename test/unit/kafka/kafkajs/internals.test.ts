// What the patches of src/kafka/kafkajs/ rely on in kafkajs 2.2.4. A row per kafkajs file a patch
// replaces or reaches into: its sha256 as installed, and the shape the patch relies on (arity of
// an exported function, prototype methods, constructor fields, the order of calls), both
// asserted. When kafkajs changes, the failure names the patch files to re-check: re-read the
// kafkajs file, adapt the patches, then record the new hash here. Every module a patch swaps is
// also checked against kafkajs's requires: the patch must name every module that captures it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import '../../../../src/kafka/kafkajs/index.ts';
import * as batch from '../../../../src/kafka/kafkajs/batch.ts';
import * as brokerFetch from '../../../../src/kafka/kafkajs/broker-fetch.ts';
import * as crc32c from '../../../../src/kafka/kafkajs/crc32c.ts';
import * as decodeMessages from '../../../../src/kafka/kafkajs/decode-messages.ts';
import * as groupMessages from '../../../../src/kafka/kafkajs/group-messages.ts';
import type { ModuleSwap } from '../../../../src/kafka/kafkajs/module-cache.ts';
import * as produceRequest from '../../../../src/kafka/kafkajs/produce-request.ts';
import * as recordDecoder from '../../../../src/kafka/kafkajs/record-decoder.ts';
import * as recordEncoder from '../../../../src/kafka/kafkajs/record-encoder.ts';
import * as requestFraming from '../../../../src/kafka/kafkajs/request-framing.ts';
import { internals, type Internal } from './internals.ts';

const require = createRequire(import.meta.url);
const patchDir = new URL('../../../../src/kafka/kafkajs/', import.meta.url);
const kafkajsRoot = path.dirname(realpathSync(require.resolve('kafkajs/package.json')));

/** A kafkajs file's text evaluated as a module of its own, apart from the module cache. */
function evaluate(file: string, text: string): unknown {
  const module = { exports: {} };
  const load = new Function('require', 'module', 'exports', '__filename', '__dirname', text);
  load(createRequire(file), module, module.exports, file, path.dirname(file));
  return module.exports;
}

/** What is wrong with `text` as the kafkajs file of `row`: nothing when the patches still fit it. */
export function problems(row: Internal, text: string): string[] {
  const found: string[] = [];
  const recheck = row.patches.map((p) => `src/kafka/kafkajs/${p}`).join(', ');
  const sha256 = createHash('sha256').update(text).digest('hex');
  if (sha256 !== row.sha256)
    found.push(
      `kafkajs/${row.file} changed (sha256 ${sha256}, recorded ${row.sha256}): re-check ${recheck}, then record the new hash`,
    );
  try {
    row.shape({ exports: evaluate(require.resolve(`kafkajs/${row.file}`), text) as never, source: text });
  } catch (error) {
    found.push(
      `kafkajs/${row.file} no longer has what ${recheck} relies on (${row.relies}): ${(error as Error).message}`,
    );
  }
  return found;
}

const read = (row: Internal): string => readFileSync(require.resolve(`kafkajs/${row.file}`), 'utf8');

test('the installed kafkajs is 2.2.4, the version the patches are written for', () => {
  const { version } = require('kafkajs/package.json') as { version: string };
  assert.equal(version, '2.2.4', 're-check every patch of src/kafka/kafkajs/ against the new kafkajs');
});

// One test for every row (and one for every swap below): node --test --test-force-exit loses the
// reports of a file's last quick tests when they are many (Node 24).
test('every kafkajs file a patch replaces or reaches into is as the patch expects', () => {
  assert.deepEqual(
    internals.flatMap((row) => problems(row, read(row))),
    [],
  );
});

test('every kafkajs module a patch loads or swaps has a row, and every patch a row names exists', () => {
  const files = readdirSync(patchDir).filter((f) => f.endsWith('.ts'));
  const rows = new Set(internals.map((r) => r.file));
  const reached = new Set<string>();
  for (const file of files) {
    const text = readFileSync(new URL(file, patchDir), 'utf8');
    for (const m of text.matchAll(
      /(?:kafkajsModule(?:<(?:(?!kafkajsModule)[\s\S])*?>)?|isLoaded)\(\s*'([^']+)'|module: '([^']+)'/g,
    ))
      reached.add(`src/${m[1] ?? m[2]}`);
    if (/kafkajsRequire\.resolve\('kafkajs'\)/.test(text)) reached.add('index.js');
  }
  assert.deepEqual(
    [...reached].filter((f) => !rows.has(f)),
    [],
    'add a row to test/unit/kafka/kafkajs/internals.ts',
  );
  for (const row of internals)
    assert.deepEqual(
      row.patches.filter((p) => !files.includes(p)),
      [],
      `the patches of kafkajs/${row.file}`,
    );
});

/** Every kafkajs module that requires `target` (relative to kafkajs/src), from kafkajs's own sources. */
function requirersOf(target: string): string[] {
  const src = path.join(kafkajsRoot, 'src');
  const found: string[] = [];
  for (const file of readdirSync(src, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.js')) continue;
    const from = createRequire(path.join(src, file));
    const text = readFileSync(path.join(src, file), 'utf8');
    for (const m of text.matchAll(/\brequire\(\s*'(\.[^']*)'\s*\)/g)) {
      const resolved = path.relative(src, realpathSync(from.resolve(m[1] as string)));
      if (resolved === target) found.push(file);
    }
  }
  return found.sort();
}

const swaps: ReadonlyArray<readonly [string, ModuleSwap]> = [
  ['record-decoder.ts', recordDecoder.swap],
  ['record-encoder.ts', recordEncoder.swap],
  ['group-messages.ts', groupMessages.swap],
  ['crc32c.ts', crc32c.swap],
  ['decode-messages.ts', decodeMessages.swap],
  ['batch.ts', batch.swap],
  ['produce-request.ts', produceRequest.swap],
  ['request-framing.ts', requestFraming.swap],
  ['broker-fetch.ts', brokerFetch.swap],
];

test('each module swap names every kafkajs module that captures the replaced one, and is in effect', () => {
  for (const [patch, swap] of swaps) {
    assert.deepEqual(
      [...swap.capturedBy].sort(),
      requirersOf(swap.module),
      `kafkajs requires ${swap.module} from other modules now: re-check src/kafka/kafkajs/${patch} and its place in index.ts`,
    );
    const file = require.resolve(`kafkajs/src/${swap.module}`);
    const kafkajsOwn = evaluate(file, readFileSync(file, 'utf8'));
    assert.notEqual(String(require(file)), String(kafkajsOwn), `the module cache holds ${patch}`);
  }
});

test('the check fails when a byte of a kafkajs file changes, or its shape, and names the patch to re-check', () => {
  const row = internals.find((r) => r.file === 'src/network/connection.js') as Internal;
  const text = read(row);
  assert.deepEqual(problems(row, text), []);
  const oneByte = `${text.slice(0, -1)} `; // its last newline, a space
  const changed = problems(row, oneByte);
  assert.equal(changed.length, 1);
  assert.match(changed[0] as string, /changed \(sha256 .*re-check src\/kafka\/kafkajs\/connection\.ts/);
  const renamed = problems(row, text.replace('processData(rawData) {', 'handleData(rawData) {'));
  assert.equal(renamed.length, 2);
  assert.match(renamed[1] as string, /no longer has what src\/kafka\/kafkajs\/connection\.ts relies on/);
});
