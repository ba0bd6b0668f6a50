import {
  type AnyResource,
  createContext,
  InvalidInputError,
  UnavailableError,
  WriteBelowPinError,
} from '@polystore/core';
import {
  type DeleteChange,
  type EvolutionDriver,
  type ResourceDriver,
  type StoredRecord,
  supportsEvolution,
  type UpdateChange,
} from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import { admin, at, gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import { widgetL, widgetM } from '@polystore/testing/upgrade-fixtures';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { tableLayout } from '../src/layout.js';
import { openSqlBackend, openSqlStores } from '../src/sql-adapter.js';
import type { SqlBackend } from '../src/sql-backend.js';
import { SQL_CAPABILITIES } from '../src/sql-capabilities.js';
import { UNKNOWN_VERSION } from '../src/sql-write-floor.js';
import { DIALECTS, type Dialect, useBackends } from './support.js';

const backends = useBackends();
const everything = { projectId: null, includeShared: true, deleted: 'yes' } as const;
const later = '2026-02-02T00:00:00.000Z';
const ctx = createContext({ projectId: 'p1' });

type Driver = ResourceDriver & EvolutionDriver;

/** An unconditional update as core hands it to the driver. */
function change(set: Record<string, unknown>, objectVersion: string): UpdateChange {
  return { set, updatedAt: later, objectVersion, expectedRevision: undefined, expected: undefined };
}

/** An unconditional delete. */
function removal(soft: boolean): DeleteChange {
  return { soft, at: later, expectedRevision: undefined };
}

function evolving(driver: ResourceDriver): Driver {
  if (!supportsEvolution(driver)) throw new Error('the SQL driver must support evolution');
  return driver;
}

/** Expects `write` refused by a floor `pin` on gadgets, as a write at `version`. */
async function refused(write: Promise<unknown>, pin: string, version: string): Promise<void> {
  const err = await write.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WriteBelowPinError);
  expect(err).toMatchObject({ resource: 'gadget', pin, version, retriable: true });
}

it('declares atomic fencing', () => {
  expect(SQL_CAPABILITIES.fencing).toBe('atomic');
});

const closing: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(closing.splice(0).map((b) => b.close()));
});

