import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import {
  adminContext,
  ConfigError,
  createContext,
  DEFAULT_STORE_URL,
  DuplicateError,
  defineResource,
  f,
  instanceResource,
  openStores,
  SchemaBehindError,
  UnavailableError,
} from '@polystore/core';
import { elementsBetween, keptTimerLists, openBackend } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { sqlAdapter as adapter, openSqlStores } from '../src/index.js';
import { tableLayout } from '../src/layout.js';
import type { SqlBackend } from '../src/sql-backend.js';
import { SQL_CAPABILITIES } from '../src/sql-capabilities.js';
import { resolveSqlOptions, SQL_DEFAULTS } from '../src/sql-options.js';
import { DIALECTS, type Dialect, useBackends } from './support.js';

const backends = useBackends();
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const ctx = createContext({ projectId: 'p1' });

const gadgetFields = {
  label: f.string({ max: 40 }).sortable(),
  count: f.int({ min: -5_000_000_000_000, max: 5_000_000_000_000 }).sortable(),
  enabled: f.bool().indexed().default(false),
  kind: f.enum(['a', 'b', 'c']).indexed(),
  seenAt: f.datetime().sortable(),
  owner: f.uuid().nullable().indexed(),
  address: f.ip().indexed(),
  range: f.cidr(),
  tags: f.list(f.string()).default([]),
  labels: f.dict(f.int()).default({}),
  spec: f.object({
    depth: f.int(),
    note: f.string().nullable(),
    inner: f.object({ on: f.bool() }),
  }),
};

/** A user-declared resource with every field kind. */
const gadget = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
  version: '1.0',
  history: { '1.0': 'initial version' },
  fields: gadgetFields,
  unique: [['kind', 'owner']],
});

/** The same resource one version later: an added field and an added indexed field. */
const gadgetV11 = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
  version: '1.1',
  history: { '1.0': 'initial version', '1.1': 'added color and size' },
  fields: {
    ...gadgetFields,
    color: f.string().default('red').addedIn('1.1'),
    size: f.int().nullable().indexed().addedIn('1.1'),
  },
  unique: [['kind', 'owner']],
});

const gadgetInput = (i: number) => ({
  label: `g${i}`,
  count: (i - 2) * 1_000_000_000_000,
  enabled: i % 2 === 0,
  kind: (['a', 'b', 'c'] as const)[i % 3]!,
  seenAt: new Date(Date.UTC(2026, 0, 1) + (5 - i) * 1000).toISOString(),
  owner: i === 0 ? null : `01890000-0000-7000-8000-00000000000${i}`,
  address: i % 2 ? `10.0.0.${i}` : `2001:db8::${i}`,
  range: i % 2 ? '10.0.0.0/8' : '2001:db8::/32',
  tags: ['x', `"${i}'`, '😀'],
  labels: { z: i, a: -i, 'key with "quotes"': Number.MAX_SAFE_INTEGER },
  spec: { depth: i, note: i ? `n${i}` : null, inner: { on: i > 2 } },
});

