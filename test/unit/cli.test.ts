import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ExitCode, main } from '../../src/cli.ts';
import { parseCommandLine } from '../../src/cli/usage.ts';

function capture() {
  const io = { stdout: '', stderr: '' };
  return { io, sink: { out: (t: string) => (io.stdout += t), err: (t: string) => (io.stderr += t) } };
}

test('version prints the package version', async () => {
  const { io, sink } = capture();
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(await main(['version'], sink), ExitCode.OK);
  assert.match(io.stdout, new RegExp(`^kafka-mirror ${version.replace(/\./g, '\\.')} `));
});

test('an unknown command or flag is a usage error (exit 2) that names it', async () => {
  const { io, sink } = capture();
  assert.equal(await main(['replicate-everything'], sink), ExitCode.USAGE);
  assert.match(io.stderr, /unknown command "replicate-everything"/);
  const second = capture();
  assert.equal(await main(['version', '--frobnicate'], second.sink), ExitCode.USAGE);
  assert.match(second.io.stderr, /--frobnicate/);
});

test('--help lists the commands and exits 0', async () => {
  const { io, sink } = capture();
  assert.equal(await main(['--help'], sink), ExitCode.OK);
  assert.match(io.stdout, /Usage: kafka-mirror <command>/);
});

test('every command has its own --help, exit 0', async () => {
  for (const command of [
    'start',
    'validate',
    'plan',
    'status',
    'verify',
    'offsets',
    'migrate-status',
    'version',
  ]) {
    const { io, sink } = capture();
    assert.equal(await main([command, '--help'], sink), ExitCode.OK, command);
    assert.match(io.stdout, new RegExp(`^Usage: kafka-mirror ${command}\\b`), command);
  }
});

test("status prints a running daemon's flows as a table; exit 0 only when every flow is ready", async (t) => {
  let ready = true;
  const server = createServer((request, response) => {
    assert.equal(request.url, '/status');
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        ready,
        version: '0.1.0',
        flows: [
          {
            name: 'us->asia',
            state: ready ? 'running' : 'halted',
            ready,
            notReady: ready ? [] : ['1 partition(s) halted: the target refused a record (see /status)'],
            assignedPartitions: 7,
            recordsWritten: 123456,
            lagRecords: 42,
            lagSeconds: 1.4,
            queue: { bytes: 16 * 2 ** 20, maxBytes: 64 * 2 ** 20 },
            partitions: [{ halted: null }, { halted: ready ? null : 'MESSAGE_TOO_LARGE' }],
          },
        ],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const first = capture();
  assert.equal(await main(['status', '--url', url], first.sink), ExitCode.OK);
  const [header, row] = first.io.stdout.split('\n');
  assert.match(
    header ?? '',
    /^FLOW\s+STATE\s+READY\s+PARTITIONS\s+WRITTEN\s+LAG\s+LAG AGE\s+QUEUE\s+HALTED$/,
  );
  assert.match(row ?? '', /^us->asia\s+running\s+yes\s+7\s+123456\s+42\s+1s\s+25%\s+0$/);
  ready = false;
  const second = capture();
  assert.equal(await main(['status', '--url', url], second.sink), ExitCode.FAILURE);
  assert.match(second.io.stdout, /us->asia\s+halted\s+no .* 1\n/);
  assert.match(second.io.stdout, /us->asia: not ready: 1 partition\(s\) halted/);
  const json = capture();
  assert.equal(await main(['status', '--url', url, '--json'], json.sink), ExitCode.FAILURE);
  assert.equal((JSON.parse(json.io.stdout) as { ready: boolean }).ready, false);
});

test('status against an address where nothing answers fails (exit 1) and says where it asked', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const { io, sink } = capture();
  assert.equal(await main(['status', '--url', `http://127.0.0.1:${port}`], sink), ExitCode.FAILURE);
  assert.match(io.stderr, new RegExp(`no status from http://127\\.0\\.0\\.1:${port}`));
});

test('verify --since that is not a time is a usage error naming it, before any cluster is asked', async () => {
  const { io, sink } = capture();
  const config = new URL('../../config/active-passive.yaml', import.meta.url).pathname;
  assert.equal(await main(['verify', '--config', config, '--since', 'yesterday'], sink), ExitCode.USAGE);
  assert.match(io.stderr, /--since "yesterday" is not a time/);
});

test('offsets and migrate-status name what is missing (exit 2) before any cluster is asked', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['offsets'], /offsets needs a subcommand: translate or failover \(got none\)/],
    [['offsets', 'rewind', '--config', 'x.yaml'], /got rewind/],
    [
      ['offsets', 'translate', '--config', 'x.yaml', '--flow', 'f'],
      /needs --config <file> --flow <name> and exactly one of --group <group>, --position/,
    ],
    [['offsets', 'failover', '--group', 'g', '--flow', 'f'], /offsets failover needs --config/],
    [['migrate-status', '--config', 'x.yaml'], /migrate-status needs --config <file> --flow <name>/],
    [
      ['offsets', 'translate', '--config', 'config/active-passive.yaml', '--flow', 'nope', '--group', 'g'],
      /no flow named nope; the config has /,
    ],
  ];
  for (const [args, message] of cases) {
    const { io, sink } = capture();
    assert.equal(await main(args, sink), ExitCode.USAGE, args.join(' '));
    assert.match(io.stderr, message);
  }
});

