// Heartbeats: a tiny record written to the flow's source cluster every few seconds. The flow reads
// it like any record and copies it to the target, so the replication latency histogram stays
// fresh while user traffic is idle, and a stalled path shows as a heartbeat that never arrives.
import { hostname } from 'node:os';
import type { Kafka as KafkaClient, Producer } from 'kafkajs';
import type { Logger } from '../observability/logger.ts';
import type { TopicAdmin } from './topic-admin.ts';

/** The internal topic, on every cluster a flow reads from or writes to (never matched by topic filters). */
export const HEARTBEAT_TOPIC = 'kafka-mirror.heartbeats';

/** Heartbeats are only useful while fresh: a day of them is plenty for an investigation. */
const HEARTBEAT_TOPIC_CONFIGS = { 'cleanup.policy': 'delete', 'retention.ms': String(24 * 3600 * 1000) };

export interface HeartbeatOptions {
  readonly flow: string;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly onSent: () => void;
  readonly onError: (error: unknown) => void;
}

export class HeartbeatEmitter {
  readonly #producer: Producer;
  readonly #admin: TopicAdmin;
  readonly #options: HeartbeatOptions;
  #timer: NodeJS.Timeout | undefined;
  #failing = false;
  #beating = false;
  #destroyed: Promise<void> | undefined;

  constructor(kafka: KafkaClient, admin: TopicAdmin, options: HeartbeatOptions) {
    this.#admin = admin;
    this.#options = options;
    this.#producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
  }

  /** Creates the source's heartbeat topic if it is missing (one partition), then beats on a timer. */
  async start(): Promise<void> {
    const counts = await this.#admin.partitionCounts();
    if (!counts.has(HEARTBEAT_TOPIC)) {
      // Resolves 'exists' when another instance won the race (TopicAdmin.createTopic).
      await this.#admin.createTopic(HEARTBEAT_TOPIC, 1, -1, HEARTBEAT_TOPIC_CONFIGS);
    }
    await this.#producer.connect();
    await this.#beat();
    if (this.#destroyed !== undefined) return; // closed while starting
    this.#timer = setInterval(() => void this.#beat(), this.#options.intervalMs);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    const { flow } = this.#options;
    if (this.#beating) return; // the last one is still waiting for the source: no pile-up
    this.#beating = true;
    try {
      await this.#producer.send({
        topic: HEARTBEAT_TOPIC,
        acks: -1,
        messages: [
          {
            key: flow,
            value: JSON.stringify({ flow, host: hostname(), pid: process.pid }),
            timestamp: String(Date.now()),
          },
        ],
      });
      this.#options.onSent();
      if (this.#failing) this.#options.logger.info('heartbeats written again');
      this.#failing = false;
    } catch (error) {
      this.#options.onError(error);
      // Once per outage: the flow's own errors say the rest.
      if (!this.#failing) this.#options.logger.warn({ err: error }, 'heartbeat not written to the source');
      this.#failing = true;
    } finally {
      this.#beating = false;
    }
  }

  /**
   * Stops beating and disconnects. Nothing is drained: a heartbeat in flight is disposable (the
   * next run writes new ones), and waiting for it could hold a shutdown on an unreachable source.
   * Idempotent.
   */
  close(): Promise<void> {
    return this.destroy();
  }

  /** Stops beating and disconnects at once. Idempotent. */
  destroy(): Promise<void> {
    clearInterval(this.#timer);
    this.#destroyed ??= this.#producer.disconnect();
    return this.#destroyed;
  }
}
