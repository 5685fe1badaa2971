import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ExitCode, main } from '../../src/cli.ts';
import { renderDivergence } from '../../src/cli/divergence.ts';
import { parseCommandLine } from '../../src/cli/usage.ts';

function capture() {
  const io = { stdout: '', stderr: '' };
  return { io, sink: { out: (t: string) => (io.stdout += t), err: (t: string) => (io.stderr += t) } };
}

test('divergence names what is missing (exit 2) before any cluster is asked', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['divergence', '--config', 'x.yaml'], /divergence needs --config <file> --flow <name>/],
    [['divergence', '--flow', 'f'], /divergence needs --config <file>/],
    [['divergence', '--config', 'x.yaml', '--flow', 'f', '--group', 'g'], /divergence does not take --group/],
    [['divergence', '--config', 'x.yaml', '--flow', 'f', 'extra'], /divergence takes no argument "extra"/],
    [['divergence', '--config', 'config/active-passive.yaml', '--flow', 'nope'], /no flow named nope/],
    [
      ['divergence', '--config', 'config/active-passive.yaml', '--flow', 'f', '--admin', 'not a url'],
      /--admin "not a url" is not a URL/,
    ],
  ];
  for (const [args, message] of cases) {
    const { io, sink } = capture();
    assert.equal(await main(args, sink), ExitCode.USAGE, args.join(' '));
    assert.match(io.stderr, message);
  }
  assert.equal(parseCommandLine(['divergence', '--flow', 'f', '--list']).values.list, true);
});

test('divergence --help says where the numbers come from', async () => {
  const { io, sink } = capture();
  assert.equal(await main(['divergence', '--help'], sink), ExitCode.OK);
  assert.match(io.stdout, /as of the last lag refresh, short by up to one metrics\.lagIntervalMs of writes/);
  assert.match(io.stdout, /transaction markers and aborted records/);
  assert.doesNotMatch(io.stdout, /upper bound/);
});

test('the report says whether the ends came from the source or the daemon, and lists what is missing', () => {
  const partition = {
    topic: 't',
    partition: 0,
    remoteTopic: 'src.t',
    frontier: 9,
    frontierTimestamp: 1_000,
    sourceEnd: 13,
    atRisk: 3,
    sourceLastTimestamp: 4_000,
    rpoSeconds: 3,
  };
  const daemon = renderDivergence({
    flow: 'f',
    endsFrom: 'daemon',
    endsAt: '2026-01-01T00:00:00.000Z',
    sourceError: 'ECONNREFUSED',
    partitions: [partition],
    atRisk: 3,
    rpoSeconds: 3,
    missing: null,
  });
  assert.match(daemon, /flow f: 3 source offset\(s\) at risk, RPO 3\.000 s/);
  assert.match(daemon, /daemon's last lag refresh at 2026-01-01T00:00:00\.000Z/);
  const listed = renderDivergence({
    flow: 'f',
    endsFrom: 'source',
    endsAt: '2026-01-01T00:00:00.000Z',
    sourceError: null,
    partitions: [{ ...partition, missing: [{ offset: 10, timestamp: 2_000 }] }],
    atRisk: 3,
    rpoSeconds: 3,
    missing: 1,
  });
  assert.match(listed, /read from the source/);
  assert.match(listed, /1 record\(s\) never reached the target:\n {2}t\/0 offset 10 /);
});
