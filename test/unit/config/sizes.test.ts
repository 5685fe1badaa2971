import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSize } from '../../../src/config/index.ts';

test('a non-negative integer is a number of bytes', () => {
  assert.equal(parseSize(1_048_576), 1_048_576);
  assert.equal(parseSize(0), 0);
  assert.equal(parseSize('4096'), 4096);
});

test('binary units are powers of 1024, decimal units powers of 1000', () => {
  assert.equal(parseSize('64MiB'), 64 * 2 ** 20);
  assert.equal(parseSize('10MB'), 10_000_000);
  assert.equal(parseSize('512 KiB'), 512 * 1024);
  assert.equal(parseSize('2KB'), 2000);
  assert.equal(parseSize('1GiB'), 2 ** 30);
  assert.equal(parseSize('3GB'), 3e9);
  assert.equal(parseSize('100B'), 100);
});

test('units are case-insensitive and surrounding spaces are allowed', () => {
  assert.equal(parseSize('64mib'), 64 * 2 ** 20);
  assert.equal(parseSize(' 10 mb '), 10_000_000);
});

test('a fractional amount with a unit is rounded down to whole bytes', () => {
  assert.equal(parseSize('1.5MiB'), 1.5 * 2 ** 20);
  assert.equal(parseSize('1.5KB'), 1500);
  assert.equal(parseSize('0.3B'), 0);
});

test('rejects negative, fractional, non-numeric and unknown-unit sizes', () => {
  for (const value of [
    '-1',
    -1,
    'lots',
    1.5,
    '',
    '  ',
    '10 TB',
    '10 MiBs',
    'MiB',
    '1e6',
    NaN,
    Infinity,
    null,
    undefined,
    true,
    [1024],
    {},
  ]) {
    assert.throws(() => parseSize(value), /must be a byte size/, `accepted ${String(value)}`);
  }
});

test('rejects a number too large to be exact', () => {
  assert.throws(() => parseSize(2 ** 53), /must be a byte size/);
  assert.equal(parseSize(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER);
});
