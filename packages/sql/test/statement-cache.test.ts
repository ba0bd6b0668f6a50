import { elementsBetween } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import { admin, at, gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { postgresSupport } from '../src/dialect/postgres-dialect-support.js';
import { PostgresRunner } from '../src/dialect/postgres-runner.js';
import { sqliteSupport } from '../src/dialect/sqlite-dialect-support.js';
import { SqliteRunner } from '../src/dialect/sqlite-runner.js';
import { STATEMENT_CACHE_SIZE } from '../src/dialect/statement-runner.js';
import { tableLayout } from '../src/layout.js';
import { openSqlBackend } from '../src/sql-adapter.js';
import type { SqlBackend } from '../src/sql-backend.js';
import { RowCodec } from '../src/sql-resource-driver.js';
import { SqlStatements } from '../src/sql-statements.js';
import { DIALECTS, type Dialect, useBackends } from './support.js';

// The hot statements run prepared and are kept (see sql-statements.ts and the runners):
// these tests check what keeping them must not change.

const backends = useBackends();
const everything = { projectId: null, includeShared: true, deleted: 'yes' } as const;
const byId = { field: 'id', direction: 'asc' } as const;

const opened: SqlBackend[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()));
});

for (const dialect of DIALECTS) {
  describe(`statement cache: ${dialect}`, () => {
    // One connection on PostgreSQL, so that the expand certainly changes the table under
    // statements that connection has prepared.
    const open = async (url: string, resource: typeof gadgetV10 | typeof gadgetV11) => {
      const backend = await openSqlBackend(new URL(url), {
        resources: [resource],
        adapter: { poolSize: 1 },
      });
      opened.push(backend);
      return backend;
    };

    it('reads and writes through an expand and a contract that change the columns under kept statements', async () => {
      const url = backends.url(dialect, freshNamespace('sc'));
      // A 1.0 store, then a client of 1.1 on it before the expand (its open adds nothing).
      await (await open(url, gadgetV10)).close();
      const backend = await open(url, gadgetV11);
      const driver = backend.driver(gadgetV11);
      const oldBackend = await open(url, gadgetV10);
      const oldDriver = oldBackend.driver(gadgetV10);
      await oldDriver.insert(rec('r1', { label: 'one' }));
      await oldDriver.insert(rec('r2', { label: 'two' }));
      const change = (set: Record<string, unknown>, expectedRevision: number) => ({
        set,
        updatedAt: at,
        objectVersion: '1.0',
        expectedRevision,
        expected: undefined,
      });
      // Each hot statement runs once before the expand.
      // The column is not there yet: a nullable field reads as null.
      expect(await driver.get(everything, 'r1')).toMatchObject({ label: 'one', color: null });
      await driver.getMany(everything, ['r1', 'r2']);
      await driver.list(everything, { where: [], orderBy: byId, limit: 10, after: null });
      await driver.count(everything, []);
      expect(await oldDriver.update(admin, 'r1', change({ label: 'uno' }, 1))).toMatchObject({
        status: 'ok',
      });
      expect(await oldDriver.update(admin, 'r1', change({ label: 'x' }, 1))).toMatchObject({
        status: 'conflict',
      });

      await backend.expand(gadgetV11, elementsBetween(gadgetV11, '1.0', '1.1').expand);

      // The 1.1 driver writes and reads the new column with statements kept from before.
      const colored = await driver.update(admin, 'r1', {
        ...change({ color: 'red' }, 2),
        objectVersion: '1.1',
      });
      expect(colored).toMatchObject({ status: 'ok', record: { color: 'red', revision: 3 } });
      expect(await driver.get(everything, 'r1')).toMatchObject({ label: 'uno', color: 'red' });
      expect(await driver.getMany(everything, ['r1', 'r2'])).toEqual(
        expect.arrayContaining([expect.objectContaining({ id: 'r1', color: 'red' })]),
      );
      const page = await driver.list(everything, {
        where: [],
        orderBy: byId,
        limit: 10,
        after: null,
      });
      expect(page.map((r) => [r.id, r.color])).toEqual([
        ['r1', 'red'],
        ['r2', null],
      ]);
      expect(await driver.count(everything, [])).toBe(2);
      // The 1.0 driver's kept insert, update and refused-write read return one more column now.
      await oldDriver.insert(rec('r3', { label: 'three' }));
      expect(await oldDriver.update(admin, 'r2', change({ label: 'dos' }, 1))).toMatchObject({
        status: 'ok',
        record: { label: 'dos', revision: 2 },
      });
      expect(await oldDriver.update(admin, 'r2', change({ label: 'x' }, 1))).toMatchObject({
        status: 'conflict',
        current: { label: 'dos' },
      });
      expect(await oldDriver.get(everything, 'r1')).toMatchObject({ label: 'uno' });

      // The contract drops the column again under statements kept since.
      await backend.contract(gadgetV11, elementsBetween(gadgetV11, '1.1', '1.0').contract);
      expect(await oldDriver.get(everything, 'r1')).toMatchObject({ label: 'uno', revision: 3 });
      expect(await oldDriver.count(everything, [])).toBe(3);
      expect(await oldDriver.update(admin, 'r3', change({ label: 'tres' }, 1))).toMatchObject({
        status: 'ok',
      });
    });

    it('keeps answering once more shapes than it keeps were run', async () => {
      const backend = await open(backends.url(dialect), gadgetV10);
      const driver = backend.driver(gadgetV10);
      const ids = Array.from({ length: STATEMENT_CACHE_SIZE + 20 }, (_, i) => `g${i}`);
      for (const id of ids.slice(0, 30)) await driver.insert(rec(id, { label: id }));
      // SQLite writes a placeholder per id: every length is another statement.
      for (let n = 1; n <= ids.length; n++) {
        const got = await driver.getMany(everything, ids.slice(0, n));
        expect(got).toHaveLength(Math.min(n, 30));
      }
      expect(await driver.get(everything, 'g7')).toMatchObject({ label: 'g7' });
    });
  });
}