/** A fresh namespace of `dialect`: backends opened on it, and a look at its triggers from outside. */
function namespace(dialect: Dialect, url = backends.url(dialect, freshNamespace('wf'))) {
  const open = async (resource: AnyResource = gadgetV11): Promise<SqlBackend> => {
    const backend = await openSqlBackend(new URL(url), { resources: [resource] });
    closing.push(backend);
    return backend;
  };
  const prefix = dialect === 'postgres' ? (new URL(url).searchParams.get('prefix') ?? '') : '';
  /** The gadget table's name. */
  const table = tableLayout(gadgetV10, prefix).table;
  /** The names of the triggers on the gadget table, read on a connection of its own. */
  const triggers = async (): Promise<string[]> => {
    if (dialect === 'sqlite') {
      const db = new Database(url.slice('sqlite:'.length), { readonly: true });
      try {
        const rows = db
          .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?`)
          .all(table) as { name: string }[];
        return rows.map((r) => r.name).sort();
      } finally {
        db.close();
      }
    }
    const client = new pg.Client({ connectionString: backends.postgresUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>(
        `SELECT t.tgname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relname = $1 AND NOT t.tgisinternal`,
        [table],
      );
      return rows.map((r) => r.name).sort();
    } finally {
      await client.end();
    }
  };
  return { url, table, open, triggers };
}

describe.each(DIALECTS)('%s write floor', (dialect) => {
  it('has no floor and no trigger until one is set', async () => {
    const ns = namespace(dialect);
    const backend = await ns.open();
    expect(await backend.writeFloor(gadgetV11)).toBeUndefined();
    expect(await ns.triggers()).toEqual([]);
    const driver = evolving(backend.driver(gadgetV11));
    await driver.insert(rec('a', { label: 'a', color: null }));
    expect(await driver.countByVersion()).toEqual({ '1.0': 1 });
  });

  it('refuses an insert below the floor with WriteBelowPinError and writes nothing', async () => {
    const backend = await namespace(dialect).open();
    const driver = evolving(backend.driver(gadgetV11));
    await backend.setWriteFloor(gadgetV11, '1.1');
    expect(await backend.writeFloor(gadgetV11)).toBe('1.1');
    const write = driver.insert(rec('a', { label: 'a', color: null }));
    await refused(write, '1.1', '1.0');
    await expect(write).rejects.toBeInstanceOf(UnavailableError);
    expect(await driver.get(everything, 'a')).toBeUndefined();
    expect(await driver.countByVersion()).toEqual({});
  });

  it('passes writes at or above the floor, comparing versions numerically', async () => {
    const backend = await namespace(dialect).open();
    const driver = evolving(backend.driver(gadgetV11));
    await backend.setWriteFloor(gadgetV11, '1.9');
    for (const [id, version] of [
      ['at', '1.9'],
      ['minor', '1.10'],
      ['major', '2.0'],
      ['big', '10.0'],
    ] as const) {
      await driver.insert(rec(id, { label: id, color: null }, { objectVersion: version }));
    }
    for (const version of ['1.8', '1.1', '1.0', '0.99', '0.10']) {
      // SQLite's trigger names only the versions of the resource's history (1.0 and 1.1).
      const named = dialect === 'postgres' || ['1.0', '1.1'].includes(version);
      await refused(
        driver.insert(
          rec(`v${version}`, { label: version, color: null }, { objectVersion: version }),
        ),
        '1.9',
        named ? version : UNKNOWN_VERSION,
      );
    }
    expect(await driver.countByVersion()).toEqual({ '1.9': 1, '1.10': 1, '2.0': 1, '10.0': 1 });
  });

  it('refuses an update that keeps a record below the floor, and leaves the record as it was', async () => {
    const backend = await namespace(dialect).open();
    const driver = evolving(backend.driver(gadgetV11));
    const old = await driver.insert(rec('a', { label: 'a', color: null }));
    await backend.setWriteFloor(gadgetV11, '1.1');
    await refused(driver.update(admin, 'a', change({ label: 'b' }, '1.0')), '1.1', '1.0');
    // A newer record moved back below the floor is refused too.
    await driver.insert(rec('n', { label: 'n', color: 'red' }, { objectVersion: '1.1' }));
    await refused(driver.update(admin, 'n', change({ label: 'm' }, '1.0')), '1.1', '1.0');
    expect(await driver.get(everything, 'a')).toEqual(old);
    expect((await driver.get(everything, 'n'))?.label).toBe('n');
  });

  it('passes an update that brings an old record to the floor, and rewrites to it', async () => {
    const backend = await namespace(dialect).open();
    const driver = evolving(backend.driver(gadgetV11));
    const a = await driver.insert(rec('a', { label: 'a', color: null }));
    const b = await driver.insert(rec('b', { label: 'b', color: null }));
    const c = await driver.insert(rec('c', { label: 'c', color: null }));
    await backend.setWriteFloor(gadgetV11, '1.1');
    const updated = await driver.update(admin, 'a', change({ color: 'red' }, '1.1'));
    expect(updated).toMatchObject({ status: 'ok', record: { objectVersion: '1.1', revision: 2 } });
    const to11 = (r: StoredRecord): StoredRecord => ({ ...r, color: 'blue', objectVersion: '1.1' });
    expect(await driver.rewrite(to11(b), b.revision)).toMatchObject({ status: 'ok' });
    expect(await driver.rewriteMany?.([{ record: to11(c), expectedRevision: c.revision }])).toEqual(
      ['c'],
    );
    // A rewrite below the floor (never the runner's) is refused like every write.
    await refused(driver.rewrite({ ...a, revision: 2 }, 2), '1.1', '1.0');
    expect(await driver.countByVersion()).toEqual({ '1.1': 3 });
  });

  it('passes soft and hard deletes and purges of records below the floor', async () => {
    const backend = await namespace(dialect).open();
    const driver = evolving(backend.driver(gadgetV11));
    await driver.insert(rec('a', { label: 'a', color: null }));
    await driver.insert(rec('b', { label: 'b', color: null }));
    await backend.setWriteFloor(gadgetV11, '1.1');
    const soft = await driver.delete(admin, 'a', removal(true));
    expect(soft).toMatchObject({
      status: 'ok',
      record: { deletedAt: later, objectVersion: '1.0' },
    });
    expect(await driver.delete(admin, 'b', removal(false))).toMatchObject({
      status: 'ok',
    });
    expect(await driver.purge('2027-01-01T00:00:00.000Z')).toBe(1);
    expect(await driver.countByVersion()).toEqual({});
  });

  it('is idempotent and never lowered; a higher floor raises it', async () => {
    const ns = namespace(dialect);
    const backend = await ns.open();
    const driver = evolving(backend.driver(gadgetV11));
    await backend.setWriteFloor(gadgetV11, '1.1');
    const installed = await ns.triggers();
    expect(installed).toHaveLength(2);
    await backend.setWriteFloor(gadgetV11, '1.1');
    await backend.setWriteFloor(gadgetV11, '1.0');
    expect(await backend.writeFloor(gadgetV11)).toBe('1.1');
    expect(await ns.triggers()).toEqual(installed);
    await refused(driver.insert(rec('a', { label: 'a', color: null })), '1.1', '1.0');
    await backend.setWriteFloor(gadgetV11, '1.10');
    await backend.setWriteFloor(gadgetV11, '1.9');
    expect(await backend.writeFloor(gadgetV11)).toBe('1.10');
    await refused(
      driver.insert(rec('b', { label: 'b', color: null }, { objectVersion: '1.9' })),
      '1.10',
      dialect === 'postgres' ? '1.9' : UNKNOWN_VERSION,
    );
    await refused(driver.insert(rec('c', { label: 'c', color: null })), '1.10', '1.0');
  });

  it('refuses a floor that is not an object version', async () => {
    const backend = await namespace(dialect).open();
    for (const floor of ['1', '1.1.1', "1.1'; DROP TABLE gadgets; --", '']) {
      await expect(backend.setWriteFloor(gadgetV11, floor)).rejects.toBeInstanceOf(
        InvalidInputError,
      );
    }
    expect(await backend.writeFloor(gadgetV11)).toBeUndefined();
  });

  it('fences another backend of the same store at once, without reopening, and it reads the floor', async () => {
    const ns = namespace(dialect);
    const setter = await ns.open();
    const other = await ns.open(gadgetV10);
    const driver = evolving(other.driver(gadgetV10));
    // Written before the floor: the other backend's statements are prepared and its pool warm.
    await driver.insert(rec('a', { label: 'a' }));
    await driver.update(admin, 'a', change({ label: 'a2' }, '1.0'));
    await setter.setWriteFloor(gadgetV11, '1.1');
    expect(await other.writeFloor(gadgetV10)).toBe('1.1');
    await refused(driver.insert(rec('b', { label: 'b' })), '1.1', '1.0');
    await refused(driver.update(admin, 'a', change({ label: 'a3' }, '1.0')), '1.1', '1.0');
    // The other backend raising it further is seen by the first.
    await other.setWriteFloor(gadgetV10, '2.0');
    expect(await setter.writeFloor(gadgetV11)).toBe('2.0');
  });

  it('settles concurrent setters on the highest floor', async () => {
    const ns = namespace(dialect);
    const a = await ns.open();
    const b = await ns.open();
    await Promise.all([
      a.setWriteFloor(gadgetV11, '1.1'),
      b.setWriteFloor(gadgetV11, '3.0'),
      a.setWriteFloor(gadgetV11, '2.5'),
      b.setWriteFloor(gadgetV11, '1.0'),
    ]);
    expect(await a.writeFloor(gadgetV11)).toBe('3.0');
    expect(await ns.triggers()).toHaveLength(2);
  });

  it('keeps to its namespace: another prefix or file of the same server is not fenced', async () => {
    const fenced = await namespace(dialect).open();
    const free = await namespace(dialect).open();
    await fenced.setWriteFloor(gadgetV11, '1.1');
    expect(await free.writeFloor(gadgetV11)).toBeUndefined();
    await evolving(free.driver(gadgetV11)).insert(rec('a', { label: 'a', color: null }));
  });

  it('through the Stores API: release L gets WriteBelowPinError on create and update, deletes pass', async () => {
    const ns = namespace(dialect);
    const l = await openSqlStores(ns.url, { resources: [widgetL] });
    closing.push(l);
    const kept = await l.store(widgetL).create(ctx, { serial: 's1', name: 'kept' });
    const gone = await l.store(widgetL).create(ctx, { serial: 's2', name: 'gone' });
    const m = await openSqlBackend(new URL(ns.url), { resources: [widgetM] });
    closing.push(m);
    await m.setWriteFloor(widgetM, '1.1');
    const create = l.store(widgetL).create(ctx, { serial: 's3', name: 'late' });
    await expect(create).rejects.toBeInstanceOf(WriteBelowPinError);
    await expect(create).rejects.toMatchObject({ resource: 'widget', pin: '1.1', version: '1.0' });
    await expect(l.store(widgetL).update(ctx, kept.id, { name: 'renamed' })).rejects.toBeInstanceOf(
      WriteBelowPinError,
    );
    await l.store(widgetL).delete(ctx, gone.id);
    const left = await l.store(widgetL).list(ctx, {});
    expect(left.items.map((r) => [r.name, r.revision])).toEqual([['kept', 1]]);
  });
});

describe('postgres write floor', () => {
  it('waits for a write transaction in flight, which commits below the old floor; the next write is refused', async () => {
    const ns = namespace('postgres');
    const backend = await ns.open();
    const { table } = ns;
    const client = new pg.Client({ connectionString: backends.postgresUrl });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO "${table}" (id, project_id, revision, created_at, updated_at, object_version, label)
           VALUES ('00000000-0000-7000-8000-000000000001', 'p1', 1, $1, $1, '1.0', 'a')`,
        [at],
      );
      let set = false;
      const setting = backend.setWriteFloor(gadgetV11, '1.1').then(() => {
        set = true;
      });
      // The setter queues behind the open transaction's lock until it commits.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const { rows } = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
             WHERE c.relname = $1 AND NOT l.granted`,
          [table],
        );
        if (rows[0]!.n > 0) break;
        if (Date.now() > deadline) throw new Error('setWriteFloor never waited for the lock');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(set).toBe(false);
      await client.query('COMMIT');
      await setting;
      const driver = evolving(backend.driver(gadgetV11));
      expect(await driver.countByVersion()).toEqual({ '1.0': 1 });
      await refused(driver.insert(rec('b', { label: 'b', color: null })), '1.1', '1.0');
    } finally {
      await client.end();
    }
  });

  it('works in a schema of its own (?schema=)', async () => {
    const url = new URL(backends.url('postgres', freshNamespace('wf')));
    url.searchParams.set('schema', freshNamespace('floor'));
    const ns = namespace('postgres', url.toString());
    const backend = await ns.open();
    await backend.setWriteFloor(gadgetV11, '1.1');
    expect(await backend.writeFloor(gadgetV11)).toBe('1.1');
    await refused(
      evolving(backend.driver(gadgetV11)).insert(rec('a', { label: 'a', color: null })),
      '1.1',
      '1.0',
    );
  });
});
