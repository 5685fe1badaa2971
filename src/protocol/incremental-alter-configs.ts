// IncrementalAlterConfigs (API key 44, KIP-339): changes named configs of a resource one by one
// (SET, DELETE, APPEND, SUBTRACT), leaving every other config of it as it is. kafkajs has only the
// legacy AlterConfigs, which replaces ALL configs of the resource with the ones sent (a topic
// would lose every override not in the request), so topic config sync sends this one itself.
//
// Bytes as Kafka's IncrementalAlterConfigsRequest.json and IncrementalAlterConfigsResponse.json
// define them (versions 0-1; version 1 is the first flexible one: compact strings and arrays,
// tagged fields), written as the Java client's generated IncrementalAlterConfigsRequestData
// writes them. Imports nothing of ours but errors.
import { InvalidArgumentError, MalformedResponseError } from '../errors/index.ts';

/** AlterConfigOp.OpType ids (clients/admin/AlterConfigOp.java). */
export const ConfigOperation = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
export type ConfigOperation = (typeof ConfigOperation)[keyof typeof ConfigOperation];

/** ConfigResource.Type ids (common/config/ConfigResource.java). */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4 } as const;

export const INCREMENTAL_ALTER_CONFIGS = 44;
/** The versions this file writes; Kafka's brokers take 0-1 (Kafka 2.3 and later). */
export const MAX_VERSION = 1;

export interface AlterableConfig {
  readonly name: string;
  readonly operation: ConfigOperation;
  /** null for DELETE. */
  readonly value: string | null;
}

export interface AlterConfigsResource {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly configs: readonly AlterableConfig[];
}

export interface AlterConfigsArgs {
  readonly resources: readonly AlterConfigsResource[];
  readonly validateOnly?: boolean;
}

export interface AlterConfigsResourceResponse {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly resourceType: number;
  readonly resourceName: string;
}

export interface AlterConfigsResponse {
  readonly throttleTimeMs: number;
  readonly responses: AlterConfigsResourceResponse[];
}

/** Grows as it is written; strings are UTF-8 as Kafka's. */
class Writer {
  #buf = Buffer.allocUnsafe(256);
  #at = 0;

  #room(n: number): void {
    if (this.#at + n <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + n));
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
  }

  int8(value: number): void {
    this.#room(1);
    this.#at = this.#buf.writeInt8(value, this.#at);
  }

  int16(value: number): void {
    this.#room(2);
    this.#at = this.#buf.writeInt16BE(value, this.#at);
  }

  int32(value: number): void {
    this.#room(4);
    this.#at = this.#buf.writeInt32BE(value, this.#at);
  }