/** The tables of a store whose names start with `prefix` (SQLite: its file; PostgreSQL: schema public). */
async function tablesOf(dialect: Dialect, url: string, prefix: string): Promise<string[]> {
  if (dialect === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(url.slice('sqlite:'.length), { readonly: true });
    try {
      const rows = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .all() as { name: string }[];
      return rows.map((r) => r.name).filter((n) => n.startsWith(prefix));
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: backends.postgresUrl });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = 'public' AND starts_with(table_name, $1) ORDER BY table_name`,
      [prefix],
    );
    return rows.map((r) => r.table_name as string);
  } finally {
    await client.end();
  }
}

describe('layout', () => {
  it('derives table, columns and indexes from the schema', () => {
    const layout = tableLayout(instanceResource, 'ps_');
    expect(layout.table).toBe('ps_instances');
    expect(layout.columns.map((c) => c.column)).toEqual([
      'id',
      'project_id',
      'revision',
      'created_at',
      'updated_at',
      'deleted_at',
      'object_version',
      'display_name',
      'hostname',
      'host',
      'vm_state',
      'task_state',
      'flavor',
      'metadata',
    ]);
    const idx = Object.fromEntries(layout.indexes.map((i) => [i.name, i.columns.join(',')]));
    expect(idx).toMatchObject({
      ps_instances__display_name__id: 'display_name,id',
      ps_instances__host: 'host',
      ps_instances__object_version: 'object_version',
      ps_instances__project_id: 'project_id',
    });
    const network = tableLayout(gadgetV11, '');
    expect(network.indexes.find((i) => i.unique)).toMatchObject({
      columns: ['kind', 'owner'],
      fields: ['kind', 'owner'],
    });
    expect(network.column('size')).toMatchObject({ column: 'size', kind: 'int', system: false });
    expect(
      tableLayout(instanceResource, 'x'.repeat(40)).indexes.every((i) => i.name.length <= 63),
    ).toBe(true);
  });

  it('declares its capabilities and schemes', () => {
    expect(SQL_CAPABILITIES).toEqual({
      maxRecordBytes: 1_048_576,
      reads: 'linearizable',
      serverSideQueries: true,
      fencing: 'atomic',
      features: {},
    });
    expect(Object.isFrozen(SQL_CAPABILITIES)).toBe(true);
    expect(adapter.schemes).toEqual(['sqlite', 'postgres', 'postgresql']);
  });
});

describe('sqlite URLs', () => {
  it('opens sqlite::memory:, absolute, relative and nested paths', async () => {
    const urls = [
      'sqlite::memory:',
      `sqlite:${join(backends.dir, 'abs.db')}`,
      `sqlite:${relative(process.cwd(), join(backends.dir, 'rel.db'))}`,
      `sqlite:${join(backends.dir, 'a', 'b', 'nested.db')}`,
      `sqlite://${join(backends.dir, 'slashes.db')}`,
    ];
    for (const url of urls) {
      const stores = await openSqlStores(url);
      try {
        const vm = await stores.instances.create(ctx, { flavor: FLAVOR });
        expect(await stores.instances.get(ctx, vm.id)).toEqual(vm);
        expect(stores.backend).toBe('sqlite');
      } finally {
        await stores.close();
      }
    }
    expect(existsSync(join(backends.dir, 'a', 'b', 'nested.db'))).toBe(true);
  });

  it('is the default of openStores, creating the parent directory', async () => {
    const cwd = process.cwd();
    process.chdir(backends.dir);
    try {
      const stores = await openStores(DEFAULT_STORE_URL);
      await stores.instances.create(ctx, { flavor: FLAVOR });
      await stores.close();
      expect(existsSync(join(backends.dir, '.data', 'polystore.db'))).toBe(true);
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses bad URLs and options with ConfigError', async () => {
    for (const [url, adapterOptions] of [
      ['sqlite:', {}],
      ['sqlite://host/file.db', {}],
      [`sqlite:${join(backends.dir, 'o.db')}`, { poolsize: 3 }],
      [`sqlite:${join(backends.dir, 'o.db')}?prefix=Bad-Prefix`, {}],
      [`sqlite:${join(backends.dir, 'o.db')}?prefix=a_`, { prefix: 'b_' }],
      [`sqlite:${join(backends.dir, 'o.db')}`, { statementTimeoutMs: -1 }],
      [`sqlite:${join(backends.dir, 'o.db')}?busyTimeoutMs=1000`, { busyTimeoutMs: 2000 }],
      [`sqlite:${join(backends.dir, 'o.db')}?busyTimeoutMs=1s`, {}],
    ] as const) {
      const err = await openSqlStores(url, { adapter: adapterOptions as never }).catch((e) => e);
      expect(err, url).toBeInstanceOf(ConfigError);
    }
  });
});

describe('options', () => {
  it('are read from the options and from URL parameters of the same names, which must agree', () => {
    const url = new URL('postgres://u@h/db?prefix=a_&poolSize=20&maxRetries=0&sslmode=disable');
    expect(resolveSqlOptions(url, { failFastMs: 3_000, poolSize: 20 })).toEqual({
      ...SQL_DEFAULTS,
      prefix: 'a_',
      poolSize: 20,
      maxRetries: 0,
      failFastMs: 3_000,
    });
    expect(resolveSqlOptions(new URL('sqlite::memory:'))).toEqual(SQL_DEFAULTS);
    expect(Object.isFrozen(SQL_DEFAULTS)).toBe(true);
    expect(() => resolveSqlOptions(url, { poolSize: 21 })).toThrow(ConfigError);
    expect(() => resolveSqlOptions(url, { pool: 3 } as never)).toThrow(/unknown option pool/);
    expect(() => resolveSqlOptions(new URL('sqlite:x.db?maxRetries=-1'))).toThrow(ConfigError);
  });
});

