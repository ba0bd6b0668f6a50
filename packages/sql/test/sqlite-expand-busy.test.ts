import { join } from 'node:path';
import { defineResource, f } from '@polystore/core';
import { elementsBetween, type SchemaElements } from '@polystore/core/adapter';
import { gadgetBase } from '@polystore/testing/evolution-fixtures';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { SqlDb } from '../src/dialect/dialect-support.js';
import { sqliteSupport } from '../src/dialect/sqlite-dialect-support.js';
import { tableLayout } from '../src/layout.js';
import { SchemaElementsStore } from '../src/schema-elements.js';
import { openSqlBackend } from '../src/sql-adapter.js';
import { useBackends } from './support.js';

// Regression: on SQLite, `expand` and `contract` ran in a DEFERRED transaction that read
// before it wrote. In WAL mode a connection whose read snapshot is older than another
// connection's commit cannot upgrade to a write lock (SQLITE_BUSY_SNAPSHOT, "database is
// locked"), and the busy timeout does not help: the live-upgrade load test saw `expand`
// fail while a service process kept creating records. The race is made certain here: the
// SQLite handle under the store's kysely instance lets another connection (as another
// process would) write right after the first read of the call's transaction.

const backends = useBackends({ postgres: false });

const v10 = defineResource({
  ...gadgetBase,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: { label: f.string().indexed() },
});

/** 1.1 adds a plain column: its `contract` starts with a read of the table's columns. */
const v11 = defineResource({
  ...gadgetBase,
  version: '1.1',
  history: { '1.0': 'initial version', '1.1': 'added note' },
  fields: { label: f.string().indexed(), note: f.string().nullable().addedIn('1.1') },
});

/** What the other connection's write met: committed, or refused because the call held the write lock. */
type Intrusion = 'committed' | 'refused';

/**
 * A better-sqlite3 handle for kysely that, once armed, lets `intrude` run right after the
 * first statement that reads rows inside a transaction (between `BEGIN …` and its end).
 */
function interceptedHandle(raw: Database.Database, intrude: () => void) {
  let armed = false;
  let inTransaction = false;
  const after = (text: string, reader: boolean) => {
    if (/^\s*begin\b/i.test(text)) inTransaction = true;
    else if (/^\s*(commit|rollback|end)\b/i.test(text)) inTransaction = false;
    else if (armed && inTransaction && reader) {
      armed = false;
      intrude();
    }
  };
  const handle = {
    close: () => {
      raw.close();
    },
    prepare(text: string) {
      const statement = raw.prepare(text);
      return {
        reader: statement.reader,
        all(parameters: readonly unknown[]) {
          const rows = statement.all(...parameters);
          after(text, true);
          return rows;
        },
        run(parameters: readonly unknown[]) {
          const result = statement.run(...parameters);
          after(text, false);
          return result;
        },
        iterate(parameters: readonly unknown[]) {
          return statement.iterate(...parameters);
        },
      };
    },
  };
  return {
    handle,
    arm: () => {
      armed = true;
    },
  };
}

/** A store file at 1.0, a {@link SchemaElementsStore} over it, and another connection that writes. */
async function setUp(name: string) {
  const file = join(backends.dir, `${name}.db`);
  const opened = await openSqlBackend(new URL(`sqlite:${file}`), { resources: [v10] });
  await opened.close();

  // The other writer: no busy timeout, so a write lock held by the call is seen at once.
  const other = new Database(file, { timeout: 0 });
  other.exec('CREATE TABLE intruder (n INTEGER NOT NULL)');
  const insert = other.prepare('INSERT INTO intruder (n) VALUES (?)');
  const intrusions: Intrusion[] = [];
  const intrude = () => {
    try {
      insert.run(intrusions.length);
      intrusions.push('committed');
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
      intrusions.push('refused');
    }
  };

  const raw = new Database(file, { timeout: 2_000 });
  const { handle, arm } = interceptedHandle(raw, intrude);
  const db: SqlDb = new Kysely({ dialect: new SqliteDialect({ database: handle }) });
  const store = new SchemaElementsStore({
    support: sqliteSupport,
    schema: undefined,
    prefix: '',
    db,
    openTimeoutMs: 10_000,
    connect: async () => ({ db, release: async () => {} }),
  });
  const columns = () =>
    (other.prepare(`SELECT name FROM pragma_table_info('gadgets')`).all() as { name: string }[])
      .map((r) => r.name)
      .sort();
  const close = async () => {
    await db.destroy();
    other.close();
  };
  cleanups.push(close);
  return { store, arm, intrusions, columns, insert };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanups.splice(0)) await close();
});

const added: SchemaElements = elementsBetween(v11, '1.0', '1.1').expand;
const layout = tableLayout(v11, '');

describe('sqlite expand and contract, while another connection writes', () => {
  it('expand takes the write lock before it reads: a write between its read and its DDL waits, and expand succeeds', async () => {
    expect(added.fields.map((x) => x.name)).toEqual(['note']);
    const { store, arm, intrusions, columns, insert } = await setUp('expand-busy');
    arm();
    await store.expand(layout, added);
    expect(intrusions).toEqual(['refused']);
    expect(columns()).toContain('note');
    expect((await store.applied(layout)).fields.map((x) => x.name)).toContain('note');
    // The lock is gone with the call: the other connection writes again.
    expect(insert.run(1).changes).toBe(1);
  });

  it('contract takes the write lock before it reads: a write between its read and its DDL waits, and contract succeeds', async () => {
    const { store, arm, intrusions, columns, insert } = await setUp('contract-busy');
    await store.expand(layout, added);
    expect(columns()).toContain('note');
    arm();
    await store.contract(layout, { fields: added.fields, indexes: [], uniques: [] });
    expect(intrusions).toEqual(['refused']);
    expect(columns()).not.toContain('note');
    expect((await store.applied(layout)).fields.map((x) => x.name)).not.toContain('note');
    expect(insert.run(1).changes).toBe(1);
  });
});
