// Requests of a writer waiting for the target: how long the oldest has waited (readiness), and
// the writer's destroy(), which fails them all at once.

/**
 * Requests waiting for the target, for the writers' `pendingSince()`: a target that is down or
 * blackholed shows as a request pending for long, before any timeout fires. `destroy(error)`
 * rejects every request still pending with `error` at once (the work behind it is stopped by the
 * writer's abort signal and by closing its connections), and every later one before it starts.
 */
export class PendingRequests {
  readonly #pending = new Set<{ readonly since: number; readonly stop: (error: unknown) => void }>();
  #destroyed: Error | undefined;

  async track<T>(request: () => Promise<T>): Promise<T> {
    if (this.#destroyed !== undefined) throw this.#destroyed;
    let stop!: (error: unknown) => void;
    const stopped = new Promise<never>((_, reject) => (stop = reject));
    const pending = { since: Date.now(), stop };
    this.#pending.add(pending);
    try {
      return await Promise.race([request(), stopped]);
    } finally {
      this.#pending.delete(pending);
    }
  }

  /** When the oldest request still waiting began (undefined when none is). */
  oldest(): number | undefined {
    let oldest: number | undefined;
    for (const { since } of this.#pending) oldest = Math.min(oldest ?? since, since);
    return oldest;
  }

  /** Rejects every pending request with `error` now, and every later one at once. Idempotent. */
  destroy(error: Error): void {
    this.#destroyed ??= error;
    for (const pending of this.#pending) pending.stop(this.#destroyed);
    this.#pending.clear();
  }
}
