// The scenarios and systems of `npm run bench`, and the environment that scales them. Names are
// the contract of bench/results/latest.json (issue 8): change them only with the docs.

export const SYSTEMS = [
  'kafka-mirror',
  'mm2-default',
  'mm2-tuned',
  'mm2-eos',
  'ceiling-produce',
  'ceiling-consume',
] as const;
export type SystemName = (typeof SYSTEMS)[number];

export const SCENARIO_NAMES = [
  'backlog-1k',
  'backlog-1k-eos',
  'small-100b',
  'large-64k',
  'wan-100ms',
  'wan-100ms-eos',
  'steady-50pct',
  'steady-25pct',
] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface Scenario {
  readonly name: ScenarioName;
  /** Value bytes of every record (keys are null, as ProducerPerformance writes them). */
  readonly recordSize: number;
  /** Records preloaded (catch-up scenarios); 0 for the steady scenarios, which produce rate x seconds. */
  readonly records: number;
  readonly partitions: number;
  /** Replicator -> target crosses Toxiproxy with this one-way latency (ms), each direction. */
  readonly oneWayLatencyMs: number;
  /** Steady load instead of a preloaded backlog: seconds of load at `steadyShare` of kafka-mirror's maximum. */
  readonly steadySeconds: number | undefined;
  /** Steady load: the share of kafka-mirror's backlog-1k median records/s produced (0.5, 0.25). */
  readonly steadyShare: number | undefined;
  /** Exactly-once: kafka-mirror with `delivery: exactly-once`, against mm2-eos only. */
  readonly exactlyOnce: boolean;
  readonly systems: readonly SystemName[];
}

/**
 * Producer settings of the preload and of ceiling-produce: large batches, a short linger and
 * acks=all (what the replicators write with), no compression (the records are random letters).
 */
export const THROUGHPUT_PRODUCER_PROPS = [
  'acks=all',
  'linger.ms=10',
  'batch.size=524288',
  'buffer.memory=67108864',
  'compression.type=none',
];

/**
 * Steady load: records leave the producer as they are made (linger.ms=0), so a record's CreateTime
 * is close to the moment it reaches the source and the latency measured is the replicator's.
 */
export const STEADY_PRODUCER_PROPS = ['acks=all', 'linger.ms=0', 'compression.type=none'];

const REPLICATORS = [
  'kafka-mirror',
  'mm2-default',
  'mm2-tuned',
  'mm2-eos',
] as const satisfies readonly SystemName[];
export const isReplicator = (system: SystemName): boolean =>
  (REPLICATORS as readonly string[]).includes(system);

/**
 * Full-run sizes (BENCH_SCALE=1) and what each scenario exercises. Each is large enough that a
 * replicator spends tens of seconds moving data on a 2-core machine, so start-up and the poll
 * interval (50 ms) stay small beside it. The wan scenarios are smaller because MirrorMaker 2's
 * defaults move well under 1 MB/s over a 100 ms round trip (one request in flight, 16 KiB batches).
 */
interface ScenarioShape {
  readonly recordSize: number;
  readonly records: number;
  readonly minRecords?: number;
  readonly steadySeconds?: number;
  readonly steadyShare?: number;
  /** Replicator -> target behind Toxiproxy, this many ms each way. */
  readonly oneWayLatencyMs?: number;
  readonly exactlyOnce?: boolean;
}

// At least 5,000 records in a smoke run of a wan scenario: fewer cross the link within one or two polls.
const WAN_100MS: ScenarioShape = { recordSize: 1024, records: 60_000, minRecords: 5000, oneWayLatencyMs: 50 };

const FULL: Record<ScenarioName, ScenarioShape> = {
  'backlog-1k': { recordSize: 1024, records: 1_000_000 },
  'backlog-1k-eos': { recordSize: 1024, records: 1_000_000, exactlyOnce: true },
  'small-100b': { recordSize: 100, records: 2_000_000 },
  'large-64k': { recordSize: 65_536, records: 16_000 },
  'wan-100ms': WAN_100MS,
  'wan-100ms-eos': { ...WAN_100MS, exactlyOnce: true },
  'steady-50pct': { recordSize: 1024, records: 0, steadySeconds: 60, steadyShare: 0.5 },
  'steady-25pct': { recordSize: 1024, records: 0, steadySeconds: 60, steadyShare: 0.25 },
};

