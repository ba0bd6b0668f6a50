import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { type Row, STATEMENT_CACHE_SIZE, type StatementRunner } from './statement-runner.js';

/**
 * SQLSTATE `feature_not_supported`, which the server answers when a named statement's
 * `SELECT *` or `RETURNING *` was planned before the table gained or lost a column
 * ("cached plan must not change result type").
 */
const CACHED_PLAN_CHANGED = '0A000';

/**
 * Runs a table's hot statements on the `pg` pool as named (prepared) statements: the
 * server parses and plans each text once per connection instead of on every call. A name
 * is a hash of the text, so one text has one name on every pooled connection (`pg`
 * remembers per connection which names it has prepared and sends the text only the
 * first time).
 *
 * After an `expand` or `contract` changed the table's columns, a statement prepared before
 * fails with "cached plan must not change result type". The runner then moves to a new
 * generation of names (every text is prepared again, under its new name, on each
 * connection as it is used) and runs the call once more.
 *
 * @example
 * ```ts
 * const runner = new PostgresRunner(pool);
 * const rows = await runner.rows('SELECT * FROM "app"."widgets" WHERE "id" = $1', [id]);
 * ```
 */
export class PostgresRunner implements StatementRunner {
  readonly #pool: Pool;
  /** The name hash of each text kept (at most {@link STATEMENT_CACHE_SIZE}). */
  readonly #hashes = new Map<string, string>();
  #generation = 0;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async row(text: string, params: readonly unknown[]): Promise<Row | undefined> {
    return (await this.rows(text, params))[0];
  }

  async rows(text: string, params: readonly unknown[]): Promise<Row[]> {
    const hash = this.#hash(text);
    for (let retried = false; ; retried = true) {
      const generation = this.#generation;
      // The pool's own client, as kysely's driver takes it: the pool's 'connect' listener
      // (postgres-connect.ts) wraps each client's `query`, which drops a connection whose
      // reply timed out.
      const client = await this.#pool.connect();
      try {
        const values = params as unknown[];
        const result =
          hash === undefined
            ? await client.query({ text, values })
            : await client.query({ name: `ps${generation}_${hash}`, text, values });
        return result.rows as Row[];
      } catch (err) {
        const code = (err as { code?: unknown } | null)?.code;
        if (hash === undefined || retried || code !== CACHED_PLAN_CHANGED) throw err;
        // Another call may have moved on already: one new generation per change.
        if (this.#generation === generation) this.#generation++;
      } finally {
        client.release();
      }
    }
  }

  /** The name hash of `text`, `undefined` once the cache is full and `text` not in it. */
  #hash(text: string): string | undefined {
    let hash = this.#hashes.get(text);
    if (hash === undefined && this.#hashes.size < STATEMENT_CACHE_SIZE) {
      hash = createHash('sha1').update(text).digest('hex').slice(0, 32);
      this.#hashes.set(text, hash);
    }
    return hash;
  }
}
