import { timedFailure } from '@polystore/testing';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectPostgres } from '../src/dialect/postgres-connect.js';
import { PostgresRunner } from '../src/dialect/postgres-runner.js';
import { resolveSqlOptions } from '../src/sql-options.js';
import { useBackends } from './support.js';

// Every query on the pool is bounded on the client side by failFastMs: a query with no
// answer by then has its connection ended, so a stalled connection never holds up the
// queries after it. A slow statement (pg_sleep, the server's statement_timeout set far
// beyond the bound) stands in for a stalled server here; postgres-fail-fast.test.ts
// freezes a real one.

const backends = useBackends();
/** The client-side bound of these tests, ms. */
const BOUND_MS = 300;
/** How long past the bound a query may still settle on a loaded machine. */
const GRACE_MS = 3_000;

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function connect() {
  const url = new URL(backends.postgresUrl);
  const { db, pool } = await connectPostgres(
    url,
    resolveSqlOptions(url, { failFastMs: BOUND_MS, statementTimeoutMs: 60_000, poolSize: 2 }),
  );
  close = () => db.destroy();
  return { db, pool };
}

describe('postgres: each query is bounded by failFastMs on the client side', () => {
  it('a hot statement with no answer within the bound fails, and its connection is ended, not pooled', async () => {
    const { pool } = await connect();
    const runner = new PostgresRunner(pool, BOUND_MS);
    expect(await runner.row('SELECT 1 AS "n"', [])).toEqual({ n: 1 });
    expect(pool.totalCount).toBe(1);
    const { ms, error } = await timedFailure(() => runner.row('SELECT pg_sleep(30)', []));
    expect((error as Error).message).toMatch(/Connection terminated/);
    expect(ms).toBeGreaterThanOrEqual(BOUND_MS - 5);
    expect(ms).toBeLessThan(BOUND_MS + GRACE_MS);
    // The ended client left the pool; the next call gets a fresh connection and its answer.
    await vi.waitFor(() => expect(pool.totalCount).toBe(0), { timeout: GRACE_MS });
    expect(await runner.row('SELECT 2 AS "n"', [])).toEqual({ n: 2 });
  }, 30_000);

  it('a statement answered within the bound is untouched: its connection goes back to the pool', async () => {
    const { pool } = await connect();
    const runner = new PostgresRunner(pool, BOUND_MS);
    expect(await runner.row('SELECT pg_sleep(0.05), 3 AS "n"', [])).toMatchObject({ n: 3 });
    expect(pool.totalCount).toBe(1);
    expect(pool.idleCount).toBe(1);
    // Well past the bound: the cleared timer never ended the idle connection.
    await new Promise((resolve) => setTimeout(resolve, BOUND_MS * 2));
    expect(pool.totalCount).toBe(1);
    expect(await runner.row('SELECT 4 AS "n"', [])).toEqual({ n: 4 });
    expect(pool.totalCount).toBe(1);
  }, 30_000);

  it("kysely's queries (evolution, transactions) are bounded the same way", async () => {
    const { db, pool } = await connect();
    expect((await sql<{ n: number }>`SELECT 5 AS n`.execute(db)).rows).toEqual([{ n: 5 }]);
    const { ms, error } = await timedFailure(() => sql`SELECT pg_sleep(30)`.execute(db));
    expect((error as Error).message).toMatch(/Connection terminated/);
    expect(ms).toBeLessThan(BOUND_MS + GRACE_MS);
    await vi.waitFor(() => expect(pool.totalCount).toBe(0), { timeout: GRACE_MS });
    // A transaction on a fresh connection after it.
    const n = await db.transaction().execute(async (trx) => {
      return (await sql<{ n: number }>`SELECT 6 AS n`.execute(trx)).rows[0]!.n;
    });
    expect(n).toBe(6);
  }, 30_000);
});