describe('PostgresRunner', () => {
  it('prepares a text once per connection, under one name, and keeps at most the bound', async () => {
    const pool = new pg.Pool({ connectionString: backends.postgresUrl, max: 1 });
    try {
      const runner = new PostgresRunner(pool);
      const prepared = async () =>
        (await pool.query('SELECT name, statement FROM pg_prepared_statements')).rows;
      for (let i = 0; i < 3; i++) {
        expect(await runner.rows('SELECT $1::int + 1 AS "n"', [i])).toEqual([{ n: i + 1 }]);
      }
      expect(await prepared()).toEqual([
        {
          name: expect.stringMatching(/^ps0_[0-9a-f]{32}$/),
          statement: 'SELECT $1::int + 1 AS "n"',
        },
      ]);
      for (let i = 0; i < STATEMENT_CACHE_SIZE + 10; i++) {
        expect(await runner.rows(`SELECT $1::int + ${i} AS "n"`, [1])).toEqual([{ n: i + 1 }]);
      }
      expect(await prepared()).toHaveLength(STATEMENT_CACHE_SIZE);
    } finally {
      await pool.end();
    }
  });

  it('describes a statement once per connection: later calls send no Describe and read the same rows', async () => {
    const pool = new pg.Pool({ connectionString: backends.postgresUrl, max: 1 });
    const table = `sc_${freshNamespace('d')}`;
    try {
      await pool.query(
        `CREATE TABLE "${table}" (id text PRIMARY KEY, n bigint, doc jsonb, at timestamptz)`,
      );
      await pool.query(
        `INSERT INTO "${table}" VALUES ('a', 1, '{"k":[1,2]}', '2026-01-01Z'), ('b', NULL, 'null', NULL)`,
      );
      const runner = new PostgresRunner(pool);
      // The pool's one connection: count the result descriptions it receives.
      const client = await pool.connect();
      let descriptions = 0;
      (client as unknown as { connection: NodeJS.EventEmitter }).connection.on(
        'rowDescription',
        () => descriptions++,
      );
      client.release();
      const text = `SELECT * FROM "${table}" WHERE "id" = ANY($1) ORDER BY "id"`;
      const first = await runner.rows(text, [['a', 'b']]);
      expect(descriptions).toBe(1);
      const again = [await runner.rows(text, [['a', 'b']]), await runner.rows(text, [['a', 'b']])];
      const arrays = await runner.rowArrays(text, [['b']]);
      expect(descriptions).toBe(1);
      expect(first).toEqual([
        { id: 'a', n: '1', doc: { k: [1, 2] }, at: new Date('2026-01-01Z') },
        { id: 'b', n: null, doc: null, at: null },
      ]);
      expect(again).toEqual([first, first]);
      expect(arrays).toEqual({
        columns: ['id', 'n', 'doc', 'at'],
        rows: [['b', null, null, null]],
      });
      // A value pg cannot bind fails that call alone (pg closes the statement on the
      // server then, so the connection is dropped): the next call answers.
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      await expect(runner.rows(text, [circular])).rejects.toThrow(/circular/);
      expect(await runner.rows(text, [['a']])).toEqual([first[0]]);
      expect(await runner.rowArrays(text, [['a']])).toEqual({
        columns: ['id', 'n', 'doc', 'at'],
        rows: [['a', '1', { k: [1, 2] }, new Date('2026-01-01Z')]],
      });
    } finally {
      await pool.end();
    }
  });

  it('prepares again, once, a statement whose result columns an ALTER TABLE changed', async () => {
    const pool = new pg.Pool({ connectionString: backends.postgresUrl, max: 3 });
    const table = `sc_${freshNamespace('t')}`;
    try {
      await pool.query(`CREATE TABLE "${table}" (id text PRIMARY KEY)`);
      await pool.query(`INSERT INTO "${table}" VALUES ('a')`);
      const runner = new PostgresRunner(pool);
      const text = `SELECT * FROM "${table}" WHERE "id" = $1`;
      // Every connection of the pool prepares it.
      await Promise.all(Array.from({ length: 6 }, () => runner.rows(text, ['a'])));
      await pool.query(`ALTER TABLE "${table}" ADD COLUMN extra text DEFAULT 'x'`);
      const rows = await Promise.all(Array.from({ length: 6 }, () => runner.rows(text, ['a'])));
      expect(rows.flat()).toEqual(Array(6).fill({ id: 'a', extra: 'x' }));
      expect(await runner.rowArrays(text, ['a'])).toEqual({
        columns: ['id', 'extra'],
        rows: [['a', 'x']],
      });
    } finally {
      await pool.end();
    }
  });
});

