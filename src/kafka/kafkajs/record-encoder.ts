// Replaces kafkajs/src/protocol/recordBatch/record/v0/index.js, the encoder of one record of a v2
// record batch, with protocol/record-format.ts's encodeRecord.
//
// Why: record fidelity and speed. kafkajs's encoder cannot size a header whose value is null and
// takes headers as an object keyed by name; encodeRecord takes the ordered [key, value] list the
// patched decoder produces (wire-headers.ts) and writes it back unchanged, into one exactly sized
// slice of Node's buffer pool (kafkajs used a zero-filled 512-byte Encoder per record and header).
// Produce requests do not go through it (produce-request.ts); kafkajs's RecordBatch does.
import { encodeRecord } from '../../protocol/record-format.ts';
import { replaceModule, type ModuleSwap } from './module-cache.ts';

export const swap: ModuleSwap = {
  module: 'protocol/recordBatch/record/v0/index.js',
  capturedBy: ['protocol/requests/produce/v3/request.js'],
};

export function installRecordEncoder(): void {
  replaceModule('record-encoder.ts', swap, encodeRecord);
}
