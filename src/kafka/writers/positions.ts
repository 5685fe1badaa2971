// The positions topic of an exactly-once flow: a compacted topic on the target that holds, per
// source partition, where its replication stands after the last committed transaction
// (docs/architecture.md, "Exactly-once"). Each lane writes its position in its own transaction
// (transactional-writer.ts); a new owner of the source partition reads it to resume from there.
import { setTimeout as sleep } from 'node:timers/promises';
import { PositionsUnreadableError, WriterClosedError } from '../../errors/index.ts';
import { encodeChunk, type RecordChunk } from '../../protocol/record-chunk.ts';
import { crc32c } from '../../protocol/record-format.ts';
import type { RawClient } from '../raw-client.ts';
import type { TopicAdmin } from '../topic-admin.ts';

/** Partitions of a positions topic that kafka-mirror creates. */
const POSITIONS_PARTITIONS = 16;
const POSITIONS_CONFIGS = {
  'cleanup.policy': 'compact',
  'segment.ms': String(10 * 60_000),
  'min.cleanable.dirty.ratio': '0.1',
};

/** What the positions topic needs of the target's admin. */
export type PositionsAdmin = Pick<TopicAdmin, 'partitionCounts' | 'createTopic'>;

/** Where a source partition's position is kept: its record key and the positions partition that holds it. */
export interface PositionSlot {
  readonly key: string;
  readonly partition: number;
}

export interface PositionsOptions {
  readonly topic: string;
  readonly group: string;
  /** The flow's transaction timeout: an open transaction ends within it (the coordinator aborts it). */
  readonly transactionTimeoutMs: number;
  /** The writer's: reads stop once it is aborted. */
  readonly signal: AbortSignal;
}

export class PositionsTopic {
  readonly #client: RawClient;
  readonly #options: PositionsOptions;
  #partitions = POSITIONS_PARTITIONS;
  /** Per positions partition: committed positions read so far and the offset to read on from. */
  readonly #snapshots = new Map<number, { offset: number; positions: Map<string, number> }>();
  readonly #reading = new Map<number, Promise<unknown>>();

  constructor(client: RawClient, options: PositionsOptions) {
    this.#client = client;
    this.#options = options;
  }

  get topic(): string {
    return this.#options.topic;
  }

  /** Creates the topic if it is missing, and learns how many partitions it has. */
  async prepare(admin: PositionsAdmin, replicationFactor: number): Promise<void> {
    const { topic } = this.#options;
    let count = (await admin.partitionCounts()).get(topic);
    if (count === undefined) {
      // Resolves 'exists' when another instance created it first (TopicAdmin.createTopic).
      await admin.createTopic(topic, POSITIONS_PARTITIONS, replicationFactor, POSITIONS_CONFIGS);
      count = (await admin.partitionCounts()).get(topic) ?? POSITIONS_PARTITIONS;
    }
    this.#partitions = count;
  }

  /**
   * Where a source partition's position is kept. The key names the flow's group and the source
   * partition; the positions partition is fixed by the key, so every owner reads the same one.
   */
  slotOf(topic: string, partition: number): PositionSlot {
    const key = JSON.stringify([this.#options.group, topic, partition]);
    return { key, partition: (crc32c(Buffer.from(key)) >>> 0) % this.#partitions };
  }

  /** The record that says every record of the slot's source partition before `next` is written. */
  record(slot: PositionSlot, next: number): RecordChunk {
    return encodeChunk([
      {
        key: Buffer.from(slot.key),
        value: Buffer.from(JSON.stringify({ next, at: new Date().toISOString() })),
        timestamp: String(Date.now()),
        headers: [],
      },
    ]);
  }

  /**
   * The slot's last committed position. Read once the positions partition's last stable offset
   * reaches its high watermark as seen after the fencing: until then another lane's open
   * transaction can hide a committed position behind it (read_committed stops there).
   */
  async committed(slot: PositionSlot): Promise<number | undefined> {
    const { partition } = slot;
    const previous = this.#reading.get(partition) ?? Promise.resolve();
    const reading = previous.then(() => this.#read(partition));
    this.#reading.set(
      partition,
      reading.catch(() => {}),
    );
    await reading;
    return this.#snapshots.get(partition)?.positions.get(slot.key);
  }

  async #read(partition: number): Promise<void> {
    const { topic, signal } = this.#options;
    // A closed writer's connections are closed: a read would open them again.
    if (signal.aborted) throw new WriterClosedError();
    const snapshot = this.#snapshots.get(partition) ?? { offset: 0, positions: new Map<string, number>() };
    let read = await this.#client.read(topic, partition, snapshot.offset);
    const end = read.highWatermark;
    // Transactions end within their timeout (the coordinator aborts them then).
    const deadline = Date.now() + this.#options.transactionTimeoutMs * 2;
    while (read.lastStableOffset < end) {
      if (Date.now() > deadline || signal.aborted)
        throw new PositionsUnreadableError(topic, partition, `last stable offset stayed below ${end}`);
      await sleep(50);
      read = await this.#client.read(topic, partition, snapshot.offset);
    }
    let at = snapshot.offset;
    while (at < end) {
      for (const record of read.records) {
        if (Number(record.offset) >= end || record.key === null || record.value === null) continue;
        const { next } = JSON.parse(record.value.toString()) as { next: number };
        snapshot.positions.set(record.key.toString(), next);
      }
      if (read.next === at)
        throw new PositionsUnreadableError(topic, partition, `no committed batch at ${at}, below ${end}`);
      at = read.next;
      if (at < end) read = await this.#client.read(topic, partition, at);
    }
    snapshot.offset = Math.min(at, end);
    this.#snapshots.set(partition, snapshot);
  }
}
