// Helpers for unit tests that observe promises without awaiting them.

/** Lets pending promise continuations and p-queue hand-offs run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled, and with which error, without awaiting it. */
export function watch(promise: Promise<unknown>): { settled: () => boolean; error: () => unknown } {
  let settled = false;
  let error: unknown;
  promise.then(
    () => (settled = true),
    (e: unknown) => {
      settled = true;
      error = e;
    },
  );
  return { settled: () => settled, error: () => error };
}
