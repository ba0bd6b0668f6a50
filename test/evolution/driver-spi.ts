/**
 * The evolution SPI of a backend's resource driver, the same cases on every backend (the
 * memory driver is the reference): `countByVersion` and `scanVersion` over every project,
 * live and soft-deleted, ids in code point order; `rewrite` of a whole record at
 * revision + 1, its conflict, not-found and unique refusals; deletes conditional on the
 * object version (`DeleteChange.expected`); and the write-only marks `expand` records and
 * `publish` clears. What only one backend can show (its index entries, its statements,
 * its keys) stays in that adapter's own evolution.test.ts.
 */
import {
  type AnyResource,
  createContext,
  DuplicateError,
  defineResource,
  f,
  IncompatibleVersionError,
  InvalidInputError,
  type Stores,
} from '@polystore/core';
import {
  compareCodePoints,
  createStores,
  type EvolutionDriver,
  type EvolvableBackend,
  elementsBetween,
  isEvolvable,
  NO_ELEMENTS,
  openBackend,
  type ResourceDriver,
  supportsEvolution,
} from '@polystore/core/adapter';
import { admin, at, gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import { freshNamespace, freshStoreUrl, type StoreBackend } from '@polystore/testing/vitest';
import { afterEach, describe, expect, it } from 'vitest';

/** Generous bounds: six backends share two cores with the rest of the run. */
const ADAPTER_OPTIONS: Partial<Record<StoreBackend, Record<string, unknown>>> = {
  postgres: { connectTimeoutMs: 15_000, statementTimeoutMs: 20_000, failFastMs: 20_000 },
  redis: { commandTimeoutMs: 15_000 },
  zookeeper: { requestTimeoutMs: 15_000, failFastMs: 20_000 },
  mongo: { failFastMs: 20_000 },
};

/** Every project, live and soft-deleted: what an admin reading deleted records sees. */
const everything = { projectId: null, includeShared: true, deleted: 'yes' } as const;

/** Registers the driver SPI cases for one backend. */
export function driverSpiExamples(backend: StoreBackend): void {
  describe('the evolution SPI of the driver', () => {
    const open = useFreshBackends(backend);

    /** A driver of `resource` on a brand-new store (every element of its version applied). */
    async function driverOf(resource: AnyResource, url?: string) {
      const o = await open(resource, url);
      return { ...o, driver: evolving(o.backend.driver(resource)) };
    }

    async function seeded() {
      const { driver } = await driverOf(gadgetV11);
      await driver.insert(rec('a3', { label: 'a3', color: null }));
      await driver.insert(rec('a1', { label: 'a1', color: null }, { projectId: 'p2' }));
      await driver.insert(rec('a5', { label: 'a5', color: null }, { deletedAt: at, revision: 2 }));
      await driver.insert(rec('a2', { label: 'a2', color: null }, { projectId: 'p3' }));
      await driver.insert(rec('a4', { label: 'a4', color: null }));
      await driver.insert(rec('b1', { label: 'b1', color: 'red' }, { objectVersion: '1.1' }));
      await driver.insert(rec('b2', { label: 'b2', color: null }, { objectVersion: '1.1' }));
      return driver;
    }

    it('counts every record by objectVersion, in every project, live and soft-deleted', async () => {
      const driver = await seeded();
      expect(await driver.countByVersion()).toEqual({ '1.0': 5, '1.1': 2 });
      await driver.delete(admin, 'b1', { soft: false, at, expectedRevision: undefined });
      expect(await driver.countByVersion()).toEqual({ '1.0': 5, '1.1': 1 });
      await driver.delete(admin, 'b2', { soft: false, at, expectedRevision: undefined });
      expect(await driver.countByVersion()).toEqual({ '1.0': 5 });
    });

    it('pages one version by id, every project, live and soft-deleted', async () => {
      const driver = await seeded();
      const pages: string[][] = [];
      let after: string | undefined;
      do {
        const page = await driver.scanVersion('1.0', after, 2);
        pages.push(page.records.map((r) => r.id));
        after = page.after;
      } while (after !== undefined);
      expect(pages).toEqual([['a1', 'a2'], ['a3', 'a4'], ['a5']]);
      const full = await driver.scanVersion('1.1', undefined, 2);
      expect(full.records.map((r) => r.id)).toEqual(['b1', 'b2']);
      expect(full.after).toBe('b2');
      expect(full.records[0]).toEqual(
        rec('b1', { label: 'b1', color: 'red' }, { objectVersion: '1.1' }),
      );
      expect(await driver.scanVersion('1.1', 'b2', 2)).toEqual({ records: [], after: undefined });
      expect(await driver.scanVersion('9.9', undefined, 10)).toEqual({
        records: [],
        after: undefined,
      });
      expect((await driver.scanVersion('1.0', 'a4', 10)).records.map((r) => r.id)).toEqual(['a5']);
      expect((await driver.scanVersion('1.0', 'a5', 10)).after).toBeUndefined();
    });

    it('pages ids in code point order, not by locale or UTF-16 unit', async () => {
      const { driver } = await driverOf(gadgetV10);
      // UTF-16 order would put the astral U+1F600 before U+FF5E. ZooKeeper cannot name a
      // znode with a surrogate (an id is a znode name; ids are UUIDs above the driver).
      const ids = ['b', 'B', 'a', 'é', 'Z', '_', '\uff5e', 'ﬀ'];
      if (backend !== 'zookeeper') ids.push('😀');
      for (const id of ids) await driver.insert(rec(id, { label: id }));
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await driver.scanVersion('1.0', after, 3);
        seen.push(...page.records.map((r) => r.id));
        after = page.after;
      } while (after !== undefined);
      expect(seen).toEqual([...ids].sort(compareCodePoints));
      expect(seen.slice(-2)).toEqual(backend === 'zookeeper' ? ['ﬀ', '\uff5e'] : ['\uff5e', '😀']);
    });

    it('rewrites the whole record at revision + 1, in any project, live or soft-deleted', async () => {
      const { driver } = await driverOf(gadgetV11);
      await driver.insert(
        rec('x', { label: 'x', color: null }, { projectId: 'p9', deletedAt: at, revision: 4 }),
      );
      const next = rec(
        'x',
        { label: 'x2', color: 'blue' },
        {
          projectId: 'p9',
          deletedAt: at,
          objectVersion: '1.1',
          revision: 999,
          updatedAt: '2026-02-02T00:00:00.000Z',
        },
      );
      expect(await driver.rewrite(next, 4)).toEqual({
        status: 'ok',
        record: { ...next, revision: 5 },
      });
      expect(await driver.scanVersion('1.1', undefined, 5)).toEqual({
        records: [{ ...next, revision: 5 }],
        after: undefined,
      });
      expect(await driver.get(everything, 'x')).toEqual({ ...next, revision: 5 });
      expect(await driver.countByVersion()).toEqual({ '1.1': 1 });
    });

    it('answers a rewrite at another revision with a conflict, and of an unknown id with not-found, changing nothing', async () => {
      const { driver } = await driverOf(gadgetV11);
      const stored = await driver.insert(rec('x', { label: 'x', color: null }));
      const outcome = await driver.rewrite(rec('x', { label: 'y', color: null }), 2);
      expect(outcome).toEqual({ status: 'conflict', current: stored });
      expect(await driver.rewrite(rec('nope', { label: 'n', color: null }), 1)).toEqual({
        status: 'not-found',
      });
      expect(await driver.countByVersion()).toEqual({ '1.0': 1 });
      expect((await driver.scanVersion('1.0', undefined, 5)).records).toEqual([stored]);
    });

    it('refuses a rewrite that clashes with another live record on a unique value, changing nothing', async () => {
      const { driver } = await driverOf(gadgetV11);
      await driver.insert(rec('x', { label: 'taken', color: null }));
      await driver.insert(rec('gone', { label: 'free', color: null }, { deletedAt: at }));
      const y = await driver.insert(rec('y', { label: 'y', color: null }));
      const err = await driver
        .rewrite(rec('y', { label: 'taken', color: 'red' }), 1)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DuplicateError);
      expect((err as DuplicateError).fields).toEqual(['label']);
      expect((await driver.scanVersion('1.0', 'x', 5)).records).toEqual([y]);
      // y still holds its value, and the refused rewrite took none.
      await expect(driver.insert(rec('z', { label: 'y', color: null }))).rejects.toBeInstanceOf(
        DuplicateError,
      );
      expect(
        await driver.count(everything, [{ field: 'color', op: 'eq', value: 'red' }] as never),
      ).toBe(0);
      // A soft-deleted record holds no unique value.
      const ok = await driver.rewrite(rec('y', { label: 'free', color: null }), 1);
      expect(ok.status).toBe('ok');
    });

    for (const soft of [true, false]) {
      const kind = soft ? 'soft' : 'hard';
      it(`answers a ${kind} delete expecting another objectVersion with a conflict, changing nothing`, async () => {
        const { driver } = await driverOf(gadgetV11);
        const stored = await driver.insert(
          rec('x', { label: 'x', color: 'red' }, { objectVersion: '1.1' }),
        );
        const change = { soft, at, expectedRevision: undefined };
        expect(
          await driver.delete(admin, 'x', { ...change, expected: { objectVersion: ['1.0'] } }),
        ).toEqual({ status: 'conflict', current: stored });
        expect(await driver.get(everything, 'x')).toEqual(stored);
        // With the revision right too, the version still decides; an unknown id is not-found.
        expect(
          await driver.delete(admin, 'x', {
            ...change,
            expectedRevision: 1,
            expected: { objectVersion: ['1.0'] },
          }),
        ).toEqual({ status: 'conflict', current: stored });
        expect(
          await driver.delete(admin, 'nope', { ...change, expected: { objectVersion: ['1.1'] } }),
        ).toEqual({ status: 'not-found' });
        // At its own version (one of the listed ones), the record is deleted.
        const done = await driver.delete(admin, 'x', {
          ...change,
          expected: { objectVersion: ['1.0', '1.1'] },
        });
        expect(done).toMatchObject({ status: 'ok', record: { id: 'x', objectVersion: '1.1' } });
        expect(await driver.countByVersion()).toEqual(soft ? { '1.1': 1 } : {});
      });

      it(`refuses 1.0 code a ${kind} delete of a 1.1 record it cannot hold (IncompatibleVersionError), and the record stays`, async () => {
        const [widgetV10, widgetV11] = widgets(soft);
        const { backend: b, url } = await driverOf(widgetV10);
        const { backend: b11 } = await driverOf(widgetV11, url);
        const older = createStores(b, { resources: [widgetV10] }).store(widgetV10);
        const newer = createStores(b11, { resources: [widgetV11] }).store(widgetV11);
        const ctx = createContext({ projectId: 'p1' });
        const broken = await newer.create(ctx, { label: 'b', state: 'broken' });
        const used = await newer.create(ctx, { label: 'u', state: 'used' });
        expect(broken.objectVersion).toBe('1.1');

        await expect(older.delete(ctx, broken.id)).rejects.toThrow(IncompatibleVersionError);
        await expect(older.delete(ctx, broken.id, { expectedRevision: 1 })).rejects.toMatchObject({
          storedVersion: '1.1',
          knownVersion: '1.0',
        });
        expect(await newer.get(ctx, broken.id)).toEqual(broken);
        expect(await newer.count(ctx, { state: 'broken' })).toBe(1);

        // A 1.1 record 1.0 code can hold is deleted at its version; 1.1 code deletes its own.
        expect(await older.delete(ctx, used.id)).toMatchObject({
          id: used.id,
          state: 'used',
          objectVersion: '1.1',
        });
        expect(await newer.delete(ctx, broken.id)).toMatchObject({
          id: broken.id,
          state: 'broken',
        });
        const all = createContext({ isAdmin: true, readDeleted: 'yes' });
        expect(await newer.count(all, {})).toBe(soft ? 2 : 0);
      });
    }

    it('records the write-only fields expand is given, and publish makes them public', async () => {
      const { backend: b } = await driverOf(gadgetV10);
      const up = elementsBetween(gadgetV11, '1.0', '1.1');
      await b.expand(gadgetV11, { ...up.expand, pending: ['color'] });
      expect((await b.appliedElements(gadgetV11)).pending).toEqual(['color']);
      // Expanding again (without marks) keeps the mark; publishing an unknown field is ignored.
      await b.expand(gadgetV11, up.expand);
      await b.publish(gadgetV11, ['label', 'nope']);
      expect((await b.appliedElements(gadgetV11)).pending).toEqual(['color']);
      await b.publish(gadgetV11, ['color']);
      await b.publish(gadgetV11, ['color']);
      const applied = await b.appliedElements(gadgetV11);
      expect(applied.pending).toBeUndefined();
      expect(applied.fields.map((x) => x.name)).toEqual(['label', 'color']);
      // A contract of a marked field forgets its mark; a resource never created stays so.
      await b.expand(gadgetV11, { ...NO_ELEMENTS, pending: ['color'] });
      expect((await b.appliedElements(gadgetV11)).pending).toEqual(['color']);
      await b.contract(gadgetV11, elementsBetween(gadgetV11, '1.1', '1.0').contract);
      expect((await b.appliedElements(gadgetV11)).pending).toBeUndefined();
      const other = defineResource({ ...gadgetV10, name: 'widget', plural: 'widgets' });
      await b.publish(other, ['label']);
      expect(await b.appliedElements(other)).toEqual(NO_ELEMENTS);
    });

    it('refuses a write floor that is not a major.minor version, in the same words, setting none', async () => {
      const { backend: b, stores } = await driverOf(gadgetV11);
      if (b.setWriteFloor === undefined) {
        // A backend without the atomic fence says so in its manifest (Mongo on FerretDB).
        expect(stores.capabilities.fencing ?? 'process').toBe('process');
        return;
      }
      for (const floor of ['1', '1.1.1', "1.1'; DROP TABLE gadgets; --", '', 'x.1']) {
        const error = await b.setWriteFloor(gadgetV11, floor).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(error, floor).toBeInstanceOf(InvalidInputError);
        expect((error as InvalidInputError).message).toContain('must be a "major.minor" version');
      }
      expect(await b.writeFloor?.(gadgetV11)).toBeUndefined();
      await b.setWriteFloor(gadgetV11, '1.1');
      expect(await b.writeFloor?.(gadgetV11)).toBe('1.1');
    });
  });
}

