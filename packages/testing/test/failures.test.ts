import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('slow recovery', () => {
  it('restart() waits out a crash recovery longer than 30 s, as PostgreSQL with fsync needs on a loaded machine', async () => {
    // A redis-server behind a wrapper that, after its first run, stays unreachable for 32 s
    // before it starts: a server whose crash recovery outlasts the old 30 s start timeout.
    const dir = mkdtempSync(join(tmpdir(), 'polystore-slow-recovery-'));
    const wrapper = join(dir, 'slow-redis-server');
    writeFileSync(
      wrapper,
      [
        '#!/bin/sh',
        `if [ -e "${dir}/started" ]; then sleep 32; fi`,
        `touch "${dir}/started"`,
        `exec "${findBinary('redis-server')}" "$@"`,
        '',
      ].join('\n'),
    );
    chmodSync(wrapper, 0o755);
    const server = await startRedis({ binary: wrapper });
    try {
      await DRIVERS.redis.write(server.url, 'k', 'v');
      await server.kill();
      const started = performance.now();
      await server.restart();
      expect(performance.now() - started).toBeGreaterThan(30_000);
      await DRIVERS.redis.write(server.url, 'k', 'v2');
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
