import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { isProcessAlive, processTree, type ServerHandle } from '../src/index.js';
import { DRIVERS } from './drivers.js';

/** Whether `port` on the loopback can be bound, i.e. nothing listens there. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () =>
      server.close(() => resolve(true)),
    );
  });
}

/** The temp dir that holds a handle's data dir, log and config. */
export function rootDirOf(server: ServerHandle): string {
  return server.dataDir.replace(/\/data$/, '');
}

/**
 * The one lifecycle spec every server passes: start, write and read with the
 * real driver, restart, kill, pause and resume, stop; afterwards no process
 * and no temp dir remains. (Kysely style: one spec, looped over every server.)
 */
export function describeLifecycle<S extends ServerHandle>(
  name: string,
  start: () => Promise<S>,
  extra?: (server: () => S) => void,
): void {
  describe(`${name} lifecycle`, () => {
    let server: S | undefined;
    const seenPids = new Set<number>();
    const remember = () => {
      for (const pid of processTree(server!.pid!)) seenPids.add(pid);
    };

    afterAll(async () => {
      await server?.stop();
    });

    it('starts on a free loopback port and is ready when the promise resolves', async () => {
      const started = performance.now();
      server = await start();
      console.info(`[timing] ${name} cold start: ${Math.round(performance.now() - started)} ms`);
      remember();
      expect(server.url).toContain(`127.0.0.1:${server.port}`);
      expect(server.running).toBe(true);
      expect(existsSync(server.dataDir)).toBe(true);
      await DRIVERS[server.kind].write(server.url, 'k1', 'v1');
      expect(await DRIVERS[server.kind].read(server.url, 'k1')).toBe('v1');
    });

    it('restart() keeps the port and the data', async () => {
      const s = server!;
      const { port, dataDir, pid } = s;
      const started = performance.now();
      await s.restart();
      console.info(`[timing] ${name} restart: ${Math.round(performance.now() - started)} ms`);
      remember();
      expect(s.pid).not.toBe(pid);
      expect(isProcessAlive(pid!)).toBe(false);
      expect([s.port, s.dataDir]).toEqual([port, dataDir]);
      expect(await DRIVERS[s.kind].read(s.url, 'k1')).toBe('v1');
    });

    it('kill() frees the port at once; restart() recovers what was acknowledged', async () => {
      const s = server!;
      await DRIVERS[s.kind].write(s.url, 'k2', 'v2');
      const tree = processTree(s.pid!);
      await s.kill();
      expect(s.running).toBe(false);
      expect(s.pid).toBeUndefined();
      expect(tree.filter(isProcessAlive)).toEqual([]);
      expect(await portIsFree(s.port)).toBe(true);
      await s.restart();
      remember();
      expect(await DRIVERS[s.kind].read(s.url, 'k1')).toBe('v1');
      expect(await DRIVERS[s.kind].read(s.url, 'k2')).toBe('v2');
    });

    it('pause() makes calls on an open connection time out; resume() makes them answer again', async () => {
      const s = server!;
      const connection = await DRIVERS[s.kind].connect(s.url);
      try {
        await connection.call(5_000);
        s.pause();
        expect(s.paused).toBe(true);
        await expect(connection.call(500)).rejects.toThrow(/timed out/);
        s.resume();
        expect(s.paused).toBe(false);
        await connection.call(10_000);
      } finally {
        await connection.close();
      }
    });

    extra?.(() => server!);

    it('stop() leaves no process and no temp dir behind', async () => {
      const s = server!;
      const root = rootDirOf(s);
      remember();
      await s.stop();
      expect(s.running).toBe(false);
      expect([...seenPids].filter(isProcessAlive)).toEqual([]);
      expect(existsSync(root)).toBe(false);
      await s.stop(); // idempotent
      await expect(s.restart()).rejects.toThrow(/stopped/);
    });
  });
}