describe('postgres per-call timers', () => {
  it("keep the timer lists of the per-query fail-fast bound and pg-pool's idle timer while open, and let them go at close", async () => {
    const stores = await openStores(`${backends.url('postgres')}&failFastMs=3377`);
    try {
      await stores.instances.create(ctx, { displayName: 'a', hostname: 'a', flavor: FLAVOR });
      expect(keptTimerLists()).toEqual(expect.arrayContaining([3377, 10_000]));
    } finally {
      await stores.close();
    }
    expect(keptTimerLists()).not.toContain(3377);
  });
});

describe('sqlite paths that cannot hold a database', () => {
  it('are refused with ConfigError at once, without spinning or creating anything', async () => {
    const file = join(backends.dir, 'plain-file');
    writeFileSync(file, 'not a directory');
    const notADatabase = join(backends.dir, 'not-a-database.db');
    writeFileSync(notADatabase, 'x'.repeat(4096));
    const directory = join(backends.dir, 'a-directory.db');
    mkdirSync(directory);
    const urls = [
      'sqlite:/proc/polystore/x.db', // Node 20's recursive mkdir spins forever here
      'sqlite:/proc/polystore/deeper/x.db',
      'sqlite:/proc/x.db',
      'sqlite:/sys/polystore/x.db',
      'sqlite:/dev/null/x.db',
      `sqlite:${file}/x.db`,
      `sqlite:${file}/deeper/x.db`,
      `sqlite:${directory}`,
      `sqlite:${notADatabase}`,
    ];
    // In a child process: a regression that spins would block this thread past any timeout.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        join(import.meta.dirname, 'fixtures', 'open-errors.ts'),
        ...urls,
      ],
      { cwd: import.meta.dirname, timeout: 30_000, killSignal: 'SIGKILL' },
    );
    const results = JSON.parse(stdout) as {
      url: string;
      name: string;
      retriable: boolean | null;
    }[];
    for (const r of results) {
      expect({ url: r.url, name: r.name, retriable: r.retriable }).toEqual({
        url: r.url,
        name: 'ConfigError',
        retriable: false,
      });
    }
    expect(results.map((r) => r.url)).toEqual(urls);
    expect(existsSync('/proc/polystore')).toBe(false);
  }, 60_000);
});

describe('postgres connection settings the server refuses', () => {
  it('refuses an unknown role or database and a system schema with ConfigError', async () => {
    const url = new URL(backends.postgresUrl);
    const unknownRole = new URL(url);
    unknownRole.username = 'no_such_role';
    const unknownDb = new URL(url);
    unknownDb.pathname = '/no_such_database';
    const urls = [
      unknownRole.href,
      unknownDb.href,
      `${url.href}?schema=information_schema`,
      `${url.href}?schema=pg_catalog`,
      `${url.href}?schema=pg_toast`,
      `${url.href}?schema=pg_anything`,
    ];
    for (const u of urls) {
      const err = await openSqlStores(u).catch((e) => e);
      expect(err, u).toBeInstanceOf(ConfigError);
      expect(err.retriable, u).toBe(false);
    }
    // Nothing listening stays a retriable condition.
    const down = await openSqlStores('postgres://postgres@127.0.0.1:1/none', {
      adapter: { connectTimeoutMs: 1000 },
    }).catch((e) => e);
    expect(down).toBeInstanceOf(UnavailableError);
  });
});

