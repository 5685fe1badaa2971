// Connecting several clients as one step. With `Promise.all`, the first failure (one cluster's TLS
// material refused, say) rejects at once while the other clients go on connecting, and nothing
// closes them: their sockets kept a one-shot command (verify, offsets, drill) alive after it had
// printed its error, for as long as the broker kept them open.

/** A client with the two lifecycle steps connectAll needs (TopicAdmin, RawClient). */
export interface Connectable {
  connect(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Connects every client. If any fails, every client is closed (those that connected, and those
 * half way) before the first failure is rethrown, so a failed connect leaves nothing open.
 */
export async function connectAll(clients: readonly Connectable[]): Promise<void> {
  const results = await Promise.allSettled(clients.map((c) => c.connect()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed === undefined) return;
  await Promise.allSettled(clients.map((c) => c.close()));
  throw failed.reason;
}
