// Reading Kafka responses off one socket: each is a 4-byte big-endian size, then that many bytes
// (the Kafka protocol's framing, what Kafka's NetworkReceive reads). One reader per socket: a
// response cut part way by a dropped connection must never absorb the next socket's bytes
// (issue 19, defect 4), so a connection makes a new reader for every socket (kafkajs.ts).
import { ResponseFramingError } from '../errors/index.ts';

const MiB = 2 ** 20;

/**
 * The largest response size read. Kafka's clients leave it unlimited (their Selector builds each
 * NetworkReceive with maxSize UNLIMITED); the broker bounds what it reads with this same check
 * (socket.request.max.bytes, 100 MiB by default), and KIP-498 proposed it for clients because a
 * plaintext client that reaches a TLS listener reads the TLS record header as a size of 320 MiB
 * or more (0x15030300: a TLS alert, 336 MiB) and allocates it.
 *
 * The largest legitimate response is a fetch response. kafka-mirror asks for at most
 * `consumer.maxBytes` (8 MiB by default; the fetch sizer only lowers it) and the broker caps a
 * fetch at its fetch.max.bytes (55 MiB by default), except that the first record batch is
 * returned whole however large (KIP-74). A batch was written by one produce request, which the
 * source broker read under its socket.request.max.bytes (100 MiB by default). Every response
 * therefore fits in 100 MiB and its envelope; 128 MiB leaves room for that and stays below what
 * any TLS record header reads as (0x14000000, 320 MiB).
 */
export const MAX_RESPONSE_BYTES = 128 * MiB;

/**
 * How many bytes must be left of the response being read for the socket to read straight into it
 * (`readTarget`); below that, reads go to the socket's own buffer and are copied from there.
 */
export const DIRECT_READ_MIN = 64 * 1024;

/** Receives each complete response, its 4-byte size first (authentication handlers take it whole). */
export type OnResponse = (frame: Buffer) => void;

export class ResponseReader {
  readonly #onResponse: OnResponse;
  readonly #maxBytes: number;
  /** The response being read, size bytes included; undefined until its 4 size bytes are in. */
  #frame: Buffer | undefined;
  readonly #size = Buffer.alloc(4);
  #sizeRead = 0;
  #read = 0;
  #failed: ResponseFramingError | undefined;

  constructor(onResponse: OnResponse, options: { maxBytes?: number } = {}) {
    this.#onResponse = onResponse;
    this.#maxBytes = options.maxBytes ?? MAX_RESPONSE_BYTES;
  }

  /**
   * Reads the bytes, copying what it needs at once (the caller may reuse `data`), and hands over
   * every response they complete, in order. A size no response can have (negative, or above the
   * bound) throws a ResponseFramingError, as Kafka's NetworkReceive throws InvalidReceiveException:
   * the stream is misframed, nothing after it can be read, and every later feed throws it again
   * until `reset()`.
   */
  feed(data: Uint8Array): void {
    if (this.#failed !== undefined) throw this.#failed;
    let at = 0;
    while (at < data.length) {
      if (this.#frame === undefined) {
        const n = Math.min(4 - this.#sizeRead, data.length - at);
        this.#size.set(data.subarray(at, at + n), this.#sizeRead);
        this.#sizeRead += n;
        at += n;
        if (this.#sizeRead < 4) return;
        const size = this.#size.readInt32BE(0);
        this.#checkSize(size);
        this.#frame = Buffer.allocUnsafe(4 + size);
        this.#size.copy(this.#frame);
        this.#read = 4;
      }
      const n = Math.min(this.#frame.length - this.#read, data.length - at);
      // Bytes the socket read into the response's own rest (readTarget) are already in place.
      if (data.buffer !== this.#frame.buffer || data.byteOffset + at !== this.#frame.byteOffset + this.#read)
        this.#frame.set(data.subarray(at, at + n), this.#read);
      this.#read += n;
      at += n;
      if (this.#read < this.#frame.length) return;
      const frame = this.#frame;
      this.#frame = undefined;
      this.#sizeRead = 0;
      this.#onResponse(frame);
    }
  }

  /**
   * Where the socket may put its next read: the rest of the response being read, when at least
   * DIRECT_READ_MIN bytes of it are left, so that a large response (a fetch) arrives in its buffer
   * without a copy; otherwise undefined. Only a place to read into: whatever the socket reads next,
   * wherever it put it, is passed to `feed` as any read is, and `feed` copies nothing that is
   * already where it belongs. The response is handed over only once complete, so the socket never
   * reads into a buffer handed over.
   */
  readTarget(): Buffer | undefined {
    const frame = this.#frame;
    if (frame === undefined || this.#failed !== undefined || frame.length - this.#read < DIRECT_READ_MIN)
      return undefined;
    return frame.subarray(this.#read);
  }

  /** Forgets a response begun and any framing error: the next byte fed is the first of a size. */
  reset(): void {
    this.#frame = undefined;
    this.#sizeRead = 0;
    this.#read = 0;
    this.#failed = undefined;
  }

  /** Bytes read of a response not yet complete, size bytes included (0 between responses). */
  get partial(): number {
    return this.#frame === undefined ? this.#sizeRead : this.#read;
  }

  #checkSize(size: number): void {
    if (size >= 0 && size <= this.#maxBytes) return;
    const read = `a size of ${size} bytes (${this.#size.toString('hex')})`;
    const reason =
      size < 0 ? `${read}, negative` : `${read}, above the ${this.#maxBytes} bytes any response can have`;
    this.#failed = new ResponseFramingError(`${reason}${hint(this.#size)}`, size);
    throw this.#failed;
  }
}

/** What the bytes may be instead: a TLS record (content type 20-24, major version 3) is common. */
function hint(size: Buffer): string {
  const [type = 0, major = 0] = size;
  if (type >= 0x14 && type <= 0x18 && major === 0x03)
    return '; they are a TLS record: the listener speaks TLS and this cluster is configured without it (tls.enabled)';
  return '';
}