describe('SqliteRunner', () => {
  it('runs a statement behind an open kysely transaction, not inside it', async () => {
    const database = new Database(':memory:');
    const db = new Kysely({ dialect: new SqliteDialect({ database }) });
    try {
      database.exec('CREATE TABLE t (id text PRIMARY KEY)');
      const runner = new SqliteRunner(database, db);
      const insert = 'INSERT INTO "t" VALUES (?) RETURNING *';
      await runner.rows(insert, ['before']);
      let pending: Promise<unknown> | undefined;
      let settled = false;
      await db.connection().execute(async (c) => {
        await sql`BEGIN IMMEDIATE`.execute(c);
        pending = runner.rows(insert, ['during']).finally(() => {
          settled = true;
        });
        await new Promise((resolve) => setImmediate(resolve));
        expect(settled).toBe(false);
        await sql`ROLLBACK`.execute(c);
      });
      // Run after the transaction: its rollback did not take the row with it.
      expect(await pending).toEqual([{ id: 'during' }]);
      expect(database.prepare('SELECT id FROM t ORDER BY id').all()).toEqual([
        { id: 'before' },
        { id: 'during' },
      ]);
    } finally {
      await db.destroy();
    }
  });
});

describe('SqliteRunner rowArrays', () => {
  it('names the columns of each run, also after the table changed under the kept statement and behind a transaction', async () => {
    const database = new Database(':memory:');
    const db = new Kysely({ dialect: new SqliteDialect({ database }) });
    try {
      database.exec(
        "CREATE TABLE t (id text PRIMARY KEY, a text); INSERT INTO t VALUES ('x', 'one')",
      );
      const runner = new SqliteRunner(database, db);
      const text = 'SELECT * FROM "t" WHERE "id" = ?';
      expect(await runner.rowArrays(text, ['x'])).toEqual({
        columns: ['id', 'a'],
        rows: [['x', 'one']],
      });
      database.exec("ALTER TABLE t ADD COLUMN b text DEFAULT 'two'");
      expect(await runner.rowArrays(text, ['x'])).toEqual({
        columns: ['id', 'a', 'b'],
        rows: [['x', 'one', 'two']],
      });
      database.exec('ALTER TABLE t DROP COLUMN a');
      expect(await runner.rowArrays(text, ['x'])).toEqual({
        columns: ['id', 'b'],
        rows: [['x', 'two']],
      });
      let pending: Promise<unknown> | undefined;
      await db.connection().execute(async (c) => {
        await sql`BEGIN IMMEDIATE`.execute(c);
        pending = runner.rowArrays(text, ['x']);
        await sql`ROLLBACK`.execute(c);
      });
      // Run through kysely once the transaction ended: the names come from the row.
      expect(await pending).toEqual({ columns: ['id', 'b'], rows: [['x', 'two']] });
    } finally {
      await db.destroy();
    }
  });
});

