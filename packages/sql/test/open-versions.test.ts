import {
  type AnyResource,
  createContext,
  defineResource,
  f,
  openStores,
  SchemaBehindError,
  type Stores,
} from '@polystore/core';
import { elementsBetween, openBackend } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import { gadgetV10, gadgetV11 } from '@polystore/testing/evolution-fixtures';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { sqlAdapter } from '../src/index.js';
import type { SqlBackend } from '../src/sql-backend.js';
import { DIALECTS, type Dialect, useBackends } from './support.js';

const backends = useBackends();
const ctx = createContext({ projectId: 'p1' });

/** A second resource, opened with gadgets or without them. */
const widget = defineResource({
  name: 'widget',
  plural: 'widgets',
  scope: 'project',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: { size: f.int().sortable() },
});

/** A third one, which a later release adds to the store. */
const gizmo = defineResource({
  name: 'gizmo',
  plural: 'gizmos',
  scope: 'project',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: { name: f.string().indexed() },
  unique: [['name']],
});

/** Runs one query on a connection of its own: what a DBA would see. */
async function query(
  dialect: Dialect,
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<Record<string, unknown>[]> {
  if (dialect === 'sqlite') {
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      return db.prepare(text).all(...params) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: backends.postgresUrl });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** One fresh namespace of a dialect. */
function space(dialect: Dialect) {
  const ns = freshNamespace('ov');
  const url = backends.url(dialect, ns);
  const prefix = dialect === 'postgres' ? `${ns}_` : '';
  const opened: Stores[] = [];
  return {
    url,
    prefix,
    /** Opens the store with the given definitions, the way a service does. */
    async open(...resources: AnyResource[]): Promise<Stores> {
      const stores = await openStores(url, {
        resources,
        adapters: [sqlAdapter],
      });
      opened.push(stores);
      return stores;
    },
    /**
     * Everything physical about the namespace: every table, column, index (with its
     * definition), every recorded element, and what marks a change of the catalog (SQLite:
     * `schema_version`; PostgreSQL: the `xmin` of each relation's catalog row).
     */
    async physical(): Promise<unknown> {
      if (dialect === 'sqlite') {
        return {
          master: await query(
            dialect,
            url,
            'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name',
          ),
          version: await query(dialect, url, 'PRAGMA schema_version'),
          elements: await query(
            dialect,
            url,
            'SELECT * FROM polystore_elements ORDER BY table_name, kind, element_key',
          ),
        };
      }
      return {
        relations: await query(
          dialect,
          url,
          `SELECT c.relname, c.relkind, c.xmin::text AS xmin FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND starts_with(c.relname, $1) ORDER BY c.relname`,
          [prefix],
        ),
        columns: await query(
          dialect,
          url,
          `SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns
           WHERE table_schema = 'public' AND starts_with(table_name, $1) ORDER BY table_name, column_name`,
          [prefix],
        ),
        indexes: await query(
          dialect,
          url,
          `SELECT indexname, indexdef FROM pg_indexes
           WHERE schemaname = 'public' AND starts_with(indexname, $1) ORDER BY indexname`,
          [prefix],
        ),
        elements: await query(
          dialect,
          url,
          `SELECT * FROM "${prefix}polystore_elements" ORDER BY table_name, kind, element_key`,
        ),
      };
    },
    /** The namespace's table names. */
    async tables(): Promise<string[]> {
      const rows =
        dialect === 'sqlite'
          ? await query(dialect, url, "SELECT name FROM sqlite_master WHERE type = 'table'")
          : await query(
              dialect,
              url,
              `SELECT table_name AS name FROM information_schema.tables
               WHERE table_schema = 'public' AND starts_with(table_name, $1)`,
              [prefix],
            );
      return rows.map((r) => String(r.name).slice(prefix.length)).sort();
    },
    async closeAll() {
      await Promise.all(opened.map((s) => s.close()));
    },
  };
}

describe.each(DIALECTS)('opening a %s store that other versions of the code opened', (dialect) => {
  let current: ReturnType<typeof space> | undefined;
  const fresh = () => {
    current = space(dialect);
    return current;
  };
  afterEach(async () => {
    await current?.closeAll();
    current = undefined;
  });

  it('serves older code on a store newer code expanded: reads, writes, lists', async () => {
    const s = fresh();
    const v10 = await s.open(gadgetV10);
    const first = await v10.store(gadgetV10).create(ctx, { label: 'one' });
    await v10.close();
    // What `polystore schema expand` does: open without the check, expand to 1.1.
    const tool = await openBackend(s.url, {
      resources: [gadgetV11],
      checkSchema: false,
      adapters: [sqlAdapter],
    });
    await (tool.backend as SqlBackend).expand(
      gadgetV11,
      elementsBetween(gadgetV11, '1.0', '1.1').expand,
    );
    await tool.stores.close();
    const v11 = await s.open(gadgetV11);
    const second = await v11.store(gadgetV11).create(ctx, { label: 'two', color: 'red' });
    const expanded = await s.physical();

    const old = (await s.open(gadgetV10)).store(gadgetV10);
    expect(await old.get(ctx, first.id)).toEqual(first);
    expect(await old.get(ctx, second.id)).toMatchObject({ label: 'two', objectVersion: '1.1' });
    const third = await old.create(ctx, { label: 'three' });
    const renamed = await old.update(ctx, first.id, { label: 'uno' });
    expect(renamed).toMatchObject({ label: 'uno', revision: 2 });
    const listed = await old.list(ctx, {});
    expect(listed.items.map((g) => g.label).sort()).toEqual(['three', 'two', 'uno']);
    expect((await old.list(ctx, { where: { label: 'three' } })).items).toEqual([third]);
    expect(await old.count(ctx)).toBe(3);
    // The unique 1.1 added holds for the old code's writes too.
    await expect(old.create(ctx, { label: 'two' })).rejects.toMatchObject({ code: 'DUPLICATE' });
    // And the newer code still sees the old code's writes with its own fields.
    expect(await v11.store(gadgetV11).get(ctx, third.id)).toMatchObject({
      label: 'three',
      color: null,
    });
    // The old code's open changed nothing of what the expand made.
    expect(await s.physical()).toEqual(expanded);
  });

  it('refuses newer code on a store nobody expanded, naming what it lacks, and changes nothing', async () => {
    const s = fresh();
    const v10 = await s.open(gadgetV10);
    await v10.store(gadgetV10).create(ctx, { label: 'same' });
    await v10.close();
    const before = await s.physical();
    const err = await s.open(gadgetV11).catch((e) => e);
    expect(err).toBeInstanceOf(SchemaBehindError);
    expect(err).toMatchObject({
      resource: 'gadget',
      missing: ['field color', 'index color (eq)', 'unique (label)'],
    });
    expect(err.message).toContain('polystore schema expand');
    expect(await s.physical()).toEqual(before);
    // Still refused on the next try, and the older code still opens it.
    await expect(s.open(gadgetV11)).rejects.toBeInstanceOf(SchemaBehindError);
    const again = await s.open(gadgetV10);
    expect(await again.store(gadgetV10).count(ctx)).toBe(1);
    expect(await s.physical()).toEqual(before);
  });

  it('reopens a namespace with fewer resources, then with more', async () => {
    const s = fresh();
    const both = await s.open(gadgetV10, widget);
    const g = await both.store(gadgetV10).create(ctx, { label: 'g' });
    const w = await both.store(widget).create(ctx, { size: 3 });
    await both.close();
    const before = await s.physical();
    const fewer = await s.open(widget);
    expect(await fewer.store(widget).get(ctx, w.id)).toEqual(w);
    await fewer.store(widget).create(ctx, { size: 4 });
    await fewer.close();
    expect(await s.tables()).toEqual(['gadgets', 'polystore_elements', 'widgets']);
    const more = await s.open(gadgetV10, widget, gizmo);
    expect(await more.store(gadgetV10).get(ctx, g.id)).toEqual(g);
    expect(await more.store(widget).count(ctx)).toBe(2);
    await more.store(gizmo).create(ctx, { name: 'z' });
    await expect(more.store(gizmo).create(ctx, { name: 'z' })).rejects.toMatchObject({
      code: 'DUPLICATE',
    });
    expect(await s.tables()).toEqual(['gadgets', 'gizmos', 'polystore_elements', 'widgets']);
    await more.close();
    // The tables that were there are as they were: only the new one was created.
    const after = (await s.physical()) as Record<string, Record<string, unknown>[]>;
    const without = (rows: Record<string, unknown>[]) =>
      rows.filter((r) => !Object.values(r).some((v) => String(v).includes('gizmo')));
    const was = before as Record<string, Record<string, unknown>[]>;
    for (const key of Object.keys(was)) {
      if (key === 'version') continue; // SQLite's schema_version moved: the gizmos table
      expect(without(after[key]!), key).toEqual(was[key]);
    }
    await s.open(gadgetV10);
  });

  it('runs no DDL and writes nothing when it opens an existing store', async () => {
    const s = fresh();
    const created = await s.open(gadgetV10, widget);
    await created.store(gadgetV10).create(ctx, { label: 'x' });
    await created.close();
    const before = await s.physical();
    for (let n = 0; n < 3; n++) await (await s.open(gadgetV10, widget)).close();
    await (await s.open(widget)).close();
    await s.open(gadgetV11).catch(() => {});
    expect(await s.physical()).toEqual(before);
    // No migration ledger, ever.
    expect(await s.tables()).toEqual(['gadgets', 'polystore_elements', 'widgets']);
  });
});

describe('opening one brand-new PostgreSQL schema from several clients at once', () => {
  it('creates the schema and each namespace once, whoever wins each race', async () => {
    const schema = freshNamespace('race');
    const prefixes = ['a', 'b', 'a', 'c', 'b', 'a'];
    const all = await Promise.all(
      prefixes.map((p) =>
        openStores(`${backends.postgresUrl}?schema=${schema}&prefix=${p}_`, {
          resources: [gadgetV11, widget],
          adapters: [sqlAdapter],
        }),
      ),
    );
    try {
      for (const [n, stores] of all.entries()) {
        await stores.store(gadgetV11).create(ctx, { label: `g${n}`, color: null });
      }
      expect(await all[1]!.store(gadgetV11).count(ctx)).toBe(2); // b: clients 1 and 4
      const rows = await query(
        'postgres',
        backends.postgresUrl,
        `SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`,
        [schema],
      );
      expect(rows.map((r) => r.name)).toEqual(
        ['a', 'b', 'c'].flatMap((p) =>
          ['gadgets', 'polystore_elements', 'widgets'].map((t) => `${p}_${t}`),
        ),
      );
      const elements = await query(
        'postgres',
        backends.postgresUrl,
        `SELECT count(*)::int AS n FROM "${schema}".a_polystore_elements WHERE kind = 'table'`,
      );
      expect(elements).toEqual([{ n: 2 }]);
    } finally {
      await Promise.all(all.map((s) => s.close()));
    }
  });
});
