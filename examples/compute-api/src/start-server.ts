import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** TCP port; `0` picks a free one. Default `3000`. */
  readonly port?: number;
  /** Interface to listen on. Default `127.0.0.1`, so the example is not exposed by accident. */
  readonly hostname?: string;
}

/** A listening server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** The port actually listened on. */
  readonly port: number;
  /** Stops accepting connections, ends idle keep-alive ones and waits for the rest. Idempotent. */
  close(): Promise<void>;
}

/**
 * Serves a hono app on Node's HTTP server and resolves once it listens.
 *
 * @example
 * ```ts
 * const server = await startServer(createApp(service), { port: 0 });
 * await fetch(`${server.url}/healthz`);
 * await server.close();
 * ```
 */
export function startServer(
  app: Pick<Hono, 'fetch'>,
  options: StartServerOptions = {},
): Promise<RunningServer> {
  const hostname = options.hostname ?? '127.0.0.1';
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: app.fetch, port: options.port ?? 3000, hostname },
      (info: AddressInfo) => {
        server.off('error', reject);
        let closed: Promise<void> | undefined;
        const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
        resolve({
          url: `http://${host}:${info.port}`,
          port: info.port,
          close() {
            closed ??= new Promise<void>((done, fail) => {
              server.close((err) => (err ? fail(err) : done()));
              server.closeIdleConnections();
            });
            return closed;
          },
        });
      },
    ) as Server;
    server.once('error', reject);
  });
}
