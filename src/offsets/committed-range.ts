// Reading a range of a partition as a read_committed consumer sees it, a fetch at a time, without a
// consumer group (RawClient): reconciliation copies such a range, the reverse start scans one.
import { FetchIncompleteError } from '../errors/index.ts';
import type { RawClient } from '../kafka/raw-client.ts';
import type { SourceRecord } from '../protocol/records.ts';

/**
 * Calls `each` with the committed data records of [from, end) in order, read_committed (records of
 * aborted transactions and markers are not there), a fetch at a time. Returns where the read
 * stopped: `end`, or the last stable offset when a transaction is still open before it.
 */
export async function readCommittedRange(
  client: RawClient,
  where: { readonly topic: string; readonly partition: number },
  range: { readonly from: number; readonly end: number },
  each: (records: readonly SourceRecord[]) => Promise<boolean | void>,
): Promise<number> {
  const { topic, partition } = where;
  let at = range.from;
  while (at < range.end) {
    const read = await client.read(topic, partition, at);
    const records = read.records.filter((r) => Number(r.offset) < range.end);
    if (records.length > 0 && (await each(records)) === false) return Number(records.at(-1)?.offset) + 1;
    if (read.next <= at) {
      if (at >= read.lastStableOffset) return at;
      throw new FetchIncompleteError(topic, partition, at, 'no complete record batch before the end');
    }
    at = Math.min(read.next, range.end);
  }
  return at;
}