/**
 * Which systems a scenario runs. Exactly-once scenarios compare the two exactly-once replicators
 * (their ceilings are those of the at-least-once twin: backlog-1k, wan-100ms). Everywhere else
 * mm2-eos is left out, and so is ceiling-consume where it measures nothing new: behind the link
 * only the target is (reading the source alone is backlog-1k's figure), and a steady load's
 * produce-to-consume floor needs no consume-only ceiling.
 */
function runsSystem(shape: ScenarioShape, system: SystemName): boolean {
  if (shape.exactlyOnce === true) return system === 'kafka-mirror' || system === 'mm2-eos';
  if (system === 'mm2-eos') return false;
  if (system === 'ceiling-consume')
    return (shape.oneWayLatencyMs ?? 0) === 0 && shape.steadySeconds === undefined;
  return true;
}

export interface BenchOptions {
  readonly scale: number;
  readonly repetitions: number;
  readonly scenarios: readonly Scenario[];
  /** Every system runs (BENCH_SYSTEMS unset or naming them all): with every scenario and scale 1, a complete run. */
  readonly allSystems: boolean;
  /** Give up on one run (one system, one repetition) after this long; the run is reported as failed. */
  readonly runTimeoutMs: number;
  /** Pause between runs so deletes, flushes and GC of the previous run settle. */
  readonly settleMs: number;
  /**
   * Records per second of steady-50pct (BENCH_STEADY_RATE); default: half of kafka-mirror's
   * backlog-1k median. Every steady scenario runs at its share of twice this rate.
   */
  readonly steadyRate: number | undefined;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function list<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[]): readonly T[] {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return allowed;
  const chosen = raw.split(',').map((s) => s.trim());
  const unknown = chosen.filter((s) => !(allowed as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new Error(`${name}: unknown ${unknown.join(', ')}; known: ${allowed.join(', ')}`);
  }
  return allowed.filter((a) => chosen.includes(a));
}

/**
 * Reads the options from the environment and `--quick`:
 * BENCH_SCALE (record counts and steady duration, default 1; `--quick` = 0.02 and 1 repetition),
 * REPETITIONS (default 3), BENCH_SCENARIOS and BENCH_SYSTEMS (comma lists, default all),
 * BENCH_RUN_TIMEOUT_S (default 600), BENCH_SETTLE_S (default 3), BENCH_STEADY_RATE (records/s).
 */
export function benchOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const unknownArgs = argv.filter((a) => a !== '--quick');
  if (unknownArgs.length > 0) throw new Error(`unknown arguments: ${unknownArgs.join(' ')} (only --quick)`);
  const quick = argv.includes('--quick');
  const scale = positiveNumber(env, 'BENCH_SCALE', quick ? 0.02 : 1);
  const repetitions = Math.round(positiveNumber(env, 'REPETITIONS', quick ? 1 : 3));
  const systems = list(env, 'BENCH_SYSTEMS', SYSTEMS);
  const names = list(env, 'BENCH_SCENARIOS', SCENARIO_NAMES);
  const scenarios = names.map((name): Scenario => {
    const full = FULL[name];
    const steady = full.steadySeconds === undefined ? undefined : Math.max(10, full.steadySeconds * scale);
    return {
      name,
      recordSize: full.recordSize,
      // Steady runs produce rate x seconds records, known once backlog-1k has run.
      records: steady === undefined ? Math.max(full.minRecords ?? 1000, Math.round(full.records * scale)) : 0,
      partitions: 6,
      oneWayLatencyMs: full.oneWayLatencyMs ?? 0,
      steadySeconds: steady,
      steadyShare: full.steadyShare,
      exactlyOnce: full.exactlyOnce ?? false,
      systems: systems.filter((s) => runsSystem(full, s)),
    };
  });
  const steadyRaw = env['BENCH_STEADY_RATE'];
  return {
    scale,
    repetitions,
    scenarios,
    allSystems: systems.length === SYSTEMS.length,
    runTimeoutMs: positiveNumber(env, 'BENCH_RUN_TIMEOUT_S', 600) * 1000,
    settleMs: (env['BENCH_SETTLE_S'] === '0' ? 0 : positiveNumber(env, 'BENCH_SETTLE_S', 3)) * 1000,
    steadyRate:
      steadyRaw === undefined || steadyRaw === '' ? undefined : positiveNumber(env, 'BENCH_STEADY_RATE', 1),
  };
}
