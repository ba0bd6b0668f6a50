import { createServer } from 'node:net';
import { expect, it } from 'vitest';
import { freePort } from '../src/index.js';

it('freePort() returns a loopback port that can be bound', async () => {
  const port = await freePort();
  expect(port).toBeGreaterThan(1024);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise((resolve) => server.close(resolve));
});