test('offsets translate --position / --positions-file: bad positions and combinations are refused (exit 2), naming them, before any cluster is asked', async (t) => {
  const config = new URL('../../config/active-passive.yaml', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'km-positions-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'in.json');
  writeFileSync(file, JSON.stringify({ positions: [{ topic: 'orders', partition: 0, offset: 'x' }] }));
  const translate = ['offsets', 'translate', '--config', config, '--flow', 'us->asia'];
  const cases: Array<[string[], RegExp]> = [
    [[...translate, '--position', 'orders:0:5', '--position', 'orders:x:5'], /position orders:x:5: .*"x"/],
    [[...translate, '--position', 'orders:0'], /position orders:0: expected <topic>:<partition>:<offset>/],
    [[...translate, '--position', 'orders:0:-3'], /position orders:0:-3: /],
    [[...translate, '--positions-file', file], /in\.json positions\[0\]: "offset"/],
    [
      [...translate, '--positions-file', join(dir, 'absent.json')],
      /cannot read --positions-file .*absent\.json/,
    ],
    [[...translate, '--group', 'g', '--position', 'orders:0:5'], /exactly one of --group/],
    [[...translate, '--position', 'orders:0:5', '--positions-file', file], /exactly one of --group/],
    [
      [...translate, '--position', 'orders:0:5', '--out', join(dir, 'o.json')],
      /--out <file> only with --positions-file/,
    ],
    [
      ['offsets', 'failover', '--config', config, '--flow', 'f', '--group', 'g', '--position', 'orders:0:5'],
      /offsets failover takes no --position/,
    ],
  ];
  for (const [args, message] of cases) {
    const { io, sink } = capture();
    assert.equal(await main(args, sink), ExitCode.USAGE, args.join(' '));
    assert.match(io.stderr, message, args.join(' '));
    assert.equal(io.stdout, '', args.join(' '));
  }
});

test('--version and -v print the version like the version command', async () => {
  for (const args of [['--version'], ['-v']]) {
    const { io, sink } = capture();
    assert.equal(await main(args, sink), ExitCode.OK, args.join(' '));
    assert.match(io.stdout, /^kafka-mirror \d+\.\d+\.\d+ \(node /);
  }
});

test("help <command> prints that command's help; help of an unknown command is a usage error", async () => {
  const { io, sink } = capture();
  assert.equal(await main(['help', 'validate'], sink), ExitCode.OK);
  assert.match(io.stdout, /^Usage: kafka-mirror validate --config <file>/);
  const general = capture();
  assert.equal(await main(['help'], general.sink), ExitCode.OK);
  assert.match(general.io.stdout, /^kafka-mirror: Kafka cross-cluster replication daemon/);
  const unknown = capture();
  assert.equal(await main(['help', 'replicate'], unknown.sink), ExitCode.USAGE);
  assert.match(unknown.io.stderr, /no command "replicate"/);
});

test('an option or argument that the command does not take is refused (exit 2), before anything runs', async () => {
  const config = new URL('../../config/active-passive.yaml', import.meta.url).pathname;
  const cases: Array<[string[], RegExp]> = [
    [['validate', '--config', config, '--url', 'http://x'], /validate does not take --url/],
    [['validate', '--config', config, '--json'], /validate does not take --json/],
    [['start', '--config', config, '--flow', 'x'], /start does not take --flow/],
    [['plan', '--config', config, '--group', 'g'], /plan does not take --group/],
    [['status', '--flow', 'x'], /status does not take --flow/],
    [['version', '--config', config], /version does not take --config/],
    [
      ['migrate-status', '--config', config, '--flow', 'x', '--since', '1'],
      /migrate-status does not take --since/,
    ],
    [['validate', '--config', config, 'extra'], /validate takes no argument "extra"/],
    [['offsets', 'translate', 'more', '--config', config], /offsets translate takes no argument "more"/],
  ];
  for (const [args, message] of cases) {
    const { io, sink } = capture();
    assert.equal(await main(args, sink), ExitCode.USAGE, args.join(' '));
    assert.match(io.stderr, message, args.join(' '));
    assert.equal(io.stdout, '', args.join(' '));
  }
});

test('validate warns about an unknown KAFKA_MIRROR_* variable and a heap too small for the flows, exit 0', async (t) => {
  const saved = process.env['KAFKA_MIRROR_QUEUE_MAXBYTES'];
  process.env['KAFKA_MIRROR_QUEUE_MAXBYTES'] = '1MiB';
  t.after(() => {
    if (saved === undefined) delete process.env['KAFKA_MIRROR_QUEUE_MAXBYTES'];
    else process.env['KAFKA_MIRROR_QUEUE_MAXBYTES'] = saved;
  });
  const dir = mkdtempSync(join(tmpdir(), 'kafka-mirror-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.yaml');
  // A budget far above any heap this test runs with.
  writeFileSync(
    file,
    'clusters: { us: { bootstrapServers: [us:9092] }, eu: { bootstrapServers: [eu:9092] } }\n' +
      'flows: [{ source: us, target: eu }]\nqueue: { maxBytes: 256GiB }\n',
  );
  const { io, sink } = capture();
  assert.equal(await main(['validate', '--config', file], sink), ExitCode.OK, io.stderr);
  assert.match(io.stdout, /valid; 1 flow\(s\)/);
  assert.match(
    io.stderr,
    /^kafka-mirror: warning: environment variable KAFKA_MIRROR_QUEUE_MAXBYTES .* did you mean KAFKA_MIRROR_QUEUE_MAX_BYTES\?$/m,
  );
  assert.match(
    io.stderr,
    /^kafka-mirror: warning: the V8 heap limit \(\d+ MiB\) is below what the flows need/m,
  );
});

test('plan against an unreachable cluster prints the cause and exits 1: a plan that could not look is no plan', async (t) => {
  // A port nothing listens on: bound, then closed.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const dir = mkdtempSync(join(tmpdir(), 'kafka-mirror-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    [
      'clusters:',
      `  us: { bootstrapServers: ['127.0.0.1:${port}'] }`,
      `  asia: { bootstrapServers: ['127.0.0.1:${port}'] }`,
      'flows:',
      '  - { source: us, target: asia, topics: { include: [orders] } }',
      '',
    ].join('\n'),
  );
  const { io, sink } = capture();
  assert.equal(await main(['plan', '--config', config], sink), ExitCode.FAILURE);
  assert.match(io.stdout, /connection refused/);
});

test('drill names what is missing (exit 2) before any cluster is asked, and takes --group more than once', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['drill', '--config', 'x.yaml'], /drill needs --config <file> --flow <name> \[--group <group>\]\.\.\./],
    [['drill', '--flow', 'f', '--group', 'a', '--group', 'b'], /drill needs --config <file>/],
    [['drill', '--config', 'x.yaml', '--flow', 'f', '--topic', 't'], /drill does not take --topic/],
    [
      ['drill', '--config', 'config/active-passive.yaml', '--flow', 'nope', '--group', 'g'],
      /no flow named nope; the config has /,
    ],
  ];
  for (const [args, message] of cases) {
    const { io, sink } = capture();
    assert.equal(await main(args, sink), ExitCode.USAGE, args.join(' '));
    assert.match(io.stderr, message);
  }
  const line = parseCommandLine(['drill', '--flow', 'f', '--group', 'a', '--group', 'b']);
  assert.deepEqual(line.values.groups, ['a', 'b']);
  // The commands that take one group take the last one given, as before.
  assert.equal(parseCommandLine(['offsets', 'translate', '--group', 'a', '--group', 'b']).values.group, 'b');
});

