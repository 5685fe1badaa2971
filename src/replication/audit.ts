// The comparison behind `kafka-mirror verify`: one source partition against its target partition,
// matched by the provenance headers the writer stamps (km.src.* and km.hops). Both sides are
// streamed in order and only a compact set of the source offsets seen on the target is kept, so a
// partition far larger than memory is audited in one pass over each side. The source side also
// carries the records of aborted transactions, marked: a copy of one on the target is a leak.
import { createHash } from 'node:crypto';
import { ProvenanceHeader, replicatedFrom } from './provenance.ts';
import type { HeaderList } from '../protocol/records.ts';

export interface AuditRecord {
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: HeaderList;
  readonly timestamp: string;
  /** A source record of an aborted transaction: never to be replicated. */
  readonly aborted?: boolean;
}

export interface AuditScope {
  /** Source cluster alias as written in km.src.cluster. */
  readonly cluster: string;
  readonly topic: string;
  readonly partition: number;
  /** Kafka cluster id of the target: a source record already there (its km.hops) is skipped on purpose. */
  readonly targetId: string;
  /** Source offsets audited: [from, to). `to` is usually the flow's committed offset. */
  readonly from: number;
  readonly to: number;
}

export type ProblemKind = 'missing' | 'duplicated' | 'reordered' | 'altered' | 'aborted' | 'unknown';

export interface PartitionAudit {
  readonly topic: string;
  readonly partition: number;
  readonly from: number;
  readonly to: number;
  /** Source records in range. */
  checked: number;
  /** Source records found on the target (first occurrences). */
  replicated: number;
  /** Source records the loop guard kept from the target on purpose. */
  skipped: number;
  missing: number;
  duplicated: number;
  reordered: number;
  altered: number;
  /** Target records copied from a source record of an aborted transaction (every copy counts). */
  aborted: number;
  /** Target records naming a source offset in range that the source does not have (compacted since?). */
  unknown: number;
  /** The first problems found, for a person to look at. */
  readonly examples: Array<{ kind: ProblemKind; sourceOffset: number }>;
}

const MAX_EXAMPLES = 20;
const text = (value: Buffer | string | null | undefined) =>
  value === null || value === undefined ? undefined : value.toString();

/** Digest of what replication must keep: key, value, the headers other than provenance, timestamp. */
export function recordDigest(record: AuditRecord): string {
  const hash = createHash('sha256');
  const field = (value: Buffer | string | null | undefined) => {
    if (value === null || value === undefined) hash.update('\u0000-');
    else hash.update(`\u0000${Buffer.byteLength(value)}:`).update(value);
  };
  field(record.key);
  field(record.value);
  for (const [key, value] of record.headers) {
    if (key.startsWith('km.')) continue;
    field(key);
    field(value);
  }
  field(record.timestamp);
  return hash.digest('base64');
}

/** Sorted, merged ranges of integers: the source offsets seen so far (nearly always one range). */
export class OffsetSet {
  readonly #ranges: Array<[number, number]> = [];

  has(offset: number): boolean {
    let low = 0;
    let high = this.#ranges.length - 1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const [start, end] = this.#ranges[mid] as [number, number];
      if (offset < start) high = mid - 1;
      else if (offset > end) low = mid + 1;
      else return true;
    }
    return false;
  }

  add(offset: number): void {
    const last = this.#ranges.at(-1);
    if (last !== undefined && offset === last[1] + 1) last[1] = offset;
    else if (last === undefined || offset > last[1]) this.#ranges.push([offset, offset]);
    else if (!this.has(offset)) {
      const at = this.#ranges.findIndex(([start]) => start > offset);
      this.#ranges.splice(at, 0, [offset, offset]);
      this.#merge(at);
    }
  }

  get ranges(): number {
    return this.#ranges.length;
  }

  #merge(at: number): void {
    const next = this.#ranges[at + 1];
    const current = this.#ranges[at] as [number, number];
    if (next !== undefined && current[1] + 1 === next[0]) {
      current[1] = next[1];
      this.#ranges.splice(at + 1, 1);
    }
    const previous = this.#ranges[at - 1];
    if (previous !== undefined && previous[1] + 1 === current[0]) {
      previous[1] = current[1];
      this.#ranges.splice(at, 1);
    }
  }
}

function loopGuarded(record: AuditRecord, targetId: string): boolean {
  for (const [key, value] of record.headers) {
    if (key === ProvenanceHeader.hops) return (text(value) ?? '').split(',').includes(targetId);
  }
  return false;
}

/**
 * Walks the target partition in order and advances through the source partition as the target's
 * first occurrences advance. A source record passed over is missing unless it shows up later on
 * the target (then it is reordered instead). Duplicates are later copies of an offset already seen.
 */
