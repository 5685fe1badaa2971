// The two lifecycle verbs of a writer: close() drains, destroy() stops at once; both idempotent.

/**
 * Runs a writer's drain or stop once. `close` after `destroy` resolves when the stop does (there is
 * nothing left to drain); `destroy` during a `close` stops at once, and the drain then ends as
 * what it waited for fails; `destroy` after a finished `close` has nothing left to stop.
 */
export class Lifecycle {
  #closing: Promise<void> | undefined;
  #closed = false;
  #destroying: Promise<void> | undefined;

  /** Whether close() or destroy() was called. */
  get ended(): boolean {
    return this.#closing !== undefined || this.#destroying !== undefined;
  }

  close(drain: () => Promise<void>): Promise<void> {
    this.#closing ??= (this.#destroying ?? drain()).finally(() => (this.#closed = true));
    return this.#closing;
  }

  destroy(stop: () => Promise<void>): Promise<void> {
    this.#destroying ??= this.#closed ? Promise.resolve() : stop();
    return this.#destroying;
  }
}
