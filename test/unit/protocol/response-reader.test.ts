import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseFramingError } from '../../../src/errors/index.ts';
import {
  DIRECT_READ_MIN,
  MAX_RESPONSE_BYTES,
  ResponseReader,
} from '../../../src/protocol/response-reader.ts';
import { mulberry32 } from '../../support/random.ts';

/** A response as a broker frames it: 4-byte size, then the bytes (a correlation id first, usually). */
function frame(body: Buffer): Buffer {
  const framed = Buffer.alloc(4 + body.length);
  framed.writeInt32BE(body.length, 0);
  body.copy(framed, 4);
  return framed;
}

/** A response of correlation id `id` with `n` payload bytes. */
function response(id: number, n: number): Buffer {
  const body = Buffer.alloc(4 + n, id % 251);
  body.writeInt32BE(id, 0);
  return frame(body);
}

/** A reader and what it handed over. */
function reader(options: { maxBytes?: number } = {}): { reader: ResponseReader; read: Buffer[] } {
  const read: Buffer[] = [];
  return { reader: new ResponseReader((f) => read.push(Buffer.from(f)), options), read };
}

// Empty (a SASL token), tiny, and larger than a socket read.
const responses = [frame(Buffer.alloc(0)), response(1, 0), response(2, 7), response(3, 70_000)];
const stream = Buffer.concat(responses);

test('responses fed in pieces of every size come out whole and in order, size first', () => {
  // Every piece size up to the longest response, then a few beyond.
  for (const piece of [...Array.from({ length: 300 }, (_, i) => i + 1), 4099, 65_536, stream.length]) {
    const { reader: r, read } = reader();
    // Reused as a socket reading into one buffer does: the reader must have copied what it kept.
    const into = Buffer.alloc(piece);
    for (let at = 0; at < stream.length; at += piece) {
      const n = stream.copy(into, 0, at, at + piece);
      r.feed(into.subarray(0, n));
      into.fill(0xee);
    }
    assert.deepEqual(read, responses, `pieces of ${piece}`);
    assert.equal(r.partial, 0);
  }
});

/**
 * A socket as socket-factory.ts makes it: each read of up to `piece` bytes goes where the reader's
 * readTarget says, else into the socket's own reused buffer, and is then fed. Returns the
 * responses handed over, uncopied, and how many bytes went straight into a response.
 */
function readLikeASocket(stream: Buffer, pieces: () => number, r?: ResponseReader) {
  const handed: Buffer[] = [];
  const reader = r ?? new ResponseReader((f) => handed.push(f));
  const own = Buffer.alloc(64 * 1024);
  let direct = 0;
  for (let at = 0; at < stream.length;) {
    const into = reader.readTarget() ?? own;
    const n = stream.copy(into, 0, at, at + Math.min(pieces(), into.length));
    if (into !== own) direct += n;
    at += n;
    reader.feed(into.subarray(0, n));
    own.fill(0xee);
  }
  return { handed, direct, reader };
}

test('reads straight into a large response hand over the same responses, untouched by later reads', () => {
  const large = [response(20, DIRECT_READ_MIN * 3), response(21, DIRECT_READ_MIN), response(22, 5)];
  const many = [...responses, ...large, ...responses, ...large];
  const all = Buffer.concat(many);
  const random = mulberry32(24);
  for (const pieces of [() => 1 + Math.floor(random() * 70_000), () => 1448, () => 1 << 20]) {
    const { handed, direct, reader: r } = readLikeASocket(all, pieces);
    // Compared only now: a response handed over early must not have been written by a later read.
    assert.deepEqual(handed, many);
    assert.equal(r.partial, 0);
    assert.ok(direct > DIRECT_READ_MIN * 4, `${direct} bytes read straight into responses`);
  }
});

test('no read target below DIRECT_READ_MIN left, nor after a framing error', () => {
  const r = new ResponseReader(() => {});
  assert.equal(r.readTarget(), undefined, 'between responses');
  const big = response(1, DIRECT_READ_MIN + 100);
  r.feed(big.subarray(0, 4 + 100));
  assert.equal(r.readTarget()?.length, big.length - 104);
  r.feed(big.subarray(104, 300));
  assert.equal(r.readTarget(), undefined, 'less than DIRECT_READ_MIN left');
  r.reset();
  assert.throws(() => r.feed(Buffer.from([0xff, 0xff, 0xff, 0xff])), ResponseFramingError);
  assert.equal(r.readTarget(), undefined);
});

test('a read that lands in a response the reader forgot (reset) is read as fresh bytes', () => {
  const handed: Buffer[] = [];
  const r = new ResponseReader((f) => handed.push(Buffer.from(f)));
  const cut = response(30, DIRECT_READ_MIN * 2);
  r.feed(cut.subarray(0, 1000));
  const stale = r.readTarget();
  assert.ok(stale !== undefined);
  r.reset(); // as when the socket dropped; a socket can still have the old target for its next read
  const fresh = Buffer.concat([response(31, 10), response(32, DIRECT_READ_MIN)]);
  fresh.copy(stale, 0, 0, 2000);
  r.feed(stale.subarray(0, 2000));
  readLikeASocket(fresh.subarray(2000), () => 4096, r);
  assert.deepEqual(handed, [response(31, 10), response(32, DIRECT_READ_MIN)]);
});

