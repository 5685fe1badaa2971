// How far a replicator (or ceiling-produce) has got: the sum of a target topic's end offsets,
// polled every 50 ms. The first poll that sees a record and the first that sees them all bound
// the measured interval, the same way for every system. Across a slow link a poll takes longer
// than 50 ms (two round trips), so several pollers run staggered to keep the 50 ms resolution.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { kafkajs } from '../src/kafka/kafkajs/index.ts';
import { clusterOf } from '../src/kafka/raw-client.ts';

/** kafkajs's cluster object, as far as listing end offsets goes. */
interface OffsetsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  fetchTopicsOffset(
    topics: Array<{ topic: string; fromBeginning: boolean; partitions: Array<{ partition: number }> }>,
  ): Promise<Array<{ partitions: Array<{ offset: string }> }>>;
}
const READ_UNCOMMITTED = 0;

const { Kafka, logLevel } = kafkajs;

export const POLL_INTERVAL_MS = 50;
/**
 * Transactional targets: how long the last stable offsets must stay unchanged, at or above the
 * expected count, before their value is taken as final (commit markers take offsets too, so the
 * final sum is records + markers, known only once nothing moves any more).
 */
export const TRANSACTIONAL_QUIET_MS = 3000;

export interface Progress {
  /** performance.now() of the first poll that saw a record on the target. */
  readonly firstAt: number | undefined;
  /** performance.now() of the first poll that saw every expected record. */
  readonly doneAt: number | undefined;
  readonly records: number;
  /** Transactional: offsets beyond the expected records at the end, i.e. commit markers (0 = nothing was transactional). */
  readonly markers: number | undefined;
}

export class TargetProgress {
  readonly #admin: Admin;
  readonly #topic: string;
  readonly #expected: number;
  #firstAt: number | undefined;
  #doneAt: number | undefined;
  #records = 0;
  #lastError: unknown;
  #stopped = false;
  #loops: Array<Promise<void>> = [];
  #exists = false;
  /** The topic's partitions, once a poll has listed them. */
  #partitions: readonly number[] | undefined;
  readonly #onFirstRecord: () => void;
  readonly #transactional: boolean;
  /** Transactional: when each new highest sum was first seen. */
  readonly #reached: Array<{ sum: number; at: number }> = [];
  /** Transactional: lists high watermarks (read_uncommitted), which show the first record written before it is committed. */
  readonly #uncommitted: OffsetsCluster | undefined;

  private constructor(
    admin: Admin,
    topic: string,
    expected: number,
    onFirstRecord: () => void,
    transactional: boolean,
    uncommitted: OffsetsCluster | undefined,
  ) {
    this.#uncommitted = uncommitted;
    this.#admin = admin;
    this.#topic = topic;
    this.#expected = expected;
    this.#onFirstRecord = onFirstRecord;
    this.#transactional = transactional;
  }

