import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/index.js';
import { runPolystore } from './run-polystore.js';

// A server that accepts every connection and never answers: the driver's handshake waits for
// a reply that never comes. Before the fix, `doctor` against ZooKeeper printed its error after
// ~13 s and then never exited (the failed client kept reconnecting).
let server: Server;
let port: number;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  port = address.port;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** Generous on a loaded machine, but finite: the assertion is that the process ends at all. */
const EXIT_WITHIN_MS = 90_000;

describe.concurrent('polystore doctor against a server that never answers', () => {
  const urls = [
    (p: number) => `zookeeper://127.0.0.1:${p}/cli-silent`,
    (p: number) => `redis://127.0.0.1:${p}/0`,
    (p: number) => `postgres://u@127.0.0.1:${p}/db`,
    (p: number) => `mongodb://127.0.0.1:${p}/db`,
  ];
  for (const url of urls) {
    const scheme = url(0).split(':')[0];
    it(
      `${scheme}: exits with "unavailable" instead of hanging`,
      async () => {
        const started = Date.now();
        const run = await runPolystore(['doctor', '--store', url(port)], {}, EXIT_WITHIN_MS);
        expect(run.code, run.stderr).toBe(ExitCode.unavailable);
        expect(run.stderr).toMatch(/^polystore: /m);
        expect(Date.now() - started).toBeLessThan(EXIT_WITHIN_MS);
      },
      EXIT_WITHIN_MS + 10_000,
    );
  }
});
