import {
  type AnyResource,
  DuplicateError,
  defineResource,
  UnavailableError,
} from '@polystore/core';
import {
  type EvolutionDriver,
  elementsBetween,
  elementsOf,
  NO_ELEMENTS,
  type ResourceDriver,
  type SchemaElements,
  supportsEvolution,
  UniqueViolationError,
} from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import { admin, at, gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { tableLayout } from '../src/layout.js';
import { openSqlBackend } from '../src/sql-adapter.js';
import type { SqlBackend } from '../src/sql-backend.js';
import { DIALECTS, type Dialect, useBackends } from './support.js';

const backends = useBackends();

const up = elementsBetween(gadgetV11, '1.0', '1.1');
const everything = { projectId: null, includeShared: true, deleted: 'yes' } as const;

function evolving(driver: ResourceDriver): ResourceDriver & EvolutionDriver {
  if (!supportsEvolution(driver)) throw new Error('the SQL driver must support evolution');
  return driver;
}

/** Names and kinds only: what a store records of its elements, comparable across definitions. */
function shape(elements: SchemaElements) {
  return {
    fields: elements.fields.map((x) => `${x.name}:${x.field.kind}`),
    indexes: elements.indexes.map((i) => `${i.field}:${i.kind}`),
    uniques: elements.uniques.map((u) => u.join(',')),
  };
}

/** One namespace of one dialect: open backends over it and look at its tables directly. */
function namespace(dialect: Dialect) {
  const ns = freshNamespace('ev');
  const url = backends.url(dialect, ns);
  const prefix = dialect === 'postgres' ? `${ns}_` : '';
  const table = tableLayout(gadgetV10, prefix).table;
  const opened: SqlBackend[] = [];
  const open = async (resource: AnyResource = gadgetV10) => {
    const backend = await openSqlBackend(new URL(url), { resources: [resource] });
    opened.push(backend);
    return backend;
  };
  /** Runs one query on a connection of its own, outside the backends. */
  const query = async (
    text: string,
    params: unknown[] = [],
  ): Promise<Record<string, unknown>[]> => {
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
  };
  const p = dialect === 'sqlite' ? '?' : '$1';
  /** Runs one statement that changes something, on a connection of its own. */
  const write = async (text: string): Promise<void> => {
    if (dialect === 'sqlite') {
      const db = new Database(url.slice('sqlite:'.length));
      try {
        db.prepare(text).run();
      } finally {
        db.close();
      }
      return;
    }
    await query(text);
  };
  /** Writes the migration ledger the earlier open kept, listing the first version of gadgets. */
  const ledger = async (): Promise<void> => {
    const name = `${prefix}polystore_migration`;
    await write(
      `CREATE TABLE "${name}" (name varchar(255) NOT NULL PRIMARY KEY, timestamp varchar(255) NOT NULL)`,
    );
    await write(`INSERT INTO "${name}" VALUES ('gadgets@0001.0000:expand', '${at}')`);
    await write(
      `CREATE TABLE "${name}_lock" (id varchar(255) NOT NULL PRIMARY KEY, is_locked integer NOT NULL DEFAULT 0)`,
    );
  };
  return {
    open,
    table,
    query,
    write,
    ledger,
    /** The table's index names, sorted. */
    async indexes(): Promise<string[]> {
      const rows =
        dialect === 'sqlite'
          ? await query(
              `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ${p} AND sql IS NOT NULL`,
              [table],
            )
          : await query(
              `SELECT indexname AS name FROM pg_indexes WHERE tablename = ${p} AND indexname NOT LIKE '%pkey'`,
              [table],
            );
      return rows.map((r) => String(r.name)).sort();
    },
    /** The table's column names, sorted. */
    async columns(): Promise<string[]> {
      const rows =
        dialect === 'sqlite'
          ? await query(`SELECT name FROM pragma_table_info(${p})`, [table])
          : await query(
              `SELECT column_name AS name FROM information_schema.columns WHERE table_name = ${p}`,
              [table],
            );
      return rows.map((r) => String(r.name)).sort();
    },
    async closeAll() {
      await Promise.all(opened.map((b) => b.close()));
    },
  };
}

describe.each(DIALECTS)('%s evolution', (dialect) => {
  let current: ReturnType<typeof namespace> | undefined;
  const fresh = () => {
    current = namespace(dialect);
    return current;
  };
  afterEach(async () => {
    await current?.closeAll();
    current = undefined;
  });

  describe('countByVersion', () => {
    async function seeded() {
      const backend = await fresh().open(gadgetV11);
      const driver = evolving(backend.driver(gadgetV11));
      await driver.insert(rec('a3', { label: 'a3', color: null }));
      await driver.insert(rec('a1', { label: 'a1', color: null }, { projectId: 'p2' }));
      await driver.insert(rec('a5', { label: 'a5', color: null }, { deletedAt: at, revision: 2 }));
      await driver.insert(rec('a2', { label: 'a2', color: null }, { projectId: null }));
      await driver.insert(rec('a4', { label: 'a4', color: null }));
      await driver.insert(rec('b1', { label: 'b1', color: 'red' }, { objectVersion: '1.1' }));
      await driver.insert(rec('b2', { label: 'b2', color: null }, { objectVersion: '1.1' }));
      return driver;
    }

    it('counts with one GROUP BY over the object_version index, reading no record', async () => {
      await seeded();
      const { query, table } = current!;
      if (dialect === 'sqlite') {
        const plan = await query(
          `EXPLAIN QUERY PLAN SELECT object_version, count(*) AS n FROM "${table}" GROUP BY object_version`,
        );
        expect(JSON.stringify(plan)).toContain(`COVERING INDEX ${table}__object_version`);
        return;
      }
      const client = new pg.Client({ connectionString: backends.postgresUrl });
      await client.connect();
      try {
        // A table this small is read whole when allowed: ask whether the index can answer.
        await client.query('SET enable_seqscan = off');
        const { rows } = await client.query(
          `EXPLAIN SELECT object_version, count(*) AS n FROM "${table}" GROUP BY object_version`,
        );
        expect(JSON.stringify(rows)).toContain(`Index Only Scan using ${table}__object_version`);
      } finally {
        await client.end();
      }
    });
  });

  describe('rewrite', () => {
    it('leaves every index matching after a 1.0 client wrote, 1.1 expanded and rewrote', async () => {
      const space = fresh();
      const oldBackend = await space.open(gadgetV10);
      const oldDriver = evolving(oldBackend.driver(gadgetV10));
      await oldDriver.insert(rec('r1', { label: 'one' }));
      await oldDriver.insert(rec('r2', { label: 'two' }));
      await oldBackend.expand(gadgetV11, up.expand);
      expect(await space.indexes()).toEqual(
        expect.arrayContaining([
          `${space.table}__color`,
          `${space.table}__label__uq`,
          `${space.table}__label`,
        ]),
      );

      // The 1.0 client keeps writing; the database maintains the new index and unique for it.
      await oldDriver.update(admin, 'r1', {
        set: { label: 'uno' },
        updatedAt: at,
        objectVersion: '1.0',
        expectedRevision: 1,
        expected: undefined,
      });
      await oldDriver.insert(rec('r3', { label: 'three' }));
      const dup = await oldDriver.insert(rec('r4', { label: 'two' })).catch((e) => e);
      expect(dup).toBeInstanceOf(DuplicateError);
      expect(dup.fields).toEqual(['label']);

      // A 1.1 client opens the expanded store (its open adds nothing) and moves r1 to 1.1.
      const indexesBefore = await space.indexes();
      const newBackend = await space.open(gadgetV11);
      expect(await space.indexes()).toEqual(indexesBefore);
      const newDriver = evolving(newBackend.driver(gadgetV11));
      const r1 = (await newDriver.scanVersion('1.0', undefined, 1)).records[0]!;
      expect(r1).toMatchObject({ id: 'r1', label: 'uno', revision: 2 });
      const out = await newDriver.rewrite({ ...r1, color: 'red', objectVersion: '1.1' }, 2);
      expect(out).toMatchObject({ status: 'ok', record: { color: 'red', revision: 3 } });
      // Even a driver whose definition lacks the elements rewrites consistently.
      const r3 = (await oldDriver.scanVersion('1.0', 'r2', 5)).records[0]!;
      expect((await oldDriver.rewrite({ ...r3, label: 'tres' }, 1)).status).toBe('ok');

      const byColor = await newDriver.list(everything, {
        where: [{ field: 'color', op: 'eq', value: 'red' }],
        orderBy: { field: 'id', direction: 'asc' },
        after: null,
        limit: 10,
      } as never);
      expect(byColor.map((r) => r.id)).toEqual(['r1']);
      expect(await newDriver.count(everything, [{ field: 'color', op: 'eq', value: 'red' }])).toBe(
        1,
      );
      const byLabel = async (label: string) =>
        (
          await newDriver.list(everything, {
            where: [{ field: 'label', op: 'eq', value: label }],
            orderBy: { field: 'id', direction: 'asc' },
            after: null,
            limit: 10,
          } as never)
        ).map((r) => r.id);
      expect(await byLabel('uno')).toEqual(['r1']);
      expect(await byLabel('one')).toEqual([]);
      expect(await byLabel('tres')).toEqual(['r3']);
      expect(await byLabel('three')).toEqual([]);
      expect(await newDriver.count(everything, [])).toBe(3);
      // The unique now refuses the old value of r3 nowhere and its new value everywhere.
      await expect(
        newDriver.insert(rec('r5', { label: 'tres', color: null }, { objectVersion: '1.1' })),
      ).rejects.toBeInstanceOf(DuplicateError);
    });
  });

  describe('expand, contract and appliedElements', () => {
    it('records what a brand-new store needs, and an open of the same store adds nothing', async () => {
      const space = fresh();
      const oldBackend = await space.open(gadgetV10);
      expect(await oldBackend.appliedElements(gadgetV10)).toEqual(elementsOf(gadgetV10));
      const again = await space.open(gadgetV10);
      expect(await again.appliedElements(gadgetV10)).toEqual(elementsOf(gadgetV10));
      const other = await fresh().open(gadgetV11);
      expect(shape(await other.appliedElements(gadgetV11))).toEqual(shape(elementsOf(gadgetV11)));
    });

    it('adds the elements once (idempotent), and old code then honours the new unique', async () => {
      const space = fresh();
      const oldBackend = await space.open(gadgetV10);
      const oldDriver = evolving(oldBackend.driver(gadgetV10));
      await oldDriver.insert(rec('r1', { label: 'one' }));
      await oldBackend.expand(gadgetV11, up.expand);
      const applied = await oldBackend.appliedElements(gadgetV11);
      expect(shape(applied)).toEqual({
        fields: ['label:string', 'color:string'],
        indexes: ['label:eq', 'color:eq'],
        uniques: ['label'],
      });
      const indexes = await space.indexes();
      const columns = await space.columns();
      expect(columns).toContain('color');
      await oldBackend.expand(gadgetV11, up.expand);
      await oldBackend.expand(gadgetV11, elementsOf(gadgetV11));
      expect(await oldBackend.appliedElements(gadgetV11)).toEqual(applied);
      expect(await space.indexes()).toEqual(indexes);
      expect(await space.columns()).toEqual(columns);
      const err = await oldDriver.insert(rec('r2', { label: 'one' })).catch((e) => e);
      expect(err).toBeInstanceOf(DuplicateError);
      expect(err.fields).toEqual(['label']);
    });

    it('refuses a unique constraint live records violate, naming them, and changes nothing', async () => {
      const space = fresh();
      const oldBackend = await space.open(gadgetV10);
      const oldDriver = evolving(oldBackend.driver(gadgetV10));
      await oldDriver.insert(rec('d2', { label: 'same' }, { projectId: 'p2' }));
      await oldDriver.insert(rec('d1', { label: 'same' }));
      await oldDriver.insert(rec('dead', { label: 'same' }, { deletedAt: at }));
      await oldDriver.insert(rec('other', { label: 'other' }));
      const before = await oldBackend.appliedElements(gadgetV10);
      const indexes = await space.indexes();
      const columns = await space.columns();
      const err = await oldBackend.expand(gadgetV11, up.expand).catch((e) => e);
      expect(err).toBeInstanceOf(UniqueViolationError);
      expect(err).toBeInstanceOf(DuplicateError);
      expect(err).toMatchObject({ code: 'DUPLICATE', fields: ['label'], ids: ['d1', 'd2'] });
      expect(err.message).toContain('d1, d2');
      // Not even the color column and index of the same call were applied.
      expect(await oldBackend.appliedElements(gadgetV10)).toEqual(before);
      expect(await space.indexes()).toEqual(indexes);
      expect(await space.columns()).toEqual(columns);
      expect(columns).not.toContain('color');

      await oldDriver.delete(admin, 'd2', { soft: true, at, expectedRevision: undefined });
      await oldBackend.expand(gadgetV11, up.expand);
      expect((await oldBackend.appliedElements(gadgetV11)).uniques).toEqual([['label']]);
      expect(await space.indexes()).toContain(`${space.table}__label__uq`);
    });

    it('drops elements and a dropped field`s values (idempotent), leaving revisions alone', async () => {
      const space = fresh();
      const backend = await space.open(gadgetV10);
      await backend.expand(gadgetV11, up.expand);
      const v11 = await space.open(gadgetV11);
      const driver = evolving(v11.driver(gadgetV11));
      await driver.insert(rec('r1', { label: 'one', color: 'red' }, { objectVersion: '1.1' }));
      const down = elementsBetween(gadgetV11, '1.1', '1.0');
      await backend.contract(gadgetV11, down.contract);
      await backend.contract(gadgetV11, down.contract);
      expect(shape(await backend.appliedElements(gadgetV11))).toEqual(shape(elementsOf(gadgetV10)));
      expect(await space.columns()).not.toContain('color');
      expect(await space.indexes()).not.toContain(`${space.table}__color`);
      expect(await space.indexes()).not.toContain(`${space.table}__label__uq`);
      const old = evolving(backend.driver(gadgetV10));
      expect(await old.get(everything, 'r1')).toEqual(
        rec('r1', { label: 'one' }, { objectVersion: '1.1' }),
      );
      // The dropped unique no longer refuses anything.
      await old.insert(rec('r2', { label: 'one' }));
      expect(await old.count(everything, [])).toBe(2);
    });

    it('never changes an older store when newer code opens it: no column, index or record added', async () => {
      const space = fresh();
      const oldBackend = await space.open(gadgetV10);
      await evolving(oldBackend.driver(gadgetV10)).insert(rec('r1', { label: 'one' }));
      const indexes = await space.indexes();
      const columns = await space.columns();
      const newBackend = await space.open(gadgetV11);
      expect(shape(await newBackend.appliedElements(gadgetV11))).toEqual(
        shape(elementsOf(gadgetV10)),
      );
      expect(await space.indexes()).toEqual(indexes);
      expect(await space.columns()).toEqual(columns);
      expect(columns).not.toContain('color');
      // Expanding is what adds them, and an open afterwards adds nothing either.
      await newBackend.expand(gadgetV11, up.expand);
      const expanded = await space.indexes();
      expect(expanded).toContain(`${space.table}__color`);
      await space.open(gadgetV11);
      await space.open(gadgetV10);
      expect(await space.indexes()).toEqual(expanded);
    });

    it('reads a store created before elements were recorded from its migrations, and expand builds on them', async () => {
      const space = fresh();
      const backend = await space.open(gadgetV10);
      await evolving(backend.driver(gadgetV10)).insert(rec('r1', { label: 'one' }));
      // What a store opened by the ledger-based open looks like: its migrations, no recorded elements.
      const elementsTable = space.table.replace(/gadgets$/, 'polystore_elements');
      await space.write(`DELETE FROM "${elementsTable}"`);
      await space.ledger();
      expect(await backend.appliedElements(gadgetV10)).toEqual(elementsOf(gadgetV10));
      expect(await space.query(`SELECT * FROM "${elementsTable}"`)).toEqual([]);
      await backend.expand(gadgetV11, up.expand);
      expect(shape(await backend.appliedElements(gadgetV11))).toEqual(shape(elementsOf(gadgetV11)));
      expect(await space.query(`SELECT * FROM "${elementsTable}"`)).toHaveLength(6); // the table marker; label, color; their indexes; unique label
    });

    it('opens a store the ledger-based open made: records what its ledger lists, with no DDL', async () => {
      const space = fresh();
      const made = await space.open(gadgetV10);
      await evolving(made.driver(gadgetV10)).insert(rec('r1', { label: 'one' }));
      await made.close();
      const elementsTable = space.table.replace(/gadgets$/, 'polystore_elements');
      await space.write(`DROP TABLE "${elementsTable}"`);
      await space.ledger();
      const indexes = await space.indexes();
      const columns = await space.columns();
      const backend = await space.open(gadgetV11);
      // Read from the ledger and written down; the table itself is as the old open left it.
      expect(shape(await backend.appliedElements(gadgetV11))).toEqual(shape(elementsOf(gadgetV10)));
      expect(await space.query(`SELECT kind, element_key FROM "${elementsTable}"`)).toHaveLength(3); // marker, field label, index label
      expect(await space.indexes()).toEqual(indexes);
      expect(await space.columns()).toEqual(columns);
      const ledger = space.table.replace(/gadgets$/, 'polystore_migration');
      expect(await space.query(`SELECT name FROM "${ledger}"`)).toEqual([
        { name: 'gadgets@0001.0000:expand' },
      ]);
      const driver = evolving(backend.driver(gadgetV11));
      expect(await driver.get(everything, 'r1')).toMatchObject({ id: 'r1', label: 'one' });
    });

    it('leaves a table recorded nowhere and in no ledger alone: nothing applied, nothing created', async () => {
      const space = fresh();
      await (await space.open(gadgetV10)).close();
      const elementsTable = space.table.replace(/gadgets$/, 'polystore_elements');
      await space.write(`DROP TABLE "${elementsTable}"`);
      const backend = await space.open(gadgetV10);
      expect(await backend.appliedElements(gadgetV10)).toEqual(NO_ELEMENTS);
      await expect(space.query(`SELECT * FROM "${elementsTable}"`)).rejects.toThrow();
    });

    it('contracts a store created before elements were recorded, and what it dropped stays dropped', async () => {
      const space = fresh();
      const backend = await space.open(gadgetV10);
      const elementsTable = space.table.replace(/gadgets$/, 'polystore_elements');
      await space.write(`DELETE FROM "${elementsTable}"`);
      await space.ledger();
      const labelIndex = {
        fields: [],
        indexes: [{ field: 'label', kind: 'eq' }],
        uniques: [],
      } as const;
      await backend.contract(gadgetV10, labelIndex);
      expect(shape(await backend.appliedElements(gadgetV10))).toEqual({
        fields: ['label:string'],
        indexes: [],
        uniques: [],
      });
      expect(await space.indexes()).not.toContain(`${space.table}__label`);
      // Every element dropped: the store still reads as recorded, with nothing applied.
      await backend.contract(gadgetV10, elementsOf(gadgetV10));
      expect(await backend.appliedElements(gadgetV10)).toEqual(NO_ELEMENTS);
      expect(await space.columns()).not.toContain('label');
    });

    if (dialect === 'postgres') {
      it('gives up on a held lock after lock_timeout and retries the whole call until it gets it', async () => {
        const space = fresh();
        const backend = await space.open(gadgetV10);
        const holder = new pg.Client({ connectionString: backends.postgresUrl });
        const observer = new pg.Client({ connectionString: backends.postgresUrl });
        await holder.connect();
        await observer.connect();
        try {
          await holder.query('BEGIN');
          await holder.query(`LOCK TABLE "${space.table}" IN ACCESS EXCLUSIVE MODE`);
          const expanding = backend.expand(gadgetV11, up.expand);
          let settled = false;
          expanding.then(
            () => (settled = true),
            () => (settled = true),
          );
          // Two attempts seen waiting (two start times): the first gave up, the call went on.
          // A call that settles first (no retry: it fails with the lock timeout) ends the wait.
          const starts = new Set<string>();
          while (starts.size < 2 && !settled) {
            const { rows } = await observer.query(
              `SELECT query_start::text AS s FROM pg_stat_activity
               WHERE wait_event_type = 'Lock' AND application_name = 'polystore'
                 AND position($1 in query) > 0`,
              [space.table],
            );
            for (const r of rows) starts.add(String(r.s));
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          await holder.query('COMMIT');
          await expanding;
        } finally {
          await holder.end();
          await observer.end();
        }
        expect(shape(await backend.appliedElements(gadgetV11)).uniques).toEqual(['label']);
        expect(await space.indexes()).toContain(`${space.table}__label__uq`);
      });

      it('rebuilds a unique index that an interrupted concurrent build left invalid', async () => {
        const space = fresh();
        const backend = await space.open(gadgetV10);
        const driver = evolving(backend.driver(gadgetV10));
        await driver.insert(rec('a', { label: 'same' }));
        await driver.insert(rec('b', { label: 'same' }));
        const name = `${space.table}__label__uq`;
        // A concurrent build that fails leaves an INVALID index behind.
        await expect(
          space.query(
            `CREATE UNIQUE INDEX CONCURRENTLY "${name}" ON "${space.table}" (label) WHERE deleted_at IS NULL`,
          ),
        ).rejects.toThrow();
        const validity = async () =>
          (
            await space.query(
              'SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1',
              [name],
            )
          ).map((r) => r.valid);
        expect(await validity()).toEqual([false]);
        // The invalid index does not count as applied: live rows still clash, so refused.
        await expect(backend.expand(gadgetV11, up.expand)).rejects.toBeInstanceOf(
          UniqueViolationError,
        );
        await driver.delete(admin, 'b', { soft: false, at, expectedRevision: undefined });
        expect(await validity()).toEqual([false]);
        await backend.expand(gadgetV11, up.expand);
        expect(await validity()).toEqual([true]);
        const dup = await driver.insert(rec('c', { label: 'same' })).catch((e) => e);
        expect(dup).toBeInstanceOf(DuplicateError);
        expect(dup.fields).toEqual(['label']);
      });
    }

    it('reports nothing for a resource never created (without creating anything), and refuses once closed', async () => {
      const space = fresh();
      const backend = await space.open(gadgetV10);
      const other = defineResource({ ...gadgetV10, name: 'widget', plural: 'widgets' });
      expect(await backend.appliedElements(other)).toEqual(NO_ELEMENTS);
      await backend.close();
      await expect(backend.expand(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(UnavailableError);
      await expect(backend.contract(gadgetV10, NO_ELEMENTS)).rejects.toBeInstanceOf(
        UnavailableError,
      );
      await expect(backend.appliedElements(other)).rejects.toBeInstanceOf(UnavailableError);
      await expect(evolving(backend.driver(gadgetV10)).countByVersion()).rejects.toBeInstanceOf(
        UnavailableError,
      );
    });
  });
});
