// A response cut part way by the network, with a real broker behind Toxiproxy (issue 19, defect 4).
// Establishes that kafkajs reconnects the same Connection object after its socket dropped (a
// Broker's ConnectionPool keeps its two connections and connects them again on the next request),
// so the patched response reader (src/kafka/kafkajs/connection.ts) must not carry a partly read response
// from one socket into the next; and that the fetch after the cut reads the records it should.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { leaderOf, clusterOf, type RawCluster } from '../../src/kafka/raw-client.ts';
import { useCluster, type KafkaCluster } from '../support/kafka/index.ts';
import { client, createTopic, produceAll } from '../support/kafka-client.ts';
import { eventually } from '../support/settled.ts';

const require = createRequire(import.meta.url);
type Prototype = { connect(): Promise<boolean>; processData(data: Buffer): void };
const Connection = require('kafkajs/src/network/connection.js') as { prototype: Prototype };

const RECORDS = 1000;
const MiB = 2 ** 20;

interface Fetched {
  responses: Array<{ partitions: Array<{ messages: Array<{ offset: string; value: Buffer | null }> }> }>;
}

type Network = NonNullable<KafkaCluster['network']>;

/**
 * The cuts, each while a fetch response of about 1 MiB is on its way: after its first 100 KB
 * (limit_data closes the connection), and once part of it arrived on a link slowed by a bandwidth
 * toxic (reset_peer drops what follows and closes the link; Toxiproxy makes that close a TCP
 * reset only on links opened while the toxic is there: the unit tests in
 * test/unit/kafka/kafkajs/connection.test.ts reset sockets part way themselves).
 */
const cuts: ReadonlyArray<
  readonly [
    string,
    (network: Network, fetching: () => Promise<unknown>, received: () => number) => Promise<void>,
  ]
> = [
  [
    'closed after 100 KB (limit_data)',
    async (network, fetching) => {
      const toxic = await network.addToxic({ type: 'limit_data', attributes: { bytes: 100_000 } });
      await assert.rejects(fetching(), /Closed connection/);
      await network.removeToxic(toxic);
    },
  ],
  [
    'cut part way (reset_peer)',
    async (network, fetching, received) => {
      const slow = await network.addToxic({ type: 'bandwidth', attributes: { rate: 200 } }); // KB/s
      const fetched = fetching();
      await eventually(
        'part of the response',
        async () => (received() > 64 * 1024 ? true : undefined),
        60_000,
      );
      const reset = await network.addToxic({ type: 'reset_peer', attributes: { timeout: 0 } });
      await assert.rejects(fetched, /Closed connection|Connection error/);
      await network.removeToxic(reset);
      await network.removeToxic(slow);
    },
  ],
];

test(
  'kafkajs reconnects the same Connection after a response was cut, and the next fetch reads the records',
  { timeout: 300_000 },
  async (t) => {
    const cluster = await useCluster(t, { name: 'cut', toxiproxy: true });
    const network = cluster.network;
    assert.ok(network !== undefined);
    const topic = `cut-${randomUUID().slice(0, 6)}`;
    const kafka = client(cluster.bootstrapServers, { requestTimeout: 15_000 });
    await createTopic(kafka, topic);
    const values = Array.from({ length: RECORDS }, () => randomBytes(2048));
    await produceAll(
      kafka,
      topic,
      values.map((value, i) => ({ key: String(i), value })),
      100,
    );

    // Which Connection objects kafkajs connects, how often, and the bytes each socket brought.
    const connects = new Map<object, number>();
    const received = new Map<object, number>();
    const { connect, processData } = Connection.prototype;
    Connection.prototype.connect = function (this: object) {
      connects.set(this, (connects.get(this) ?? 0) + 1);
      received.set(this, 0);
      return connect.call(this);
    };
    Connection.prototype.processData = function (this: object, data: Buffer) {
      received.set(this, (received.get(this) ?? 0) + data.length);
      processData.call(this, data);
    };
    t.after(() => Object.assign(Connection.prototype, { connect, processData }));

    const raw = clusterOf<RawCluster>(kafka);
    await raw.connect();
    t.after(() => raw.disconnect());
    const fetch = async () => {
      const broker = (await leaderOf(raw, topic, 0)) as unknown as { fetch(r: object): Promise<Fetched> };
      const { responses } = await broker.fetch({
        maxWaitTime: 0,
        minBytes: 1,
        maxBytes: MiB,
        topics: [{ topic, partitions: [{ partition: 0, fetchOffset: '0', maxBytes: MiB }] }],
      });
      return responses[0]?.partitions[0]?.messages ?? [];
    };
    const expectRecords = (messages: Awaited<ReturnType<typeof fetch>>, what: string) => {
      assert.ok(messages.length > 400, `${what}: ${messages.length} records, about 1 MiB`);
      for (const [i, m] of messages.entries()) {
        assert.equal(m.offset, String(i), `${what}: offset`);
        assert.deepEqual(m.value, values[i], `${what}: value of ${i}`);
      }
    };
    expectRecords(await fetch(), 'before any cut');

    for (const [cut, run] of cuts) {
      const before = new Map(connects);
      for (const connection of received.keys()) received.set(connection, 0);
      const largest = () => Math.max(0, ...received.values());
      await run(network, fetch, largest);
      assert.ok(
        largest() > 0 && largest() < MiB,
        `${cut}: ${largest()} bytes of the response arrived before the cut`,
      );
      // The cut fetch failed retriably; kafkajs's retry is another fetch on the same broker object.
      expectRecords(await fetch(), `after the response was ${cut}`);
      const again = [...connects].filter(([c, n]) => (before.get(c) ?? 0) > 0 && n > (before.get(c) ?? 0));
      assert.ok(again.length > 0, `${cut}: a Connection that had a socket before the cut got a new one`);
    }
  },
);
