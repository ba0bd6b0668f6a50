import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createContext } from '@polystore/core';
import { compareValues } from '@polystore/core/adapter';
import { describe, expect, it } from 'vitest';
import { openSqlStores } from '../src/index.js';
import { useBackends } from './support.js';

const run = promisify(execFile);
const backends = useBackends({ postgres: false });
const WORKER = join(import.meta.dirname, 'fixtures', 'sqlite-worker.ts');

/** Runs the worker in its own node process (TypeScript through tsx, workspace packages from source). */
async function worker(url: string, networkId: string, count: number): Promise<string[]> {
  const { stdout } = await run(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', WORKER, url, networkId, String(count)],
    { cwd: import.meta.dirname, timeout: 60_000 },
  );
  return JSON.parse(stdout) as string[];
}

describe('sqlite shared by several processes', () => {
  it('migrates once when processes open a new file at the same time', async () => {
    const url = `sqlite:${join(backends.dir, 'multi-open.db')}`;
    await Promise.all([0, 1, 2].map(() => worker(url, '-', 0)));
    const stores = await openSqlStores(url);
    expect(await stores.instances.count(createContext({ projectId: 'p1' }))).toBe(0);
    await stores.close();
  });

  it('never gives the same address to allocations from several processes', async () => {
    const url = `sqlite:${join(backends.dir, 'multi-alloc.db')}`;
    const stores = await openSqlStores(url);
    const net = await stores.networks.create(createContext({ projectId: 'p1' }), {
      label: 'm',
      cidr: '10.5.0.0/24',
    });
    await stores.close();
    const results = (await Promise.all([0, 1, 2].map(() => worker(url, net.id, 15)))).flat();
    expect(new Set(results).size).toBe(45);
    const expected = Array.from({ length: 45 }, (_, i) => `10.5.0.${i + 1}`);
    expect(results.sort(compareValues)).toEqual(expected.sort(compareValues));
  });
});
