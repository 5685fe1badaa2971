// How far a source partition's copies reach on the target: the target partition's last record
// replicated from it, found from the target alone by single-record probes of the `km.src.*`
// headers (provenance.ts). Offset translation (translate.ts) searches from here; anything that
// needs "what of the source is on the target" (the divergence report, reconciliation, drills)
// reads the same frontier.
import type { RawClient } from '../kafka/raw-client.ts';
import type { SourceRecord } from '../protocol/records.ts';
import { replicatedFrom } from '../replication/provenance.ts';
import type { Probe } from './search.ts';

/** A target record replicated from the source partition looked at. */
export interface Replicated extends Probe {
  /** The record's timestamp (epoch ms): the source record's own, which the copy keeps. */
  readonly timestamp: number;
}

/** One target partition, read for the copies of one source partition. */
export interface TargetView {
  readonly client: RawClient;
  readonly remoteTopic: string;
  readonly partition: number;
  /** The source partition whose copies count (a target topic may also hold other records). */
  readonly from: { readonly cluster: string; readonly topic: string; readonly partition: number };
  /** Single-record fetches so far (reports show them). */
  probes: number;
}

/**
 * The records among `records` replicated from the view's source partition, with the source offset
 * each carries. A target topic can also hold records written on the target itself (active-active
 * with identity names) or copied from another source (fan-in); those are skipped.
 */
export function replicatedIn(view: TargetView, records: readonly SourceRecord[]): Replicated[] {
  return records.flatMap((r) => {
    const sourceOffset = replicatedFrom(r.headers, view.from);
    return sourceOffset === undefined
      ? []
      : [{ offset: Number(r.offset), sourceOffset, timestamp: Number(r.timestamp) }];
  });
}

/** The first target record at or after `position` replicated from the view's source partition. */
export async function probeFrom(view: TargetView, position: number): Promise<Replicated | undefined> {
  view.probes++;
  for (let at = position; ;) {
    const records = await view.client.recordsFrom(view.remoteTopic, view.partition, at);
    const last = records.at(-1);
    if (last === undefined) return undefined;
    const found = replicatedIn(view, records)[0];
    if (found !== undefined) return found;
    at = Number(last.offset) + 1;
  }
}

/**
 * The target partition's last record replicated from the view's source partition, within the
 * target's [low, high) (a flow writes after its source offset next). Probes back from the end at
 * doubling distances down to the log start; a hit further back than the last position (other
 * records, markers or aborted records at the end) is followed forward to the last one.
 */
export async function lastReplicated(
  view: TargetView,
  target: { readonly low: number; readonly high: number },
): Promise<Replicated | undefined> {
  const { low, high } = target;
  let last: Replicated | undefined;
  for (let back = 1; last === undefined && high > low; back *= 2) {
    const at = Math.max(low, high - back);
    last = await probeFrom(view, at);
    if (at === low) break;
  }
  for (let at = (last?.offset ?? high) + 1; last !== undefined && at < high;) {
    const records = (await view.client.recordsFrom(view.remoteTopic, view.partition, at)).filter(
      (r) => Number(r.offset) < high,
    );
    const end = records.at(-1);
    if (end === undefined) break;
    last = replicatedIn(view, records).at(-1) ?? last;
    at = Number(end.offset) + 1;
  }
  return last;
}
