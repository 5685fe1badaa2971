import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowEntry, recoveryPoint } from '../../../src/daemon/status.ts';
import type { FlowConfig } from '../../../src/config/index.ts';
import type { FlowMetrics } from '../../../src/observability/metrics.ts';

test('/status has no recovery point before the first lag refresh, then the last refresh’s', () => {
  const entry = flowEntry({ name: 'f' } as FlowConfig, {} as FlowMetrics);
  assert.equal(recoveryPoint(entry.rpo.last), null);
  entry.rpo.update(
    [{ topic: 't', partition: 0, position: 5, logEnd: 5 }],
    Date.parse('2026-01-01T00:00:00Z'),
  );
  entry.rpo.update(
    [{ topic: 't', partition: 0, position: 5, logEnd: 9 }],
    Date.parse('2026-01-01T00:00:02.5Z'),
  );
  assert.deepEqual(recoveryPoint(entry.rpo.last), {
    asOf: '2026-01-01T00:00:02.500Z',
    records: 4,
    seconds: 2.5,
    partitions: [{ topic: 't', partition: 0, position: 5, logEnd: 9, records: 4 }],
  });
});
