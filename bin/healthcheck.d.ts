// Types of bin/healthcheck.js (plain JavaScript: it runs in the image as is) for the tests.

export declare const DEFAULT_CONFIG: string;

export declare function daemonConfig(procRoot?: string): string | undefined;

export declare function healthzUrl(admin: {
  host: string;
  port: number;
  tls?: unknown;
}): { url: string } | { problem: string };

export declare function healthcheck(options: {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  procRoot?: string;
  load: (
    file: string,
    env: NodeJS.ProcessEnv,
  ) => Promise<{ admin: { host: string; port: number; tls?: unknown } }>;
  timeoutMs?: number;
}): Promise<{ healthy: boolean; message: string }>;