test('the stream cut in two at every byte reads the same', () => {
  const small = Buffer.concat(responses.slice(0, 3));
  for (let cut = 0; cut <= small.length; cut++) {
    const { reader: r, read } = reader();
    r.feed(small.subarray(0, cut));
    r.feed(small.subarray(cut));
    assert.deepEqual(read, responses.slice(0, 3), `cut at ${cut}`);
  }
});

test('a response cut mid-size or mid-body is forgotten on reset; the responses fed after it read whole', () => {
  const fresh = [response(10, 3), response(11, 70_000), response(12, 0)];
  const big = response(9, 1000);
  // Mid-size (1, 2, 3 size bytes), mid-correlation id, mid-payload, one byte short.
  for (const cut of [1, 2, 3, 6, 500, big.length - 1]) {
    const { reader: r, read } = reader();
    r.feed(responses[2] ?? Buffer.alloc(0));
    r.feed(big.subarray(0, cut));
    assert.equal(r.partial, cut, `cut at ${cut}: what was read of the response`);
    r.reset();
    assert.equal(r.partial, 0);
    for (const f of fresh) r.feed(f);
    assert.deepEqual(read, [responses[2], ...fresh], `cut at ${cut}`);
  }
});

test('without a reset, the bytes after a cut are misframed (why each socket has its own reader)', () => {
  const { reader: r, read } = reader();
  r.feed(response(9, 1000).subarray(0, 100));
  r.feed(response(10, 3));
  assert.deepEqual(read, [], 'the fresh response disappeared into the cut one');
});

test('a negative size is a framing error, before anything is allocated; the reader stays failed until reset', () => {
  const { reader: r, read } = reader();
  const bad = Buffer.from([0xff, 0xff, 0xff, 0xf0, 1, 2, 3]);
  assert.throws(
    () => r.feed(bad),
    (e: unknown) =>
      e instanceof ResponseFramingError &&
      e.code === 'KM_RESPONSE_FRAMING' &&
      e.retriable &&
      e.size === -16 &&
      /negative/.test(e.message),
  );
  assert.throws(() => r.feed(response(1, 1)), ResponseFramingError, 'nothing after it is read');
  r.reset();
  r.feed(response(1, 1));
  assert.deepEqual(read, [response(1, 1)]);
});

test('a size above the bound is a framing error; the bound itself is read', () => {
  const { reader: r, read } = reader({ maxBytes: 100 });
  r.feed(frame(Buffer.alloc(100, 1)));
  assert.deepEqual(read, [frame(Buffer.alloc(100, 1))]);
  assert.throws(
    () => r.feed(frame(Buffer.alloc(101))),
    (e: unknown) =>
      e instanceof ResponseFramingError && e.size === 101 && /above the 100 bytes/.test(e.message),
  );
});

test('a TLS record read as plaintext is refused, named as TLS, and allocates nothing', () => {
  for (const record of [
    [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46], // alert, TLS 1.2
    [0x16, 0x03, 0x01, 0x00, 0x7a], // handshake
    [0x17, 0x03, 0x03, 0x40, 0x00], // application data
  ]) {
    const { reader: r } = reader();
    const external = process.memoryUsage().arrayBuffers;
    assert.throws(
      () => r.feed(Buffer.from(record)),
      (e: unknown) => e instanceof ResponseFramingError && /TLS record/.test(e.message),
    );
    assert.ok(process.memoryUsage().arrayBuffers - external < 1 << 20, 'nothing of its size allocated');
  }
});

test('garbage never throws anything but a framing error, and never allocates above the bound', () => {
  const seed = 194;
  const random = mulberry32(seed);
  const maxBytes = 1 << 16;
  let frames = 0;
  let refused = 0;
  for (let run = 0; run < 2000; run++) {
    const { reader: r, read } = reader({ maxBytes });
    const garbage = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => random() * 256));
    // Small sizes now and then, so that some garbage frames.
    if (garbage.length >= 4 && random() < 0.5) garbage.writeInt32BE(Math.floor(random() * 32), 0);
    try {
      for (let at = 0; at < garbage.length; at += 1 + Math.floor(random() * 8))
        r.feed(garbage.subarray(at, at + 1 + Math.floor(random() * 8)));
    } catch (error) {
      assert.ok(error instanceof ResponseFramingError, `seed ${seed}, run ${run}: ${String(error)}`);
      refused++;
    }
    for (const f of read) assert.ok(f.length - 4 === f.readInt32BE(0) && f.length <= 4 + maxBytes);
    frames += read.length;
  }
  assert.ok(frames > 0 && refused > 0, `${frames} frames, ${refused} refused: both paths ran`);
});

test('the default bound admits the largest response a default broker sends and refuses every TLS record', () => {
  const socketRequestMaxBytes = 104_857_600; // Kafka's socket.request.max.bytes default: the largest batch
  const fetchMaxBytes = 57_671_680; // Kafka's fetch.max.bytes (broker) default
  assert.ok(
    MAX_RESPONSE_BYTES > socketRequestMaxBytes + (1 << 20),
    'a batch of 100 MiB and its fetch envelope',
  );
  assert.ok(MAX_RESPONSE_BYTES > fetchMaxBytes);
  assert.ok(MAX_RESPONSE_BYTES < 0x14000000, 'below the smallest size a TLS record header reads as');
});
