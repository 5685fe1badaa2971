// IncrementalAlterConfigs bytes (src/protocol/incremental-alter-configs.ts), against bytes written
// out by hand from Kafka's IncrementalAlterConfigsRequest.json / Response.json (the real broker
// takes them: test/integration/topic-config-sync.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ConfigOperation,
  decodeIncrementalAlterConfigs,
  encodeIncrementalAlterConfigs,
} from '../../../src/protocol/incremental-alter-configs.ts';

const args = {
  resources: [
    {
      resourceType: 2,
      resourceName: 't',
      configs: [
        { name: 'a', operation: ConfigOperation.SET, value: 'v' },
        { name: 'b', operation: ConfigOperation.DELETE, value: null },
      ],
    },
  ],
};

/** Hex bytes, a `//` comment after them on each line. */
const hex = (s: string) =>
  Buffer.from(
    s
      .split('\n')
      .map((line) => line.replace(/\/\/.*/, '').replace(/\s+/g, ''))
      .join(''),
    'hex',
  );

test('version 0: classic strings and arrays, null as length -1', () => {
  assert.deepEqual(
    encodeIncrementalAlterConfigs(args, 0),
    hex(`
      00000001  // resources: 1
      02 0001 74  // TOPIC "t"
      00000002  // configs: 2
      0001 61 00 0001 76  // "a" SET "v"
      0001 62 01 ffff  // "b" DELETE null
      00  // validateOnly false`),
  );
});

test('version 1: request header v2 tagged fields first, then compact strings and arrays with tagged fields', () => {
  assert.deepEqual(
    encodeIncrementalAlterConfigs({ ...args, validateOnly: true }, 1),
    hex(`
      00  // header tagged fields
      02  // resources: 1 (+1)
      02 02 74  // TOPIC "t"
      03  // configs: 2
      02 61 00 02 76 00  // "a" SET "v", no tags
      02 62 01 00 00  // "b" DELETE null, no tags
      00  // resource: no tags
      01 00  // validateOnly true, no tags`),
  );
});

test('a name or value of 127 bytes and more takes a two-byte varint length (version 1)', () => {
  const long = 'x'.repeat(200);
  const bytes = encodeIncrementalAlterConfigs(
    { resources: [{ resourceType: 2, resourceName: long, configs: [] }] },
    1,
  );
  // 201 = 0xc9 0x01 as an unsigned varint.
  assert.deepEqual(bytes.subarray(0, 5), hex('00 02 02 c9 01'));
  assert.equal(bytes.toString('utf8', 5, 205), long);
});

test('responses of both versions decode to every resource with its error', () => {
  const v0 = hex(`
    00000000 00000002
    0000 ffff 02 0001 74
    0028 0003 626164 02 0001 75`);
  const v1 = hex(`
    00 00000000 03
    0000 00 02 02 74 00
    0028 04 626164 02 02 75 00
    00`);
  for (const [version, bytes] of [
    [0, v0],
    [1, v1],
  ] as const)
    assert.deepEqual(decodeIncrementalAlterConfigs(bytes, version), {
      throttleTimeMs: 0,
      responses: [
        { errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't' },
        { errorCode: 40, errorMessage: 'bad', resourceType: 2, resourceName: 'u' },
      ],
    });
});

test('unknown tagged fields of a version 1 response are skipped', () => {
  const bytes = hex(`
    01 05 02 aaaa  // header: one tagged field (tag 5, 2 bytes)
    00000007 02
    0000 00 02 02 74 01 00 01 ff
    00`);
  assert.deepEqual(decodeIncrementalAlterConfigs(bytes, 1), {
    throttleTimeMs: 7,
    responses: [{ errorCode: 0, errorMessage: null, resourceType: 2, resourceName: 't' }],
  });
});

test('an answer cut short is KM_MALFORMED_RESPONSE; a version it does not write is KM_INVALID_ARGUMENT', () => {
  assert.throws(() => decodeIncrementalAlterConfigs(hex('00000000 00000001 0000'), 0), {
    code: 'KM_MALFORMED_RESPONSE',
  });
  assert.throws(() => decodeIncrementalAlterConfigs(hex('00 00000000 02 0000 00 02 09 74'), 1), {
    code: 'KM_MALFORMED_RESPONSE',
  });
  assert.throws(() => encodeIncrementalAlterConfigs(args, 2), { code: 'KM_INVALID_ARGUMENT' });
});