  /** Unsigned varint (ByteUtils.writeUnsignedVarint): lengths of compact strings and arrays. */
  uvarint(value: number): void {
    let v = value >>> 0;
    while (v >= 0x80) {
      this.int8Raw((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.int8Raw(v);
  }

  int8Raw(byte: number): void {
    this.#room(1);
    this.#buf[this.#at++] = byte;
  }

  bytes(data: Buffer): void {
    this.#room(data.length);
    this.#at += data.copy(this.#buf, this.#at);
  }

  done(): Buffer {
    return this.#buf.subarray(0, this.#at);
  }
}

/** Reads what Writer writes; reading past the end throws (Buffer's RangeError). */
class Reader {
  readonly #buf: Buffer;
  #at = 0;
  constructor(buf: Buffer) {
    this.#buf = buf;
  }
  int8(): number {
    return this.#buf.readInt8(this.#advance(1));
  }
  int16(): number {
    return this.#buf.readInt16BE(this.#advance(2));
  }
  int32(): number {
    return this.#buf.readInt32BE(this.#advance(4));
  }
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      const byte = this.#buf.readUInt8(this.#advance(1));
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
    }
    throw new RangeError('varint longer than 5 bytes');
  }
  string(length: number): string {
    const start = this.#advance(length);
    if (start + length > this.#buf.length) throw new RangeError('string past the end of the response');
    return this.#buf.toString('utf8', start, start + length);
  }
  #advance(n: number): number {
    const at = this.#at;
    this.#at += n;
    return at;
  }
}

/** Writes strings and arrays as `version` does: compact (flexible, v1+) or classic (v0). */
class VersionedWriter extends Writer {
  readonly flexible: boolean;
  constructor(version: number) {
    super();
    this.flexible = version >= 1;
  }
  string(value: string | null): void {
    if (value === null) {
      if (this.flexible) this.uvarint(0);
      else this.int16(-1);
      return;
    }
    const bytes = Buffer.from(value, 'utf8');
    if (this.flexible) this.uvarint(bytes.length + 1);
    else this.int16(bytes.length);
    this.bytes(bytes);
  }
  arrayLength(n: number): void {
    if (this.flexible) this.uvarint(n + 1);
    else this.int32(n);
  }
  /** No tagged fields (flexible versions only). */
  noTags(): void {
    if (this.flexible) this.uvarint(0);
  }
}

/**
 * The request body of `version` (0 or 1). For a flexible version it starts with the empty tagged
 * fields of request header v2: kafkajs frames every request with header v1 (api key, version,
 * correlation id, client id), and header v2 is that plus tagged fields (RequestHeaderData).
 */
export function encodeIncrementalAlterConfigs(args: AlterConfigsArgs, version: number): Buffer {
  if (!Number.isInteger(version) || version < 0 || version > MAX_VERSION)
    throw new InvalidArgumentError(`IncrementalAlterConfigs version ${version} is not 0 to ${MAX_VERSION}`);
  const w = new VersionedWriter(version);
  w.noTags(); // request header v2's tagged fields (see above)
  w.arrayLength(args.resources.length);
  for (const resource of args.resources) {
    w.int8(resource.resourceType);
    w.string(resource.resourceName);
    w.arrayLength(resource.configs.length);
    for (const config of resource.configs) {
      w.string(config.name);
      w.int8(config.operation);
      w.string(config.value);
      w.noTags();
    }
    w.noTags();
  }
  w.int8(args.validateOnly === true ? 1 : 0);
  w.noTags();
  return w.done();
}

/** Skips tagged fields (RawTaggedField: tag, size, bytes), which this reader has no use for. */
function skipTags(r: Reader): void {
  const count = r.uvarint();
  for (let i = 0; i < count; i++) {
    r.uvarint(); // tag
    r.string(r.uvarint()); // its bytes, whatever they hold
  }
}

/**
 * The response of `version`, after the correlation id (what kafkajs hands a response's decode).
 * For a flexible version that starts with the tagged fields of response header v1. An answer cut
 * short throws a MalformedResponseError.
 */
export function decodeIncrementalAlterConfigs(payload: Buffer, version: number): AlterConfigsResponse {
  try {
    return decode(new Reader(payload), version);
  } catch (error) {
    throw new MalformedResponseError('IncrementalAlterConfigs', error);
  }
}

function decode(r: Reader, version: number): AlterConfigsResponse {
  const flexible = version >= 1;
  const str = (): string | null => {
    const length = flexible ? r.uvarint() - 1 : r.int16();
    return length < 0 ? null : r.string(length);
  };
  if (flexible) skipTags(r); // response header v1
  const throttleTimeMs = r.int32();
  const count = flexible ? r.uvarint() - 1 : r.int32();
  const responses: AlterConfigsResourceResponse[] = [];
  for (let i = 0; i < count; i++) {
    const errorCode = r.int16();
    const errorMessage = str();
    const resourceType = r.int8();
    const resourceName = str() ?? '';
    if (flexible) skipTags(r);
    responses.push({ errorCode, errorMessage, resourceType, resourceName });
  }
  if (flexible) skipTags(r);
  return { throttleTimeMs, responses };
}
