// How far a replicator (or ceiling-produce) has got: the sum of a target topic's end offsets,
// polled every 50 ms. The first poll that sees a record and the first that sees them all bound
// the measured interval, the same way for every system.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { kafkajs } from '../src/kafka/kafkajs.ts';

const { Kafka, logLevel } = kafkajs;

export const POLL_INTERVAL_MS = 50;

export interface Progress {
  /** performance.now() of the first poll that saw a record on the target. */
  readonly firstAt: number | undefined;
  /** performance.now() of the first poll that saw every expected record. */
  readonly doneAt: number | undefined;
  readonly records: number;
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
  #loop: Promise<void> | undefined;

  private constructor(admin: Admin, topic: string, expected: number) {
    this.#admin = admin;
    this.#topic = topic;
    this.#expected = expected;
  }

  /** Starts polling `topic` (which may not exist yet) on the given cluster. */
  static async start(
    bootstrapServers: readonly string[],
    topic: string,
    expected: number,
  ): Promise<TargetProgress> {
    const admin = new Kafka({
      clientId: 'kafka-mirror-bench-progress',
      brokers: [...bootstrapServers],
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      // A failed poll is simply the next poll: no client-side backoff hiding the moment of arrival.
      retry: { retries: 0 },
    }).admin();
    await admin.connect();
    const progress = new TargetProgress(admin, topic, expected);
    progress.#loop = progress.#run();
    return progress;
  }

  get progress(): Progress {
    return { firstAt: this.#firstAt, doneAt: this.#doneAt, records: this.#records };
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
    await this.#loop;
    await this.#admin.disconnect().catch(() => undefined);
  }

  #describe(): string {
    const error = this.#lastError === undefined ? '' : `; last poll error: ${String(this.#lastError)}`;
    return `${this.#records} of ${this.#expected} records on target topic ${this.#topic}${error}`;
  }

  async #run(): Promise<void> {
    let exists = false;
    while (!this.#stopped && this.#doneAt === undefined) {
      const started = performance.now();
      try {
        if (!exists) exists = (await this.#admin.listTopics()).includes(this.#topic);
        if (exists) {
          const offsets = await this.#admin.fetchTopicOffsets(this.#topic);
          const now = performance.now();
          this.#records = offsets.reduce((sum, p) => sum + Number(p.high), 0);
          if (this.#records > 0) this.#firstAt ??= now;
          if (this.#records >= this.#expected) this.#doneAt = now;
        }
        this.#lastError = undefined;
      } catch (error) {
        // A topic just created has no leader for a moment; the next poll will see it.
        this.#lastError = error;
      }
      const elapsed = performance.now() - started;
      if (elapsed < POLL_INTERVAL_MS) await sleep(POLL_INTERVAL_MS - elapsed);
    }
  }
}
