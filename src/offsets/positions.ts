// Any source position translated, not only a consumer group's commits: stream processors and sinks
// keep their offsets outside Kafka (Flink and Spark checkpoints, database tables). The positions
// are given as `<topic>:<partition>:<offset>` (the command line) or as a JSON document (a file),
// and translated by the same search as a group's committed offsets (translate.ts), with the same
// statuses. docs/disaster-recovery.md ("Translating any position") documents both formats.
import type { Config } from '../config/index.ts';
import { InvalidPositionError } from '../errors/index.ts';
import type { Logger } from '../observability/logger.ts';
import { flowWithClients, Translator, type PartitionTranslation, type SourcePosition } from './translate.ts';

export type { SourcePosition } from './translate.ts';

/** Translated positions: the document `offsets translate --positions-file` writes. */
export interface PositionsReport {
  readonly flow: string;
  /** One per position given, in the order given; `sourceOffset` is the position's offset. */
  readonly positions: PartitionTranslation[];
}

const WHOLE = /^(0|[1-9][0-9]*)$/;

/** A partition or offset: a whole number written in decimal digits, within what JavaScript holds exactly. */
function wholeNumber(text: string): number | undefined {
  if (!WHOLE.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/**
 * `<topic>:<partition>:<offset>`, such as `orders:0:405`. Kafka topic names have no `:`; partition
 * and offset are whole numbers (no sign, no exponent, no spaces).
 */
export function parsePosition(text: string): SourcePosition {
  const parts = text.split(':');
  const [topic = '', partition = '', offset = ''] = parts;
  const problem =
    parts.length !== 3
      ? 'expected <topic>:<partition>:<offset>, such as orders:0:405'
      : topic === ''
        ? 'the topic is empty'
        : wholeNumber(partition) === undefined
          ? `the partition "${partition}" is not a whole number`
          : wholeNumber(offset) === undefined
            ? `the offset "${offset}" is not a whole number`
            : undefined;
  if (problem !== undefined) throw new InvalidPositionError(text, problem);
  return { topic, partition: Number(partition), offset: Number(offset) };
}

/** One entry of a positions document, checked: exactly `topic`, `partition` and `offset`. */
function positionEntry(entry: unknown, at: string): SourcePosition {
  const fail = (problem: string) => new InvalidPositionError(at, problem);
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw fail('expected an object {"topic": ..., "partition": ..., "offset": ...}');
  const { topic, partition, offset, ...rest } = entry as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw fail(`unknown key(s) ${extra.join(', ')}: only topic, partition and offset`);
  if (typeof topic !== 'string' || topic === '' || topic.includes(':'))
    throw fail('"topic" must be a topic name (a non-empty string)');
  const whole = (value: unknown) => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  if (!whole(partition)) throw fail('"partition" must be a whole number');
  if (!whole(offset)) throw fail('"offset" must be a whole number');
  return { topic, partition: partition as number, offset: offset as number };
}

/**
 * A positions document: `{"positions": [{"topic": "orders", "partition": 0, "offset": 405}, ...]}`,
 * at least one entry, nothing else. `source` names where the text came from, for the errors.
 */
export function parsePositionsDocument(text: string, source: string): SourcePosition[] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new InvalidPositionError(source, `not JSON: ${(error as Error).message}`);
  }
  const shape = 'expected {"positions": [{"topic": ..., "partition": ..., "offset": ...}, ...]}';
  if (typeof document !== 'object' || document === null || Array.isArray(document))
    throw new InvalidPositionError(source, shape);
  const { positions, ...rest } = document as Record<string, unknown>;
  if (Object.keys(rest).length > 0)
    throw new InvalidPositionError(source, `unknown key(s) ${Object.keys(rest).join(', ')}: ${shape}`);
  if (!Array.isArray(positions) || positions.length === 0) throw new InvalidPositionError(source, shape);
  return positions.map((entry, i) => positionEntry(entry, `${source} positions[${i}]`));
}

/**
 * Translates source positions of one flow into positions on its target: for each, the target offset
 * where a consumer reads every source record from that position on and none before it, with the
 * same statuses as a group's translation (`translated`, `caught-up`, `pending`, `gap`). Reads only;
 * connects to both clusters and closes the connections before it returns. Throws
 * InvalidPositionError (KM_INVALID_POSITION) when a position is not on a partition of the flow's
 * source topics or lies past its end, UsageError when the config has no flow `flow`.
 */
export async function translatePositions(
  config: Config,
  logger: Logger,
  options: { readonly flow: string; readonly positions: readonly SourcePosition[] },
): Promise<PositionsReport> {
  for (const p of options.positions) {
    const valid = [p.partition, p.offset].every((n) => Number.isSafeInteger(n) && n >= 0);
    if (!valid || p.topic === '')
      throw new InvalidPositionError(`${p.topic}:${p.partition}:${p.offset}`, 'not a source position');
  }
  const { flow, clients } = flowWithClients(config, logger, options.flow);
  const translator = new Translator(config, flow, clients);
  await translator.connect();
  try {
    return { flow: flow.name, positions: await translator.translatePositions(options.positions) };
  } finally {
    await translator.close();
  }
}
