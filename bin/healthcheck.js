#!/usr/bin/env node
// The container image's health check (Dockerfile HEALTHCHECK, exec form: no shell, no curl).
// GET /healthz on the admin server of the daemon in this container, at the address the daemon
// listens on: the config file given to this script with --config, else the one on the daemon's
// command line (read from /proc), else the image's default; loaded the way the daemon loads it,
// environment overrides (KAFKA_MIRROR_ADMIN_PORT, KAFKA_MIRROR_ADMIN_HOST) included.
// Exit 0 healthy, 1 unhealthy (Docker reserves 2), with one line saying why.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

/** The config file of the image's CMD. */
export const DEFAULT_CONFIG = '/etc/kafka-mirror/config.yaml';

/** `--config F`, `--config=F`, `-c F` in `args`, and the first positional (the verb). */
function parsed(args) {
  const { values, positionals } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' } },
    strict: false,
    allowPositionals: true,
  });
  return { config: typeof values.config === 'string' ? values.config : undefined, verb: positionals[0] };
}

/**
 * The config file of the `kafka-mirror start` process with the lowest pid (PID 1 in the image, or
 * the child of an init such as `docker run --init`), resolved against that process's working
 * directory. Undefined when there is no such process (or no /proc).
 */
export function daemonConfig(procRoot = '/proc') {
  let pids;
  try {
    pids = readdirSync(procRoot).filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids.sort((a, b) => Number(a) - Number(b))) {
    let argv;
    try {
      argv = readFileSync(path.join(procRoot, pid, 'cmdline'), 'utf8')
        .split('\0')
        .slice(0, -1);
    } catch {
      continue; // gone, or not ours to read
    }
    const script = argv.findIndex((arg) => path.basename(arg) === 'kafka-mirror.js');
    if (script < 0) continue;
    const { config, verb } = parsed(argv.slice(script + 1));
    if (verb !== 'start' || config === undefined) continue;
    if (path.isAbsolute(config)) return config;
    try {
      return path.resolve(readlinkSync(path.join(procRoot, pid, 'cwd')), config);
    } catch {
      return path.resolve(config);
    }
  }
  return undefined;
}

/** The URL of /healthz for a loaded config's `admin` section, or the reason there is none. */
export function healthzUrl(admin) {
  if (admin.port === 0)
    return { problem: 'admin.port is 0 (a port picked at start): set a port for the health check to find' };
  // A wildcard bind answers on loopback (as the control commands assume, src/cli/control.ts).
  const host = admin.host === '0.0.0.0' || admin.host === '::' ? '127.0.0.1' : admin.host;
  const scheme = admin.tls === undefined ? 'http' : 'https';
  return { url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${admin.port}/healthz` };
}

/**
 * One health check. `load` is the daemon's config loader (`loadConfigFile`); the result says
 * whether the daemon answered, and why not.
 */
export async function healthcheck({
  args = [],
  env = process.env,
  procRoot = '/proc',
  load,
  timeoutMs = 4000,
}) {
  const file = parsed(args).config ?? daemonConfig(procRoot) ?? DEFAULT_CONFIG;
  let admin;
  try {
    admin = (await load(file, env)).admin;
  } catch (error) {
    return { healthy: false, message: `cannot read the admin address from ${file}: ${error.message}` };
  }
  const target = healthzUrl(admin);
  if (target.problem !== undefined) return { healthy: false, message: `${file}: ${target.problem}` };
  try {
    const status = await get(target.url, timeoutMs);
    return { healthy: status >= 200 && status < 300, message: `${target.url} answered ${status}` };
  } catch (error) {
    return { healthy: false, message: `no answer from ${target.url}: ${error.message}` };
  }
}

/**
 * The status of a GET. Over HTTPS (admin.tls) the certificate is not verified: this is a
 * liveness probe of the process next to it, asking whether it answers, not whom to trust.
 */
function get(url, timeoutMs) {
  const send = url.startsWith('https:') ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const request = send(url, { timeout: timeoutMs, rejectUnauthorized: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

if (import.meta.main) {
  const { loadConfigFile } = await import('../dist/config/index.js');
  const { healthy, message } = await healthcheck({ args: process.argv.slice(2), load: loadConfigFile });
  (healthy ? process.stdout : process.stderr).write(`${healthy ? 'healthy' : 'unhealthy'}: ${message}\n`);
  process.exitCode = healthy ? 0 : 1;
}
