// A fetched batch that failed its check halts its partition in the flow (issue 19, defect 9): the
// halt is reported once however many fetches bring the batch again, and the partition is paused
// every time (an exactly-once restore may have resumed it). The end-to-end case, a batch corrupted
// on a real broker's disk: test/integration/corrupt-batch.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CorruptRecordBatchError } from '../../../src/errors/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';
import { Metrics } from '../../../src/observability/metrics.ts';
import { Flow } from '../../../src/replication/flow.ts';
import { type FlowSource } from '../../../src/replication/ports.ts';
import { flowConfig } from '../../support/flow-config.ts';
import { catalogOf } from './fixtures/flow-fakes.ts';

const catalog = catalogOf();

test('a corrupt batch halts its partition once, and pauses it at every report', async (t) => {
  const pauses: Array<[string, number]> = [];
  const source: FlowSource = {
    topics: [],
    setTopics: async () => {},
    pause: (topic, partition) => void pauses.push([topic, partition]),
    resume: () => {},
    seek: () => {},
    pauseAll: () => {},
    resumeAll: () => {},
    commit: async (offsets) => offsets,
    stopFetching: async () => {},
  };
  const lines: string[] = [];
  const config = flowConfig();
  const flow = new Flow({
    config,
    settings: {
      queue: { maxRecords: 100, maxBytes: 1 << 20 },
      producer: {
        compression: 'none',
        maxRequestBytes: 1 << 20,
        concurrency: 1,
        maxInFlightPerPartition: 1,
        requestTimeoutMs: 1000,
      },
    },
    source,
    target: { delivery: 'at-least-once', write: async () => {} },
    catalogs: { source: catalog, target: catalog },
    logger: createLogger({ level: 'info', destination: { write: (line: string) => lines.push(line) } }),
    metrics: new Metrics().flow(config.name),
  });
  t.after(() => flow.close(1000));
  const error = new CorruptRecordBatchError('orders', 2, 40, 'stored crc 1, computed crc 2');
  flow.onCorruptBatch(error);
  flow.onCorruptBatch(error);
  assert.deepEqual(flow.haltedPartitions(), [{ topic: 'orders', partition: 2, reason: error.message }]);
  assert.deepEqual(pauses, [
    ['orders', 2],
    ['orders', 2],
  ]);
  const halts = lines
    .map((line) => JSON.parse(line) as { msg: string; err?: { code?: string } })
    .filter((l) => l.msg.startsWith('partition halted'));
  assert.equal(halts.length, 1, 'logged once');
  assert.equal(
    halts[0]?.msg,
    'partition halted: a fetched record batch is corrupt; nothing past it will be committed',
  );
  assert.equal(halts[0]?.err?.code, 'KM_CORRUPT_RECORD_BATCH');
});
