import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createContext } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import { openSqlStores } from '../src/index.js';
import { useBackends } from './support.js';

const backends = useBackends({ postgres: false });
const ctx = createContext({ projectId: 'wal' });
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
/** SQLite's automatic checkpoint runs once the WAL holds 1,000 pages (4 MB at 4 KiB). */
const CHECKPOINTED_WAL_BYTES = 8 * 1024 * 1024;

describe('sqlite WAL', () => {
  it('stays bounded under writes that return their row: every write ends in a way that lets SQLite checkpoint', async () => {
    const file = join(backends.dir, 'wal.db');
    const stores = await openSqlStores(`sqlite:${file}`);
    try {
      const records = await Promise.all(
        Array.from({ length: 8 }, () => stores.instances.create(ctx, { flavor: FLAVOR })),
      );
      // Each update rewrites the row and an entry in three indexes: about 16 KB of WAL, so
      // 3,000 of them write about 48 MB, which only checkpoints keep from piling up.
      for (let i = 0; i < 3_000; i++) {
        const r = records[i % records.length]!;
        await stores.instances.update(ctx, r.id, { displayName: `vm-${i}`, taskState: null });
      }
      await stores.instances.create(ctx, { flavor: FLAVOR });
      await stores.instances.delete(ctx, records[0]!.id);
      expect(statSync(`${file}-wal`).size).toBeLessThan(CHECKPOINTED_WAL_BYTES);
      expect((await stores.instances.get(ctx, records[1]!.id)).revision).toBe(1 + 3_000 / 8);
    } finally {
      await stores.close();
    }
  });
});
