import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryConfig, QueryResult } from 'pg';
import { endStuck } from './postgres-connect.js';
import { type DescribedQueryFactory, describedQueries } from './postgres-described-query.js';
import {
  type Row,
  type RowArrays,
  STATEMENT_CACHE_SIZE,
  type StatementRunner,
} from './statement-runner.js';

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
 * A named statement's result is described once per connection (describedQueries): `pg`
 * would ask the server for the description and build its parsers from it on every call.
 *
 * A call takes the pool's client and runs its query with callbacks, settling one promise
 * of its own (the promises of `connect()`, `query()` and two async functions cost a few µs
 * per call, against a statement whose client side is some 60 µs).
 *
 * Each query is bounded by `readTimeoutMs` (the fail-fast bound) on the client side, as
 * kysely's queries on the same pool are (`connectPostgres`): with no answer by then, its
 * connection is ended and the call fails with `UnavailableError` once mapped.
 *
 * @example
 * ```ts
 * const runner = new PostgresRunner(pool, 5_000);
 * const rows = await runner.rows('SELECT * FROM "app"."widgets" WHERE "id" = $1', [id]);
 * ```
 */
export class PostgresRunner implements StatementRunner {
  readonly #pool: Pool;
  /** The name of each text kept (at most {@link STATEMENT_CACHE_SIZE}). */
  readonly #names = new Map<string, Named>();
  #generation = 0;
  /** pg's `Query` without the Describe of a statement already described on its connection. */
  readonly #query: DescribedQueryFactory | undefined;
  /** How long a query may go unanswered before its connection is ended; `undefined`: unbounded. */
  readonly #readTimeoutMs: number | undefined;

  constructor(pool: Pool, readTimeoutMs?: number) {
    this.#pool = pool;
    this.#readTimeoutMs = readTimeoutMs;
    this.#query = describedQueries((pool as { Client?: { Query?: unknown } }).Client?.Query);
  }

  row(text: string, params: readonly unknown[]): Promise<Row | undefined> {
    return new Promise((resolve, reject) => {
      this.#send(text, params as unknown[], false, false, (r) => resolve(r.rows[0]), reject);
    });
  }

  rows(text: string, params: readonly unknown[]): Promise<Row[]> {
    return new Promise((resolve, reject) => {
      this.#send(text, params as unknown[], false, false, (r) => resolve(r.rows), reject);
    });
  }

  /**
   * {@link rows} as arrays (`pg`'s `rowMode: 'array'`): `pg` then makes no object per row,
   * which a page's caller copies into a record anyway.
   */
  rowArrays(text: string, params: readonly unknown[]): Promise<RowArrays> {
    return new Promise((resolve, reject) => {
      this.#send(
        text,
        params as unknown[],
        false,
        true,
        (r) => {
          const { fields } = r;
          const columns = new Array<string>(fields.length);
          for (let i = 0; i < fields.length; i++) columns[i] = fields[i]!.name;
          resolve({ columns, rows: r.rows as unknown as unknown[][] });
        },
        reject,
      );
    });
  }

  /** {@link rowArrays}: a statement of one row or none costs no more as arrays. */
  rowArray(text: string, params: readonly unknown[]): Promise<RowArrays> {
    return this.rowArrays(text, params);
  }

  /** Runs `text` once (and once more after a cached plan changed), on a client of the pool. */
  #send(
    text: string,
    values: unknown[],
    retried: boolean,
    arrays: boolean,
    resolve: (result: QueryResult<Row>) => void,
    reject: (err: unknown) => void,
  ): void {
    const generation = this.#generation;
    const name = this.#name(text, generation);
    const ms = this.#readTimeoutMs;
    this.#pool.connect((err: Error | undefined, client: PoolClient | undefined) => {
      if (err !== undefined && err !== null) {
        reject(err);
        return;
      }
      const c = client!;
      const timer = ms === undefined ? undefined : setTimeout(endStuck, ms, c);
      // pg calls a query back twice when it cannot bind its values: with the error, and
      // again at the server's ReadyForQuery. Only the first call counts.
      let settled = false;
      const done = (failure: Error | null, result: QueryResult | undefined) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        // A failure the server did not answer (no severity): the connection is dropped, not
        // pooled. After a value it could not bind, for one, pg has closed the statement on
        // the server but still counts it prepared, and every later call of it there fails.
        const local = failure && (failure as { severity?: unknown }).severity === undefined;
        c.release(local ? failure : undefined);
        if (failure === null || failure === undefined) {
          resolve(result as QueryResult<Row>);
          return;
        }
        const code = (failure as { code?: unknown }).code;
        if (name === undefined || retried || code !== CACHED_PLAN_CHANGED) {
          reject(failure);
          return;
        }
        // Another call may have moved on already: one new generation per change.
        if (this.#generation === generation) this.#generation++;
        this.#send(text, values, true, arrays, resolve, reject);
      };
      try {
        const query = this.#query;
        if (name !== undefined && query !== undefined) {
          c.query(query(name, text, values, arrays) as never, done);
        } else {
          const config: QueryConfig =
            name === undefined ? { text, values } : { name, text, values };
          if (arrays) (config as { rowMode?: 'array' }).rowMode = 'array';
          c.query(config, done);
        }
      } catch (thrown) {
        if (timer !== undefined) clearTimeout(timer);
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