describe('SqlStatements', () => {
  const layout = tableLayout(gadgetV11, 'p_');
  /** What SQLite's statements return: the layout's columns by name. */
  const named = layout.columns.map((c) => `"${c.column}"`).join(', ');
  const scope = { projectId: 'p1', includeShared: false, deleted: 'no' } as const;
  const statements = (dialect: Dialect) =>
    new SqlStatements(
      new RowCodec(layout, dialect === 'sqlite' ? sqliteSupport : postgresSupport),
      dialect,
      dialect === 'postgres' ? 'app' : undefined,
    );

  it('writes one text per shape, values only as parameters', () => {
    const pg = statements('postgres');
    const two = pg.getMany(scope, ['a', 'b']);
    const five = pg.getMany(scope, ['a', 'b', 'c', 'd', "e' OR 1=1"]);
    expect(five.text).toBe(two.text);
    expect(five.text).toBe(
      'SELECT * FROM "app"."p_gadgets" WHERE "id" = ANY($1) AND "project_id" = $2 AND "deleted_at" IS NULL',
    );
    expect(five.params).toEqual([['a', 'b', 'c', 'd', "e' OR 1=1"], 'p1']);
    const lite = statements('sqlite');
    expect(lite.getMany(scope, ['a', 'b']).text).toBe(
      `SELECT ${named} FROM "p_gadgets" WHERE "id" IN (?, ?) AND "project_id" = ? AND "deleted_at" IS NULL`,
    );
    // A table that lacks a column of the layout: every text returns `*` from then on.
    expect(lite.namesColumns).toBe(true);
    lite.returnEveryColumn();
    expect(lite.namesColumns).toBe(false);
    expect(lite.getMany(scope, ['a', 'b']).text).toBe(
      'SELECT * FROM "p_gadgets" WHERE "id" IN (?, ?) AND "project_id" = ? AND "deleted_at" IS NULL',
    );
    expect(lite.insert(rec('r1', { label: 'x' })).text).toMatch(/ RETURNING \*$/);
    expect(pg.namesColumns).toBe(false);
    // Another scope, filter or cursor is another text; other values are the same text.
    const page = (label: string | null, after: boolean) =>
      pg.list(scope, {
        where: [{ field: 'label', op: 'eq', value: label }],
        orderBy: { field: 'label', direction: 'desc' },
        limit: 51,
        after: after ? { id: 'x', value: 'y' } : null,
      });
    expect(page('a', false).text).toBe(page('b', false).text);
    expect(page(null, false).text).not.toBe(page('a', false).text);
    expect(page('a', true)).toEqual({
      text: 'SELECT * FROM "app"."p_gadgets" WHERE "project_id" = $1 AND "deleted_at" IS NULL AND "label" = $2 AND ("label", "id") < ($3, $4) ORDER BY "label" desc, "id" desc LIMIT 51',
      params: ['p1', 'a', 'y', 'x'],
    });
  });

  it('leaves object_version out of an update whose conditions hold it at the version written', () => {
    const change = (objectVersion: string) => ({
      set: { label: 'l' },
      updatedAt: at,
      objectVersion,
      expectedRevision: undefined,
      expected: { objectVersion: ['1.1'] },
    });
    expect(statements('sqlite').update({ projectId: 'p1' }, 'r1', change('1.1'))).toEqual({
      text: `UPDATE "p_gadgets" SET "label" = ?, "revision" = "revision" + 1, "updated_at" = ? WHERE "id" = ? AND "deleted_at" IS NULL AND "project_id" = ? AND "object_version" = ? RETURNING ${named}`,
      params: ['l', at, 'r1', 'p1', '1.1'],
    });
    expect(statements('sqlite').update({ projectId: 'p1' }, 'r1', change('1.0'))).toEqual({
      text: `UPDATE "p_gadgets" SET "label" = ?, "revision" = "revision" + 1, "updated_at" = ?, "object_version" = ? WHERE "id" = ? AND "deleted_at" IS NULL AND "project_id" = ? AND "object_version" = ? RETURNING ${named}`,
      params: ['l', at, '1.0', 'r1', 'p1', '1.1'],
    });
  });

  it('writes an update setting the fields given, in their order, then the system columns', () => {
    const change = {
      set: { color: 'red', label: 'l' },
      updatedAt: at,
      objectVersion: '1.1',
      expectedRevision: 4,
      expected: { color: [null, 'blue', 'green'] },
    };
    expect(statements('postgres').update({ projectId: null }, 'r1', change)).toEqual({
      text: 'UPDATE "app"."p_gadgets" SET "color" = $1, "label" = $2, "revision" = "revision" + 1, "updated_at" = $3, "object_version" = $4 WHERE "id" = $5 AND "deleted_at" IS NULL AND "revision" = $6 AND ("color" = ANY($7) OR "color" IS NULL) RETURNING *',
      params: ['red', 'l', at, '1.1', 'r1', 4, ['blue', 'green']],
    });
  });

  it('binds the same parameters in the same text whether it builds a shape or finds it kept', () => {
    const scopes = [
      scope,
      everything,
      { projectId: 'p1', includeShared: true, deleted: 'only' },
      { projectId: null, includeShared: false, deleted: 'no' },
    ] as const;
    const filters = [
      [],
      [{ field: 'label', op: 'eq', value: 'a' }],
      [{ field: 'color', op: 'eq', value: null }],
      [{ field: 'color', op: 'in', value: ['a'] }],
      [{ field: 'color', op: 'in', value: ['a', null, 'b', 'c'] }],
      [{ field: 'color', op: 'in', value: [null] }],
      [{ field: 'color', op: 'in', value: [] }],
      [
        { field: 'label', op: 'gte', value: 'a' },
        { field: 'label', op: 'lt', value: 'm' },
        { field: 'color', op: 'eq', value: 'x' },
      ],
    ] as const;
    const expecteds: (Record<string, readonly unknown[]> | undefined)[] = [
      undefined,
      { color: ['blue'] },
      { color: [null, 'b', 'c'], label: ['l'] },
      // At the version written (its SET leaves object_version out), and at another.
      { objectVersion: ['1.1'] },
      { color: ['blue'], objectVersion: ['1.0'] },
    ];
    for (const dialect of DIALECTS) {
      // Every call of `kept` after its first finds the shape kept; `fresh` builds each text.
      const kept = statements(dialect);
      const same = (call: (s: SqlStatements, n: number) => unknown) => {
        call(kept, 0);
        expect(call(kept, 1)).toEqual(call(statements(dialect), 1));
      };
      for (const s of scopes) {
        same((t, n) => t.get(s, `id${n}`));
        same((t, n) => t.getMany(s, [`a${n}`, `b${n}`, `c${n}`]));
        same((t, n) => t.getMany(s, [`a${n}`]));
        for (const where of filters) {
          same((t) => t.count(s, where));
          for (const after of [null, { id: 'x', value: 'y' }])
            for (const orderBy of [byId, { field: 'label', direction: 'desc' } as const])
              same((t, n) => t.list(s, { where, orderBy, limit: 10 + n, after }));
        }
      }
      for (const projectId of [null, 'p1'])
        for (const expected of expecteds)
          for (const expectedRevision of [undefined, 3]) {
            const w = { projectId };
            same((t, n) =>
              t.update(w, `r${n}`, {
                set: { color: `c${n}`, label: `l${n}` },
                updatedAt: at,
                objectVersion: '1.1',
                expectedRevision,
                expected,
              }),
            );
            for (const soft of [true, false])
              same((t, n) => t.delete(w, `r${n}`, { soft, at, expectedRevision, expected }));
            same((t, n) => t.current(w, `r${n}`));
          }
    }
  });
});
