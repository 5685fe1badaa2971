// Replaces kafkajs/src/protocol/request.js, the framing of every request kafkajs sends (size, api
// key and version, correlation id, client id, then the payload), which network/connection.js
// captures, with protocol/produce-request.ts's frameRequest.
//
// Why: speed (issue 8 profiles). kafkajs encodes the header into a new Encoder and copies the
// payload behind it; frameRequest writes the frame in one allocation, or in the room a produce
// request left for it before its payload, with the same bytes
// (test/unit/protocol/produce-request.test.ts).
import { frameRequest } from '../../protocol/produce-request.ts';
import { replaceModule, type ModuleSwap } from './module-cache.ts';

export const swap: ModuleSwap = {
  module: 'protocol/request.js',
  capturedBy: ['network/connection.js'],
};

export function installRequestFraming(): void {
  replaceModule('request-framing.ts', swap, frameRequest);
}
