import { join } from 'node:path';
import { createContext, UnavailableError } from '@polystore/core';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openSqlStores } from '../src/index.js';
import { SQL_DEFAULTS } from '../src/sql-options.js';
import { useBackends } from './support.js';

const backends = useBackends({ postgres: false });
const ctx = createContext({ projectId: 'locked' });
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
/** The fail-fast bound the other backends default to. */
const FAIL_FAST_MS = 5_000;

describe('sqlite, when another process holds the write lock', () => {
  it('fails a write with UnavailableError within the fail-fast bound, and writes again once the lock is gone', async () => {
    expect(SQL_DEFAULTS.busyTimeoutMs).toBeLessThan(FAIL_FAST_MS);
    const file = join(backends.dir, 'locked.db');
    const stores = await openSqlStores(`sqlite:${file}`);
    // Another connection (as another process would) takes the write lock and keeps it.
    const other = new Database(file);
    try {
      const kept = await stores.instances.create(ctx, { flavor: FLAVOR });
      other.exec('BEGIN IMMEDIATE');
      const started = performance.now();
      const err = await stores.instances.update(ctx, kept.id, { host: 'h' }).catch((e) => e);
      const ms = performance.now() - started;
      expect(err).toBeInstanceOf(UnavailableError);
      expect(ms).toBeLessThan(FAIL_FAST_MS);
      // Reads still answer in WAL mode.
      expect((await stores.instances.get(ctx, kept.id)).revision).toBe(1);
      other.exec('ROLLBACK');
      expect((await stores.instances.update(ctx, kept.id, { host: 'h' })).revision).toBe(2);
    } finally {
      other.close();
      await stores.close();
    }
  });
});
