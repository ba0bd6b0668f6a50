import { readFile } from 'node:fs/promises';
import { type AdapterRegistry, ConfigError, openStores, redactUrl } from '@polystore/core';
import { CliError } from '../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Printer } from '../printer.js';

/** Options of `polystore serve`. */
export interface ServeOptions {
  /** `host:port` to listen on (`[::1]:8420` for IPv6; port 0 picks a free one). */
  readonly listen: string;
  /** Path of the JSON token file (see the README's "Remote stores"). */
  readonly tokens: string;
  /** PEM key and certificate files: with both, HTTPS only. */
  readonly tlsKey?: string;
  readonly tlsCert?: string;
  /** Largest request body in bytes. */
  readonly maxBodyBytes?: number;
  /** Calls per second per token. */
  readonly rateLimit?: number;
  /** Resolves when the server should stop (default: SIGINT or SIGTERM). */
  readonly until?: Promise<unknown>;
}

/** Splits `host:port` (IPv6 in brackets); a usage error otherwise. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65_535) {
    throw new CliError(
      `--listen must be host:port (e.g. 127.0.0.1:8420), got ${JSON.stringify(value)}`,
    );
  }
  return { host: (m[1] ?? m[2])!, port };
}

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new CliError(`${what} ${path}: cannot be read (${(err as Error).message})`);
  }
}

function signal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(s);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/**
 * `polystore serve`: exposes the store at `url` over HTTP(S) to `http(s)://` clients, with
 * bearer tokens from a token file, until SIGINT or SIGTERM.
 */
export async function serve(
  url: string,
  options: ServeOptions,
  print: Printer,
  registry: AdapterRegistry,
): Promise<ExitCodeValue> {
  const { host, port } = parseListen(options.listen);
  if ((options.tlsKey === undefined) !== (options.tlsCert === undefined)) {
    throw new CliError('--tls-key and --tls-cert go together');
  }
  // The server package loads only for this command, like the conformance suite.
  const { createStoreServer, loadTokenFile } = await import('@polystore/remote');
  const verifyToken = await loadTokenFile(options.tokens);
  const tls =
    options.tlsKey === undefined || options.tlsCert === undefined
      ? undefined
      : {
          key: await readPem(options.tlsKey, '--tls-key'),
          cert: await readPem(options.tlsCert, '--tls-cert'),
        };
  if (/^https?:/i.test(url)) {
    throw new ConfigError('polystore serve: --store is the store to expose, not another server');
  }
  const stores = await openStores(url, { registry });
  try {
    const server = await createStoreServer(stores, {
      host,
      port,
      verifyToken,
      ...(tls ? { tls } : {}),
      ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
      ...(options.rateLimit === undefined ? {} : { rateLimit: { perSecond: options.rateLimit } }),
    });
    print.out(`polystore serve: store ${redactUrl(url)} (backend ${stores.backend})`);
    print.out(`polystore serve: listening on ${server.url}`);
    const why = await (options.until ?? signal());
    print.out(`polystore serve: ${typeof why === 'string' ? why : 'stop'}, shutting down`);
    await server.close();
  } finally {
    await stores.close();
  }
  return ExitCode.ok;
}
