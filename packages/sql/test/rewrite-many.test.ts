import type { AnyResource } from '@polystore/core';
import {
  type EvolutionDriver,
  elementsBetween,
  type ResourceDriver,
  type StoredRecord,
  supportsEvolution,
} from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing';
import { admin, at, gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqlBackend } from '../src/sql-adapter.js';
import type { SqlBackend } from '../src/sql-backend.js';
import { statementPlan } from '../src/sql-rewrite-many.js';
import { DIALECTS, useBackends } from './support.js';

const backends = useBackends();
const everything = { projectId: null, includeShared: true, deleted: 'yes' } as const;
const up = elementsBetween(gadgetV11, '1.0', '1.1');

type Driver = ResourceDriver & EvolutionDriver & Required<Pick<EvolutionDriver, 'rewriteMany'>>;

function batched(driver: ResourceDriver): Driver {
  if (!supportsEvolution(driver) || typeof driver.rewriteMany !== 'function')
    throw new Error('the SQL driver must have rewriteMany');
  return driver as Driver;
}

/** `r` as the 1.1 runner writes it: at 1.1, with `fields` changed. */
function upgraded(r: StoredRecord, fields: Record<string, unknown>): StoredRecord {
  return { ...r, ...fields, objectVersion: '1.1', updatedAt: '2026-02-02T00:00:00.000Z' };
}

