import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResult } from 'pg';
import { type Row, STATEMENT_CACHE_SIZE, type StatementRunner } from './statement-runner.js';

/**
 * SQLSTATE `feature_not_supported`, which the server answers when a named statement's
 * `SELECT *` or `RETURNING *` was planned before the table gained or lost a column
 * ("cached plan must not change result type").
 */
const CACHED_PLAN_CHANGED = '0A000';

/** The statement name of a kept text, in the generation it was last named in. */
interface Named {
  readonly hash: string;
  generation: number;
  name: string;
}

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
 * A call takes the pool's client and runs its query with callbacks, settling one promise
 * of its own (the promises of `connect()`, `query()` and two async functions cost a few µs
 * per call, against a statement whose client side is some 60 µs).
 *
 * @example
 * ```ts
 * const runner = new PostgresRunner(pool);
 * const rows = await runner.rows('SELECT * FROM "app"."widgets" WHERE "id" = $1', [id]);
 * ```
 */
export class PostgresRunner implements StatementRunner {
  readonly #pool: Pool;
  /** The name of each text kept (at most {@link STATEMENT_CACHE_SIZE}). */
  readonly #names = new Map<string, Named>();
  #generation = 0;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  row(text: string, params: readonly unknown[]): Promise<Row | undefined> {
    return new Promise((resolve, reject) => {
      this.#send(text, params as unknown[], false, (rows) => resolve(rows[0]), reject);
    });
  }

  rows(text: string, params: readonly unknown[]): Promise<Row[]> {
    return new Promise((resolve, reject) => {
      this.#send(text, params as unknown[], false, resolve, reject);
    });
  }

  /** Runs `text` once (and once more after a cached plan changed), on a client of the pool. */
  #send(
    text: string,
    values: unknown[],
    retried: boolean,
    resolve: (rows: Row[]) => void,
    reject: (err: unknown) => void,
  ): void {
    const generation = this.#generation;
    const name = this.#name(text, generation);
    // The pool's own client, as kysely's driver takes it: the pool's 'connect' listener
    // (postgres-connect.ts) wraps each client's `query`, which drops a connection whose
    // reply timed out.
    this.#pool.connect((err: Error | undefined, client: PoolClient | undefined) => {
      if (err !== undefined && err !== null) {
        reject(err);
        return;
      }
      const c = client!;
      const done = (failure: Error | null, result: QueryResult | undefined) => {
        c.release();
        if (failure === null || failure === undefined) {
          resolve(result!.rows as Row[]);
          return;
        }
        const code = (failure as { code?: unknown }).code;
        if (name === undefined || retried || code !== CACHED_PLAN_CHANGED) {
          reject(failure);
          return;
        }
        // Another call may have moved on already: one new generation per change.
        if (this.#generation === generation) this.#generation++;
        this.#send(text, values, true, resolve, reject);
      };
      try {
        c.query(name === undefined ? { text, values } : { name, text, values }, done);
      } catch (thrown) {
        c.release();
        reject(thrown);
      }
    });
  }

  /** The statement name of `text`, `undefined` once the cache is full and `text` not in it. */
  #name(text: string, generation: number): string | undefined {
    let named = this.#names.get(text);
    if (named === undefined) {
      if (this.#names.size >= STATEMENT_CACHE_SIZE) return undefined;
      const hash = createHash('sha1').update(text).digest('hex').slice(0, 32);
      named = { hash, generation, name: `ps${generation}_${hash}` };
      this.#names.set(text, named);
    } else if (named.generation !== generation) {
      named.generation = generation;
      named.name = `ps${generation}_${named.hash}`;
    }
    return named.name;
  }
}
