// A record batch corrupted on the source broker's disk (issue 19, defect 9): brokers serve fetches
// from their log files without checking them, and kafkajs skips the CRC check, so the bad batch
// would be copied. One byte of a record in the middle batch of a partition is flipped in the
// segment file of a real broker (it serves the page cache, so the change is what it sends): the
// partition halts before that batch with KM_CORRUPT_RECORD_BATCH, what came before it is copied
// and committed, nothing from it on; the other partition is unaffected.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { glob, open } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { flowConfig, startDaemon } from '../support/daemon.ts';
import { useClusterPair } from '../support/cluster-pair.ts';
import { cacheDir } from '../support/kafka/paths.ts';
import { committedOn, createTopic, produceAll, readTopic } from '../support/kafka-client.ts';
import { scrape, total } from '../support/prometheus.ts';
import { eventually } from '../support/settled.ts';

/** The first segment file of a partition, found by its (unique) topic name among the launcher's runs. */
async function segmentOf(topic: string, partition: number): Promise<string> {
  const pattern = path.join(cacheDir, 'runs', '*', 'node*', '**', `${topic}-${partition}`, '*.log');
  for await (const file of glob(pattern)) return file;
  throw new Error(`no segment file of ${topic}-${partition} under ${cacheDir}/runs`);
}

/** Flips one bit of the last byte of the `index`th record batch (a record's value) of a segment file. */
async function corruptBatch(file: string, index: number): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const header = Buffer.alloc(12);
    let at = 0;
    for (let i = 0; i < index; i++) {
      await handle.read(header, 0, 12, at);
      at += 12 + header.readInt32BE(8);
    }
    await handle.read(header, 0, 12, at);
    const last = at + 12 + header.readInt32BE(8) - 1;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, last);
    byte[0] = (byte[0] as number) ^ 0x01;
    await handle.write(byte, 0, 1, last);
  } finally {
    await handle.close();
  }
}

test(
  'a batch corrupted on the source halts its partition before it; nothing of it or after it is copied',
  { timeout: 300_000 },
  async (t) => {
    const { source, target, src, dst } = await useClusterPair(t);
    const topic = `corrupt-${randomUUID().slice(0, 6)}`;
    const flow = `corrupt-${randomUUID().slice(0, 6)}`;
    await createTopic(src, topic, { partitions: 2 });
    // Partition 0: three batches of three records (one send each); partition 1: five records.
    for (const name of ['before', 'corrupt', 'after'])
      await produceAll(
        src,
        topic,
        [0, 1, 2].map((i) => ({ value: `${name}-${i}`, partition: 0 })),
      );
    await produceAll(
      src,
      topic,
      [0, 1, 2, 3, 4].map((i) => ({ value: `other-${i}`, partition: 1 })),
    );
    await corruptBatch(await segmentOf(topic, 0), 1);

    const daemon = await startDaemon(
      t,
      flowConfig(source, target, { name: flow, topics: { include: [topic] } }),
    );
    const halt = await daemon.waitForLog(
      (l) =>
        l['msg'] === 'partition halted: a fetched record batch is corrupt; nothing past it will be committed',
    );
    assert.equal(halt['partition'], 0);
    const err = halt['err'] as { code?: string; offset?: number; message?: string };
    assert.equal(err.code, 'KM_CORRUPT_RECORD_BATCH');
    assert.equal(err.offset, 3, 'the corrupt batch named by its base offset');
    assert.match(String(err.message), /stored crc \d+, computed crc \d+/);
    const admin = await daemon.adminUrl();
    await eventually('one halted partition', async () =>
      total(await scrape(admin), 'kafka_mirror_halted_partitions') === 1 ? true : undefined,
    );
    const group = `kafka-mirror.${flow}`;
    await eventually('the records before the corrupt batch and all of partition 1 committed', async () => {
      const committed = await committedOn(src, group, topic);
      return committed.get(0) === 3 && committed.get(1) === 5 ? true : undefined;
    });
    assert.equal(await daemon.stop('SIGTERM'), 0, 'a halted partition still stops cleanly');
    const copies = await readTopic(dst, topic);
    assert.deepEqual(
      copies.filter((r) => r.partition === 0).map((r) => r.value),
      ['before-0', 'before-1', 'before-2'],
    );
    assert.equal(copies.filter((r) => r.partition === 1).length, 5);
    assert.equal(
      (await committedOn(src, group, topic)).get(0),
      3,
      'nothing past the corrupt batch committed',
    );
  },
);
