// The daemon's /control/ routes over fake flow entries: which flow, which body, which refusal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controlRoutes } from '../../../src/daemon/control.ts';
import type { FlowEntry } from '../../../src/daemon/status.ts';
import {
  ControlBadRequestError,
  ControlConflictError,
  ControlNotFoundError,
} from '../../../src/errors/index.ts';
import { createLogger } from '../../../src/observability/logger.ts';

function setup() {
  const asked: unknown[] = [];
  const flow = {
    config: { name: 'us->eu' },
    state: 'running',
    exportedState: 'running',
    pause: () => asked.push('pause'),
    resume: () => asked.push('resume'),
    resumeHalted: async (only: unknown) => {
      asked.push(['resumeHalted', only]);
      return [];
    },
    refresh: async () => void asked.push('refresh'),
  };
  const flows = new Map<string, FlowEntry>([
    ['us->eu', { running: { flow, reader: { topics: ['a', 'b'] } } } as unknown as FlowEntry],
    ['us->asia', { running: undefined } as unknown as FlowEntry],
  ]);
  const logger = createLogger({ level: 'info', destination: { write: () => {} } });
  const routes = controlRoutes({ flows, logger, ending: () => false });
  const run = (path: string, params: Record<string, string>, body: Record<string, unknown> = {}) => {
    const route = routes.find((r) => r.path === path);
    assert.ok(route !== undefined, path);
    return Promise.resolve().then(() => route.run({ params, body, caller: 'ops' }));
  };
  return { run, asked, logger };
}

test('each flow route acts on the named running flow', async () => {
  const { run, asked } = setup();
  const flow = { flow: 'us->eu' };
  await run('/control/flows/:flow/pause', flow);
  await run('/control/flows/:flow/resume', flow);
  await run('/control/flows/:flow/resume-partitions', flow);
  await run('/control/flows/:flow/resume-partitions', flow, { topic: 't', partition: 3 });
  assert.deepEqual(await run('/control/flows/:flow/refresh', flow), {
    flows: [{ flow: 'us->eu', topics: 2 }],
  });
  assert.deepEqual(await run('/control/refresh', {}), { flows: [{ flow: 'us->eu', topics: 2 }] });
  assert.deepEqual(asked, [
    'pause',
    'resume',
    ['resumeHalted', undefined],
    ['resumeHalted', { topic: 't', partition: 3 }],
    'refresh',
    'refresh',
  ]);
});

test('an unknown flow is not found; a flow not running yet is a conflict', async () => {
  const { run, asked } = setup();
  await assert.rejects(run('/control/flows/:flow/pause', { flow: 'nope' }), ControlNotFoundError);
  await assert.rejects(run('/control/flows/:flow/pause', { flow: 'us->asia' }), ControlConflictError);
  assert.deepEqual(asked, []);
});

test('a partition body needs both topic and a partition number', async () => {
  const { run, asked } = setup();
  const flow = { flow: 'us->eu' };
  for (const body of [
    { topic: 't' },
    { partition: 1 },
    { topic: 't', partition: -1 },
    { topic: 't', partition: '1' },
  ])
    await assert.rejects(run('/control/flows/:flow/resume-partitions', flow, body), ControlBadRequestError);
  assert.deepEqual(asked, []);
});

test('the log level is set from pino levels only', async () => {
  const { run, logger } = setup();
  await assert.rejects(run('/control/log-level', {}, { level: 'verbose' }), ControlBadRequestError);
  await assert.rejects(run('/control/log-level', {}, {}), ControlBadRequestError);
  assert.deepEqual(await run('/control/log-level', {}, { level: 'debug' }), {
    previous: 'info',
    level: 'debug',
  });
  assert.equal(logger.level, 'debug');
});