  /**
   * Starts polling `topic` (which may not exist yet) on the given cluster. `onFirstRecord` runs
   * when the first record is seen (to read the writer's CPU time at that moment); `pollers`
   * staggered polls run at once (use about round-trip / 25 ms on a slow link). `transactional`:
   * the target is written in transactions; the end is the first poll that saw the final sum of
   * last stable offsets (records plus commit markers), once it has not moved for
   * TRANSACTIONAL_QUIET_MS. The offsets polled are last stable offsets (kafkajs's admin lists
   * offsets read_committed), so records of open transactions never count towards the end; the
   * start is the first poll whose high watermarks (read_uncommitted) show a record written, so a
   * system that commits seldom is not timed from its first commit.
   */
  static async start(
    bootstrapServers: readonly string[],
    topic: string,
    expected: number,
    options: { onFirstRecord?: () => void; pollers?: number; transactional?: boolean } = {},
  ): Promise<TargetProgress> {
    const kafka = new Kafka({
      clientId: 'kafka-mirror-bench-progress',
      brokers: [...bootstrapServers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      // A failed poll is simply the next poll: no client-side backoff hiding the moment of arrival.
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await admin.connect();
    const uncommitted =
      options.transactional === true ? clusterOf<OffsetsCluster>(kafka, READ_UNCOMMITTED) : undefined;
    await uncommitted?.connect();
    const progress = new TargetProgress(
      admin,
      topic,
      expected,
      options.onFirstRecord ?? (() => undefined),
      options.transactional === true,
      uncommitted,
    );
    const pollers = Math.max(1, options.pollers ?? 1);
    for (let i = 0; i < pollers; i++) progress.#loops.push(progress.#run(i * POLL_INTERVAL_MS, pollers));
    return progress;
  }

  get progress(): Progress {
    return {
      firstAt: this.#firstAt,
      doneAt: this.#doneAt,
      records: this.#records,
      markers: this.#transactional && this.#doneAt !== undefined ? this.#records - this.#expected : undefined,
    };
  }

  /** Resolves once every expected record is on the target; rejects after `timeoutMs` or when `failed()` says so. */
  async done(timeoutMs: number, failed: () => string | undefined = () => undefined): Promise<Progress> {
    const deadline = performance.now() + timeoutMs;
    while (this.#doneAt === undefined) {
      const reason = failed();
      if (reason !== undefined) throw new Error(`${reason} (${this.#describe()})`);
      if (performance.now() > deadline) {
        throw new Error(`not complete after ${Math.round(timeoutMs / 1000)} s (${this.#describe()})`);
      }
      await sleep(POLL_INTERVAL_MS);
    }
    return this.progress;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
    await this.#admin.disconnect().catch(() => undefined);
    await this.#uncommitted?.disconnect().catch(() => undefined);
  }

  #describe(): string {
    const error = this.#lastError === undefined ? '' : `; last poll error: ${String(this.#lastError)}`;
    return `${this.#records} of ${this.#expected} records on target topic ${this.#topic}${error}`;
  }

  /**
   * Sum of the high watermarks (read_uncommitted). The partitions come from an earlier poll;
   * the first poll of the topic waits for its own listing of last stable offsets to learn them.
   */
  async #highWatermarks(
    cluster: OffsetsCluster,
    listed: Promise<ReadonlyArray<{ partition: number }>>,
  ): Promise<number> {
    const partitions = this.#partitions ?? (await listed).map((p) => p.partition);
    await cluster.addTargetTopic(this.#topic);
    const [ends] = await cluster.fetchTopicsOffset([
      {
        topic: this.#topic,
        fromBeginning: false,
        partitions: partitions.map((partition) => ({ partition })),
      },
    ]);
    return (ends?.partitions ?? []).reduce((sum, p) => sum + Number(p.offset), 0);
  }

  /** One poller: starts after `delayMs`, then polls every `pollers` x 50 ms (or as fast as answers come). */
  async #run(delayMs: number, pollers: number): Promise<void> {
    await sleep(delayMs);
    const period = POLL_INTERVAL_MS * pollers;
    while (!this.#stopped && this.#doneAt === undefined) {
      const started = performance.now();
      try {
        if (!this.#exists) this.#exists = (await this.#admin.listTopics()).includes(this.#topic);
        if (this.#exists) {
          const listed = this.#admin.fetchTopicOffsets(this.#topic);
          // Beside the last stable offsets, not after them: over the 100 ms link (wan-100ms-eos)
          // one more round trip per poll would coarsen the start.
          const [offsets, written] = await Promise.all([
            listed,
            this.#uncommitted !== undefined && this.#firstAt === undefined
              ? this.#highWatermarks(this.#uncommitted, listed)
              : 0,
          ]);
          this.#partitions ??= offsets.map((p) => p.partition);
          const now = performance.now();
          const records = offsets.reduce((sum, p) => sum + Number(p.high), 0);
          this.#records = Math.max(this.#records, records);
          if ((records > 0 || written > 0) && this.#firstAt === undefined) {
            this.#firstAt = now;
            this.#onFirstRecord();
          }
          if (!this.#transactional) {
            if (records >= this.#expected) this.#doneAt ??= now;
          } else {
            const last = this.#reached.at(-1);
            if (last === undefined || records > last.sum) this.#reached.push({ sum: records, at: now });
            else if (records >= this.#expected && now - last.at >= TRANSACTIONAL_QUIET_MS)
              this.#doneAt ??= last.at;
          }
        }
        this.#lastError = undefined;
      } catch (error) {
        // A topic just created has no leader for a moment; the next poll will see it.
        this.#lastError = error;
      }
      const elapsed = performance.now() - started;
      if (elapsed < period) await sleep(period - elapsed);
    }
  }
}