test('reconcile names what is missing (exit 2) before any cluster is asked, and takes its own flags', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['reconcile', '--config', 'x.yaml'], /reconcile needs --config <file> --flow <name>/],
    [['reconcile', '--flow', 'us->asia', '--dry-run'], /reconcile needs --config <file>/],
    [['reconcile', '--config', 'x.yaml', '--flow', 'f', '--group', 'g'], /reconcile does not take --group/],
    [
      ['reconcile', '--config', 'config/active-active-identity.yaml', '--flow', 'nope'],
      /no flow named nope; the config has /,
    ],
  ];
  for (const [args, message] of cases) {
    const { io, sink } = capture();
    assert.equal(await main(args, sink), ExitCode.USAGE, args.join(' '));
    assert.match(io.stderr, message);
  }
  const line = parseCommandLine([
    'reconcile',
    '--flow',
    'us->asia',
    '--to-topic',
    'quarantine',
    '--reverse-flow',
    'asia->us',
    '--dry-run',
  ]);
  assert.equal(line.values['to-topic'], 'quarantine');
  assert.equal(line.values['reverse-flow'], 'asia->us');
  assert.equal(line.values['dry-run'], true);
  const help = capture();
  assert.equal(await main(['help', 'reconcile'], help.sink), ExitCode.OK);
  assert.match(help.io.stdout, /^Usage: kafka-mirror reconcile --config <file> --flow <name>/);
});