describe.each(DIALECTS)('%s rewriteMany', (dialect) => {
  const opened: SqlBackend[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
  });

  /** A driver of `resource` on a fresh namespace, with that resource's elements in place. */
  async function fresh(resource: AnyResource = gadgetV11): Promise<Driver> {
    const backend = await openSqlBackend(new URL(backends.url(dialect, freshNamespace('rm'))), {
      resources: [resource],
    });
    opened.push(backend);
    return batched(backend.driver(resource));
  }

  it('rewrites every record at its expected revision, in any project, live or deleted, and returns their ids', async () => {
    const driver = await fresh();
    const a = await driver.insert(rec('a', { label: 'a', color: null }));
    const b = await driver.insert(
      rec('b', { label: 'b', color: null }, { projectId: 'p2', revision: 3 }),
    );
    const c = await driver.insert(rec('c', { label: 'c', color: null }, { deletedAt: at }));
    const next = [
      upgraded(a, { color: 'red' }),
      upgraded(b, { color: 'blue', label: 'b2' }),
      upgraded(c, { color: 'red' }),
    ];
    const done = await driver.rewriteMany(
      next.map((record, i) => ({ record, expectedRevision: [a, b, c][i]!.revision })),
    );
    expect([...done].sort()).toEqual(['a', 'b', 'c']);
    expect(await driver.countByVersion()).toEqual({ '1.1': 3 });
    expect(await driver.getMany(everything, ['a', 'b', 'c'])).toEqual(
      expect.arrayContaining([
        { ...next[0], revision: 2 },
        { ...next[1], revision: 4 },
        { ...next[2], revision: 2 },
      ]),
    );
    const red = await driver.list(everything, {
      where: [{ field: 'color', op: 'eq', value: 'red' }],
      orderBy: { field: 'id', direction: 'asc' },
      after: null,
      limit: 10,
    });
    expect(red.map((r) => r.id)).toEqual(['a', 'c']);
  });

  it('leaves a record at another revision or gone untouched, and rewrites the others', async () => {
    const driver = await fresh();
    const a = await driver.insert(rec('a', { label: 'a', color: null }));
    const b = await driver.insert(rec('b', { label: 'b', color: null }));
    const done = await driver.rewriteMany([
      { record: upgraded(a, { color: 'red' }), expectedRevision: 2 },
      { record: upgraded(b, { color: 'red' }), expectedRevision: 1 },
      { record: upgraded(rec('nope', { label: 'n', color: null }), {}), expectedRevision: 1 },
    ]);
    expect(done).toEqual(['b']);
    expect(await driver.get(everything, 'a')).toEqual(a);
    expect(await driver.countByVersion()).toEqual({ '1.0': 1, '1.1': 1 });
    expect(await driver.get(everything, 'nope')).toBeUndefined();
  });

  it('skips a record whose new values clash with a unique one, as separate rewrites would, and writes the rest', async () => {
    const driver = await fresh();
    await driver.insert(rec('holder', { label: 'taken', color: null }, { objectVersion: '1.1' }));
    await driver.insert(rec('gone', { label: 'free', color: null }, { deletedAt: at }));
    const olds: StoredRecord[] = [];
    for (const id of ['r1', 'r2', 'r3', 'r4', 'r5']) {
      olds.push(await driver.insert(rec(id, { label: id, color: null })));
    }
    const [r1, r2, r3, r4, r5] = olds as [
      StoredRecord,
      StoredRecord,
      StoredRecord,
      StoredRecord,
      StoredRecord,
    ];
    const done = await driver.rewriteMany([
      { record: upgraded(r1, { color: 'red' }), expectedRevision: 1 },
      // Clashes with a live record outside the batch.
      { record: upgraded(r2, { label: 'taken', color: 'red' }), expectedRevision: 1 },
      // A soft-deleted record holds no unique value.
      { record: upgraded(r3, { label: 'free', color: 'red' }), expectedRevision: 1 },
      // Two of the batch want the same value: the first one gets it.
      { record: upgraded(r4, { label: 'same', color: 'red' }), expectedRevision: 1 },
      { record: upgraded(r5, { label: 'same', color: 'blue' }), expectedRevision: 1 },
    ]);
    expect([...done].sort()).toEqual(['r1', 'r3', 'r4']);
    expect(await driver.get(everything, 'r2')).toEqual(r2);
    expect(await driver.get(everything, 'r5')).toEqual(r5);
    // Nothing else about them changed: their old values still find them, the new ones do not.
    const byColor = await driver.list(everything, {
      where: [{ field: 'color', op: 'eq', value: 'red' }],
      orderBy: { field: 'id', direction: 'asc' },
      after: null,
      limit: 10,
    });
    expect(byColor.map((r) => r.id)).toEqual(['r1', 'r3', 'r4']);
    // The records not rewritten go through `rewrite` as the engine does, with its error.
    await expect(
      driver.rewrite(upgraded(r2, { label: 'taken', color: 'red' }), 1),
    ).rejects.toMatchObject({ name: 'DuplicateError', fields: ['label'] });
  });

  it('rewrites a batch larger than one statement holds', async () => {
    const driver = await fresh();
    // SQLite: more than one statement holds; PostgreSQL: split over statements in flight at once.
    const n = dialect === 'sqlite' ? statementPlan('sqlite', 0).perStatement + 50 : 1300;
    const plan = statementPlan(dialect, n);
    expect(Math.ceil(n / plan.perStatement)).toBeGreaterThan(1);
    const records: StoredRecord[] = [];
    for (let i = 0; i < n; i++) {
      records.push(rec(`r${String(i).padStart(5, '0')}`, { label: `l${i}`, color: null }));
    }
    await Promise.all(records.map((r) => driver.insert(r)));
    const done = await driver.rewriteMany(
      records.map((r) => ({ record: upgraded(r, { color: 'red' }), expectedRevision: 1 })),
    );
    expect(done).toHaveLength(n);
    expect(await driver.countByVersion()).toEqual({ '1.1': n });
  });

  it('writes the columns of the newer definition that expanded the store, keeping an older driver consistent', async () => {
    const url = backends.url(dialect, freshNamespace('rm'));
    const oldBackend = await openSqlBackend(new URL(url), { resources: [gadgetV10] });
    opened.push(oldBackend);
    const oldDriver = batched(oldBackend.driver(gadgetV10));
    const r1 = await oldDriver.insert(rec('r1', { label: 'one' }));
    const r2 = await oldDriver.insert(rec('r2', { label: 'two' }));
    await oldBackend.expand(gadgetV11, up.expand);
    const newBackend = await openSqlBackend(new URL(url), { resources: [gadgetV11] });
    opened.push(newBackend);
    const newDriver = batched(newBackend.driver(gadgetV11));
    const done = await newDriver.rewriteMany([
      { record: upgraded(r1, { color: 'red' }), expectedRevision: 1 },
      { record: upgraded(r2, { color: null }), expectedRevision: 1 },
    ]);
    expect([...done].sort()).toEqual(['r1', 'r2']);
    // The 1.0 driver rewrites too, leaving the column it does not know as it is.
    const back = await oldDriver.rewriteMany([
      { record: { ...r1, label: 'uno', objectVersion: '1.1' }, expectedRevision: 2 },
    ]);
    expect(back).toEqual(['r1']);
    expect(await newDriver.get(everything, 'r1')).toMatchObject({
      label: 'uno',
      color: 'red',
      revision: 3,
    });
    await expect(
      oldDriver.update(admin, 'r2', {
        set: { label: 'uno' },
        updatedAt: at,
        objectVersion: '1.0',
        expectedRevision: 2,
        expected: undefined,
      }),
    ).rejects.toMatchObject({ name: 'DuplicateError' });
  });
});
