// A flow's bandwidth cap (flows[].maxBytesPerSecond), for links shared with other traffic.
// Generic cell rate algorithm: each write reserves its bytes on a virtual clock that advances at
// the configured rate, and waits until that clock is no more than one burst ahead of real time.
// Writes of every partition share the clock, so the flow as a whole stays at the rate; a write
// waiting here holds its partition's slot, so the queue fills and the source fetch pauses.

import { InvalidArgumentError } from '../errors/index.ts';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export class RateLimiter {
  readonly #bytesPerMs: number;
  readonly #burstMs: number;
  readonly #clock: Clock;
  /** Virtual time (ms) at which everything reserved so far has been paid for. */
  #paidUntil = Number.NEGATIVE_INFINITY;

  /** `burstMs`: how far ahead of the rate a burst may go (one second of bytes by default). */
  constructor(bytesPerSecond: number, clock: Clock, burstMs = 1000) {
    if (!(bytesPerSecond > 0)) throw new InvalidArgumentError(`rate must be positive, got ${bytesPerSecond}`);
    this.#bytesPerMs = bytesPerSecond / 1000;
    this.#burstMs = burstMs;
    this.#clock = clock;
  }

  /**
   * Resolves when `bytes` may be sent: at any time t, what was let through is at most one burst
   * plus the rate times t. A write larger than a burst waits for the part above it.
   */
  async take(bytes: number): Promise<void> {
    const now = this.#clock.now();
    this.#paidUntil = Math.max(this.#paidUntil, now) + bytes / this.#bytesPerMs;
    const wait = this.#paidUntil - this.#burstMs - now;
    if (wait > 0) await this.#clock.sleep(wait);
  }
}
