// Source positions as operators write them (`--position`, `--positions-file`): parsed strictly, and
// every refusal is an InvalidPositionError naming the position or the file entry as given.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidPositionError } from '../../../src/errors/index.ts';
import { parsePosition, parsePositionsDocument } from '../../../src/offsets/positions.ts';

const refused = (position: string) => (error: unknown) =>
  error instanceof InvalidPositionError &&
  error.code === 'KM_INVALID_POSITION' &&
  error.position === position;

test('a position is <topic>:<partition>:<offset> with whole numbers', () => {
  assert.deepEqual(parsePosition('orders:0:405'), { topic: 'orders', partition: 0, offset: 405 });
  assert.deepEqual(parsePosition('us.orders-v2_x:11:0'), {
    topic: 'us.orders-v2_x',
    partition: 11,
    offset: 0,
  });
  assert.deepEqual(parsePosition(`t:3:${Number.MAX_SAFE_INTEGER}`), {
    topic: 't',
    partition: 3,
    offset: Number.MAX_SAFE_INTEGER,
  });
});

test('anything else is refused, naming the position as given', () => {
  for (const bad of [
    '',
    'orders',
    'orders:0',
    'orders:0:1:2',
    ':0:1',
    'orders::1',
    'orders:0:',
    'orders:-1:5',
    'orders:0:-1',
    'orders:0:1e3',
    'orders:0:0x10',
    'orders:0: 5',
    'orders:01:5',
    'orders:0:1.5',
    'orders:x:5',
    `orders:0:${Number.MAX_SAFE_INTEGER + 2}`,
  ]) {
    assert.throws(() => parsePosition(bad), refused(bad), JSON.stringify(bad));
  }
});

test('a positions document is {"positions": [...]} with topic, partition and offset per entry, in order', () => {
  const text = JSON.stringify({
    positions: [
      { topic: 'orders', partition: 1, offset: 7 },
      { topic: 'orders', partition: 0, offset: 405 },
      { topic: 'orders', partition: 1, offset: 3 },
    ],
  });
  assert.deepEqual(parsePositionsDocument(text, 'in.json'), [
    { topic: 'orders', partition: 1, offset: 7 },
    { topic: 'orders', partition: 0, offset: 405 },
    { topic: 'orders', partition: 1, offset: 3 },
  ]);
});

test('a positions document that is not exactly that is refused, naming the file or the entry', () => {
  const whole: Array<[string, string]> = [
    ['not json', 'in.json'],
    ['[]', 'in.json'],
    ['{}', 'in.json'],
    ['{"positions": []}', 'in.json'],
    ['{"positions": {}}', 'in.json'],
    ['{"positions": [{"topic": "a", "partition": 0, "offset": 1}], "flow": "x"}', 'in.json'],
  ];
  for (const [text, at] of whole)
    assert.throws(() => parsePositionsDocument(text, 'in.json'), refused(at), text);
  const entries = [
    'null',
    '"orders:0:1"',
    '{"topic": "a", "partition": 0}',
    '{"topic": "", "partition": 0, "offset": 1}',
    '{"topic": "a:b", "partition": 0, "offset": 1}',
    '{"topic": "a", "partition": "0", "offset": 1}',
    '{"topic": "a", "partition": 0, "offset": -1}',
    '{"topic": "a", "partition": 0, "offset": 1.5}',
    '{"topic": "a", "partition": 0, "offset": 1, "offest": 2}',
  ];
  for (const entry of entries) {
    const text = `{"positions": [{"topic": "a", "partition": 0, "offset": 1}, ${entry}]}`;
    assert.throws(() => parsePositionsDocument(text, 'in.json'), refused('in.json positions[1]'), entry);
  }
});
