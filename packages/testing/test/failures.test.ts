import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  findBinary,
  INSTALL_HINTS,
  MissingBinaryError,
  ServerStartError,
  startFerretDb,
  startRedis,
} from '../src/index.js';
import { DRIVERS } from './drivers.js';

const harnessDirs = () =>
  readdirSync(tmpdir()).filter((name) => name.startsWith('polystore-redis-'));

describe('missing binaries', () => {
  it('findBinary names the binary and the exact install command', () => {
    const attempt = () => findBinary('redis-server', { override: '/nonexistent/redis-server' });
    expect(attempt).toThrow(MissingBinaryError);
    expect(attempt).toThrow(
      /redis-server is not installed \(looked in \/nonexistent\/redis-server\)\. Install it with: apt-get install -y redis-server/,
    );
    try {
      attempt();
    } catch (error) {
      expect((error as MissingBinaryError).installCommand).toBe(INSTALL_HINTS['redis-server']);
    }
  });

  it('a start function throws MissingBinaryError before creating anything', async () => {
    const before = harnessDirs();
    await expect(startRedis({ binary: '/nonexistent/redis-server' })).rejects.toThrow(
      MissingBinaryError,
    );
    await expect(startFerretDb({ binary: '/nonexistent/ferretdb' })).rejects.toThrow(
      /scripts\/install-services\.sh ferretdb/,
    );
    expect(harnessDirs()).toEqual(before);
  });
});

describe('start failures', () => {
  it('a server that exits during start gives ServerStartError with its log, and leaves no dir', async () => {
    const before = harnessDirs();
    const start = startRedis({ settings: { 'no-such-directive': 1 } });
    await expect(start).rejects.toThrow(ServerStartError);
    await expect(start).rejects.toThrow(/exited \(1\) before it was ready[\s\S]*no-such-directive/);
    expect(harnessDirs()).toEqual(before);
  });

  it('restart() waits for its port while someone else briefly holds it', async () => {
    const server = await startRedis();
    try {
      await server.kill();
      const squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(server.port, '127.0.0.1', resolve));
      setTimeout(() => squatter.close(), 300);
      await server.restart();
      await DRIVERS.redis.write(server.url, 'k', 'v');
      expect(server.logTail()).toMatch(/Address already in use/);
    } finally {
      await server.stop();
    }
  });
});