export async function auditPartition(
  scope: AuditScope,
  source: AsyncIterable<AuditRecord>,
  target: AsyncIterable<AuditRecord>,
): Promise<PartitionAudit> {
  const walk = new Walk(scope, source[Symbol.asyncIterator]());
  await walk.begin();
  for await (const record of target) await walk.target(record);
  return walk.end();
}

/** auditPartition's walk: where it stands in the source, and what it saw of the target. */
class Walk {
  readonly #scope: AuditScope;
  readonly #result: PartitionAudit;
  readonly #sources: AsyncIterator<AuditRecord>;
  #next: IteratorResult<AuditRecord> = { done: true, value: undefined };
  readonly #seen = new OffsetSet();
  /** Counted missing when the walk went past them. */
  readonly #passed = new OffsetSet();
  /** Source records of aborted transactions walked past. */
  readonly #abortedOnSource = new OffsetSet();
  #highest = -1;

  constructor(scope: AuditScope, sources: AsyncIterator<AuditRecord>) {
    this.#scope = scope;
    this.#sources = sources;
    this.#result = {
      topic: scope.topic,
      partition: scope.partition,
      from: scope.from,
      to: scope.to,
      checked: 0,
      replicated: 0,
      skipped: 0,
      missing: 0,
      duplicated: 0,
      reordered: 0,
      altered: 0,
      aborted: 0,
      unknown: 0,
      examples: [],
    };
  }

  async begin(): Promise<void> {
    this.#next = await this.#sources.next();
  }

  /** The next record of the target partition. */
  async target(record: AuditRecord): Promise<void> {
    const result = this.#result;
    const offset = replicatedFrom(record.headers, this.#scope);
    if (offset === undefined || !this.#inRange(offset)) return;
    if (offset > this.#highest) {
      // The walk reaches this offset first, so that an aborted source record there is known.
      await this.#passBelow(offset);
      const next = this.#next;
      if (next.done !== true && Number(next.value.offset) === offset && next.value.aborted === true)
        await this.#passOver(next.value);
    }
    if (this.#abortedOnSource.has(offset)) {
      result.aborted++;
      this.#note('aborted', offset);
      // The walk went past it: a source record before it that comes later is out of order.
      this.#highest = Math.max(this.#highest, offset);
      return;
    }
    if (this.#seen.has(offset)) {
      result.duplicated++;
      this.#note('duplicated', offset);
      return;
    }
    this.#seen.add(offset);
    if (offset < this.#highest) {
      result.reordered++;
      this.#note('reordered', offset);
      if (this.#passed.has(offset)) result.missing--; // not missing after all: late
      return;
    }
    this.#highest = offset;
    await this.#passBelow(offset);
    await this.#match(offset, record);
  }

  /** Source records the target never showed, up to the end of the range, are missing. */
  async end(): Promise<PartitionAudit> {
    await this.#passBelow(this.#scope.to);
    await this.#sources.return?.();
    return this.#result;
  }

  /** A first occurrence on the target at the walk's front: the source record it copies, or none. */
  async #match(offset: number, record: AuditRecord): Promise<void> {
    const result = this.#result;
    const next = this.#next;
    if (next.done === true || Number(next.value.offset) !== offset) {
      result.unknown++;
      this.#note('unknown', offset);
      return;
    }
    result.checked++;
    result.replicated++;
    if (recordDigest(next.value) !== recordDigest(record)) {
      result.altered++;
      this.#note('altered', offset);
    }
    this.#next = await this.#sources.next();
  }

  #inRange(offset: number): boolean {
    return offset >= this.#scope.from && offset < this.#scope.to;
  }

  #note(kind: ProblemKind, sourceOffset: number): void {
    if (this.#result.examples.length < MAX_EXAMPLES) this.#result.examples.push({ kind, sourceOffset });
  }

  /** Moves past every source record below `offset` that the target has not shown (yet). */
  async #passBelow(offset: number): Promise<void> {
    for (let next = this.#next; next.done !== true && Number(next.value.offset) < offset; next = this.#next)
      await this.#passOver(next.value);
  }

  /** Moves past one source record that the target has not shown (yet). */
  async #passOver(record: AuditRecord): Promise<void> {
    const offset = Number(record.offset);
    if (record.aborted === true) this.#abortedOnSource.add(offset);
    else if (this.#inRange(offset)) {
      this.#result.checked++;
      if (loopGuarded(record, this.#scope.targetId)) this.#result.skipped++;
      else {
        this.#result.missing++;
        this.#passed.add(offset);
        this.#note('missing', offset);
      }
    }
    this.#next = await this.#sources.next();
  }
}
