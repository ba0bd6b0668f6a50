import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { isProcessAlive, processTree, startFerretDb } from '../src/index.js';
import { DRIVERS } from './drivers.js';
import { describeLifecycle, rootDirOf } from './lifecycle.js';

describeLifecycle(
  'ferretdb',
  () => startFerretDb(),
  (server) => {
    it('runs on the SQLite backend by default, with no PostgreSQL behind it', () => {
      expect(server().backend).toBe('sqlite');
      expect(server().postgres).toBeUndefined();
    });
  },
);

it('can run on a dedicated PostgreSQL backend and stops it with itself', async () => {
  const server = await startFerretDb({ backend: 'postgresql' });
  const postgres = server.postgres!;
  const pids = [...processTree(server.pid!), ...processTree(postgres.pid!)];
  const roots = [rootDirOf(server), rootDirOf(postgres)];
  try {
    await DRIVERS.ferretdb.write(server.url, 'k', 'v');
    await server.kill();
    expect(postgres.running).toBe(true);
    await server.restart();
    expect(await DRIVERS.ferretdb.read(server.url, 'k')).toBe('v');
  } finally {
    await server.stop();
  }
  pids.push(...[server.pid, postgres.pid].filter((pid) => pid !== undefined));
  expect(pids.filter(isProcessAlive)).toEqual([]);
  expect(roots.filter(existsSync)).toEqual([]);
});
