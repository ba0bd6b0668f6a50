import { createServer } from 'node:net';

/**
 * Returns a TCP port that was free on `host` a moment ago.
 *
 * The port is found by binding port 0 and closing the socket again, so another
 * process can take it before our server binds it. The window is small (the
 * kernel hands out ephemeral ports round-robin), and the server starters
 * detect the resulting "address already in use" and retry on a new port.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error(`could not read the port bound on ${host}`));
      });
    });
  });
}