/**
 * A `widget` whose 1.1 adds the state `broken`, which 1.0 code cannot hold: soft- or
 * hard-deleted.
 */
function widgets(soft: boolean) {
  const base = {
    name: soft ? 'widget' : 'sprocket',
    plural: soft ? 'widgets' : 'sprockets',
    scope: 'project',
    softDelete: soft,
  } as const;
  const v10 = defineResource({
    ...base,
    version: '1.0',
    history: { '1.0': 'initial version' },
    fields: {
      label: f.string().indexed(),
      state: f.enum(['new', 'used']).indexed().default('new'),
    },
  });
  const v11 = defineResource({
    ...base,
    version: '1.1',
    history: {
      '1.0': 'initial version',
      '1.1': { note: 'state broken', enumValues: { state: { added: ['broken'] } } },
    },
    fields: {
      label: f.string().indexed(),
      state: f.enum(['new', 'used', 'broken']).indexed().default('new'),
    },
  });
  return [v10, v11] as const;
}

function evolving(driver: ResourceDriver): ResourceDriver & EvolutionDriver {
  if (!supportsEvolution(driver)) throw new Error('every adapter driver must support evolution');
  return driver;
}

/** A backend on a store, and the store's URL (to open it again, as other code). */
interface Opened {
  readonly backend: EvolvableBackend;
  readonly stores: Stores;
  readonly url: string;
}

/**
 * Opens a backend of `resource` on `url`, by default a brand-new store of `backend`;
 * closes every one after each test.
 */
function useFreshBackends(
  backend: StoreBackend,
): (resource: AnyResource, url?: string) => Promise<Opened> {
  const opened: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  return async (resource, url) => {
    url ??=
      backend === 'memory'
        ? `memory:${freshNamespace('driver_spi')}`
        : await freshStoreUrl(backend, 'driver_spi');
    const o = await openBackend(url, {
      resources: [resource],
      ...(ADAPTER_OPTIONS[backend] ? { adapter: ADAPTER_OPTIONS[backend] } : {}),
    });
    opened.push(o.stores);
    if (!isEvolvable(o.backend)) throw new Error(`${backend}: no backend with the evolution SPI`);
    return { backend: o.backend, stores: o.stores, url };
  };
}
