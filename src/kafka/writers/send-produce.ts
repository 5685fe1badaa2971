// A produce request sent the way kafkajs's Broker.produce sends it, with the hand-over signal the
// pipelined writers need (idempotent-writer.ts, transactions.ts).
import { createRequire } from 'node:module';
import type { Encoded } from '../../protocol/record-format.ts';
import type { ProduceArgs } from '../../protocol/produce-request.ts';

const require = createRequire(import.meta.url);

interface BrokerInternals {
  lookupRequest(
    apiKey: number,
    definitions: unknown,
  ): (args: object) => {
    request: { encode(): Promise<Encoded> };
    response: unknown;
  };
  readonly connectionPool: { send(protocolRequest: object): Promise<unknown> };
  disconnect(): Promise<void>;
}

const PRODUCE_API_KEY = 0;

/**
 * What kafkajs's Broker.produce does, with two differences for a writer with several requests of a
 * partition in flight:
 * - `onHandedOver` is called once the request's bytes are built (compressed included) and about to
 *   be queued on the connection (or once the request failed before that). kafkajs's
 *   Connection.send builds a request and only then queues it for the socket, so a request built
 *   faster (smaller, or compressed on a free thread) overtook one sent before it, and the broker
 *   refused the overtaker with OUT_OF_ORDER_SEQUENCE_NUMBER (issue 19, defect 8): a writer sends
 *   the next request of a partition only after this call. From the end of the build to the queue
 *   push, Connection.send awaits nothing but the build's own promise, while the next request
 *   begins its way there only now: it is queued after this one.
 * - kafkajs does not log an error answer (Connection.send logs each at error, which the daemon's
 *   log makes a warning): the writer logs every answer itself, routine ones at debug.
 */
export async function sendProduce(
  broker: object,
  args: ProduceArgs,
  onHandedOver: () => void,
): Promise<unknown> {
  const kafkajsBroker = broker as BrokerInternals;
  const { requests } = require('kafkajs/src/protocol/requests') as { requests: { Produce: unknown } };
  let handed = false;
  const handOver = () => {
    if (!handed) onHandedOver();
    handed = true;
  };
  try {
    const protocolRequest = kafkajsBroker.lookupRequest(PRODUCE_API_KEY, requests.Produce)(args);
    const { request } = protocolRequest;
    const encode = request.encode.bind(request);
    request.encode = async () => {
      try {
        return await encode();
      } finally {
        handOver();
      }
    };
    return await kafkajsBroker.connectionPool.send({ ...protocolRequest, logResponseError: false });
  } catch (error) {
    // As Broker's sendRequest: a closed connection is dropped so that the next request reconnects.
    if ((error as { name?: unknown }).name === 'KafkaJSConnectionClosedError')
      await kafkajsBroker.disconnect();
    throw error;
  } finally {
    handOver();
  }
}