/** Runs one statement on the store's database with a connection of its own (a DBA's hand). */
async function sideStatement(dialect: (typeof DIALECTS)[number], url: string, statement: string) {
  if (dialect === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(new URL(url).pathname);
    try {
      db.exec(statement);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: backends.postgresUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

for (const dialect of DIALECTS) {
  describe(`tables that do not match the schema on ${dialect}`, () => {
    it('are a ConfigError, not a retriable UnavailableError', async () => {
      const ns = freshNamespace('mismatch');
      const url = backends.url(dialect, ns);
      // Each SQLite store has a file of its own, without a table prefix.
      const table = dialect === 'sqlite' ? 'instances' : `${ns}_instances`;
      const stores = await openSqlStores(url);
      try {
        const vm = await stores.instances.create(ctx, { flavor: FLAVOR });
        await sideStatement(dialect, url, `ALTER TABLE ${table} RENAME COLUMN host TO moved`);
        const update = await stores.instances.update(ctx, vm.id, { host: 'h' }).catch((e) => e);
        expect(update).toBeInstanceOf(ConfigError);
        expect(update.retriable).toBe(false);
        await sideStatement(dialect, url, `ALTER TABLE ${table} RENAME TO ${ns}_elsewhere`);
        const get = await stores.instances.get(ctx, vm.id).catch((e) => e);
        expect(get).toBeInstanceOf(ConfigError);
        expect(String(get.message)).toMatch(/schema/);
      } finally {
        await stores.close();
      }
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`opening on ${dialect}`, () => {
    it('opens through the core registry', async () => {
      const stores = await openStores(backends.url(dialect));
      try {
        expect(stores.backend).toBe(dialect);
        expect(stores.capabilities).toBe(SQL_CAPABILITIES);
        await stores.instances.create(ctx, { flavor: FLAVOR });
      } finally {
        await stores.close();
      }
    });

    it('creates the tables once when several processes open at the same time, and reopens idempotently', async () => {
      const url = backends.url(dialect);
      const all = await Promise.all([0, 1, 2, 3].map(() => openSqlStores(url)));
      const vm = await all[0]!.instances.create(ctx, { flavor: FLAVOR });
      for (const s of all) expect(await s.instances.get(ctx, vm.id)).toEqual(vm);
      await Promise.all(all.map((s) => s.close()));
      const again = await openSqlStores(url);
      expect(await again.instances.get(ctx, vm.id)).toEqual(vm);
      await again.close();
      await again.close();
    });

    it('keeps namespaces apart by table prefix', async () => {
      const ns = freshNamespace('ns');
      const base =
        dialect === 'sqlite' ? `sqlite:${join(backends.dir, `${ns}.db`)}` : backends.postgresUrl;
      const a = await openSqlStores(`${base}?prefix=a_`);
      const b = await openSqlStores(base, { adapter: { prefix: 'b_' } });
      try {
        await a.instances.create(ctx, { flavor: FLAVOR });
        expect(await a.instances.count(ctx)).toBe(1);
        expect(await b.instances.count(ctx)).toBe(0);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('stores any declared resource, with every field kind', async () => {
      const stores = await openSqlStores(backends.url(dialect), { resources: [gadget] });
      try {
        const store = stores.store(gadget);
        const made = [];
        for (let i = 0; i < 5; i++) made.push(await store.create(ctx, gadgetInput(i)));
        for (const g of made) expect(await store.get(ctx, g.id)).toEqual(g);
        expect(made[0]!.spec).toEqual({ depth: 0, note: null, inner: { on: false } });
        expect(typeof made[4]!.labels['key with "quotes"']).toBe('number');
        const byCount = await store.list(ctx, { orderBy: { field: 'count', direction: 'desc' } });
        expect(byCount.items.map((g) => g.count)).toEqual([2e12, 1e12, 0, -1e12, -2e12]);
        const bySeen = await store.list(ctx, { orderBy: { field: 'seenAt' } });
        expect(bySeen.items.map((g) => g.label)).toEqual(['g4', 'g3', 'g2', 'g1', 'g0']);
        expect(
          (await store.list(ctx, { where: { enabled: true } })).items.map((g) => g.label),
        ).toEqual(['g0', 'g2', 'g4']);
        expect(await store.count(ctx, { enabled: false })).toBe(2);
        expect(await store.count(ctx, { address: '2001:db8:0::4' })).toBe(1);
        expect(await store.count(ctx, { address: '2001:db8::4' })).toBe(1);
        expect(await store.count(ctx, { owner: null })).toBe(1);
        expect(await store.count(ctx, { count: { gte: -1e12, lt: 2e12 } })).toBe(3);
        const updated = await store.update(
          ctx,
          made[1]!.id,
          { enabled: true, tags: [], spec: { depth: 9, note: '', inner: { on: true } } },
          { expected: { enabled: [false] } },
        );
        expect(updated).toMatchObject({ enabled: true, tags: [], revision: 2 });
        expect(await store.get(ctx, made[1]!.id)).toEqual(updated);
        const dup = await store.create(ctx, { ...gadgetInput(4), label: 'dup' }).catch((e) => e);
        expect(dup).toBeInstanceOf(DuplicateError);
        expect(dup.fields).toEqual(['kind', 'owner']);
        await store.create(ctx, { ...gadgetInput(0), label: 'null owner never conflicts' });
      } finally {
        await stores.close();
      }
    });

    it('creates tables only for the resources opened', async () => {
      const ns = freshNamespace('only');
      const url = backends.url(dialect, ns);
      const stores = await openSqlStores(url, { resources: [gadget] });
      try {
        const made = await stores.store(gadget).create(ctx, gadgetInput(1));
        expect(await stores.store(gadget).get(ctx, made.id)).toEqual(made);
        expect(() => stores.instances).toThrow(ConfigError);
        expect(() => stores.fixedIps).toThrow(ConfigError);
        const prefix = dialect === 'sqlite' ? '' : `${ns}_`;
        expect(await tablesOf(dialect, url, prefix)).toEqual(
          [
            'gadgets',
            'polystore_elements', // the applied elements of the brand-new store
          ].map((t) => prefix + t),
        );
      } finally {
        await stores.close();
      }
    });

    it('refuses newer code on a store nobody expanded, and serves it once expanded', async () => {
      const url = backends.url(dialect);
      const v10 = await openStores(url, { resources: [gadget] });
      const old = await v10.store(gadget).create(ctx, gadgetInput(1));
      await v10.close();
      const behind = await openStores(url, { resources: [gadgetV11] }).catch((e) => e);
      expect(behind).toBeInstanceOf(SchemaBehindError);
      expect(behind.missing).toEqual(['field color', 'field size', 'index size (eq)']);
      const tool = await openBackend(url, { resources: [gadgetV11], checkSchema: false });
      await (tool.backend as SqlBackend).expand(
        gadgetV11,
        elementsBetween(gadgetV11, '1.0', '1.1').expand,
      );
      await tool.stores.close();
      const v11 = await openStores(url, { resources: [gadgetV11] });
      try {
        const store = v11.store(gadgetV11);
        const read = await store.get(ctx, old.id);
        expect(read).toMatchObject({ color: 'red', size: null, objectVersion: '1.0', label: 'g1' });
        const fresh = await store.create(ctx, { ...gadgetInput(2), size: 7, color: 'blue' });
        expect(await store.get(ctx, fresh.id)).toEqual(fresh);
        expect((await store.list(ctx, { where: { size: 7 } })).items.map((g) => g.id)).toEqual([
          fresh.id,
        ]);
        const bumped = await store.update(ctx, old.id, { size: 1 });
        expect(bumped).toMatchObject({ objectVersion: '1.1', size: 1, color: 'red', revision: 2 });
      } finally {
        await v11.close();
      }
    });
  });
}

describe('postgres schema option', () => {
  it('keeps the tables in the given schema', async () => {
    const schema = freshNamespace('tenant');
    const stores = await openSqlStores(
      `${backends.postgresUrl.replace('postgres://', 'postgresql://')}?schema=${schema}`,
    );
    const client = new pg.Client({ connectionString: backends.postgresUrl });
    await client.connect();
    try {
      await stores.networks.create(adminContext(), {
        label: 'x',
        cidr: '10.0.0.0/8',
        projectId: null,
      });
      const { rows } = await client.query(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
        [schema],
      );
      expect(rows.map((r) => r.table_name)).toEqual([
        'fixed_ips',
        'instances',
        'migrations',
        'networks',
        'polystore_elements',
        'services',
      ]);
      const collations = await client.query(
        `SELECT column_name, collation_name FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = 'instances' AND data_type = 'text'`,
        [schema],
      );
      expect(collations.rows.length).toBeGreaterThan(5);
      for (const r of collations.rows) expect(r.collation_name, r.column_name).toBe('C');
    } finally {
      await client.end();
      await stores.close();
    }
  });
});
