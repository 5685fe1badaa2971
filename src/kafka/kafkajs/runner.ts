// Replaces kafkajs/src/consumer/runner.js's Runner.prototype.handleBatch with a wrapper that notes
// the batches handed to a runner with eachBatch (kafkajs's own method then runs unchanged).
//
// Why: the patched Batch (batch.ts) is not empty for an eachBatch runner while its record set ends
// past the fetched offset with nothing to return (transaction markers, aborted records, batches
// emptied by compaction), so that the reader moves past them; an eachMessage runner keeps
// kafkajs's own path for them. A Batch learns which runner it goes to from this.
import { kafkajsModule } from './module-cache.ts';

/** Batches handed to a runner with eachBatch. */
const toEachBatch = new WeakSet<object>();

/** Whether kafkajs's runner handed this batch to an eachBatch handler. */
export const handedToEachBatch = (batch: object): boolean => toEachBatch.has(batch);

interface RunnerClass {
  prototype: {
    eachBatch?: unknown;
    handleBatch(this: { eachBatch?: unknown }, batch: object): Promise<void>;
  };
}

export function installRunner(): void {
  const Runner = kafkajsModule<RunnerClass>('consumer/runner.js');
  const handleBatch = Runner.prototype.handleBatch;
  Runner.prototype.handleBatch = function (batch) {
    if (this.eachBatch !== undefined) toEachBatch.add(batch);
    return handleBatch.call(this, batch);
  };
}
