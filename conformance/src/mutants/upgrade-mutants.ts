import type { AnyResource } from '@polystore/core';
import {
  type Backend,
  createCheckedStores,
  deepFreeze,
  type EvolutionDriver,
  type ResourceDriver,
  type StoredRecord,
  type VersionPage,
} from '@polystore/core/adapter';
import { MemoryBackend, type MemoryTable, tableName } from '@polystore/memory/internal';
import type { OpenUpgradeFn } from '../conformance-options.js';
import { databaseOf, mutantEvolutionOpen, mutantOpen } from './memory-mutant.js';
import { IN_PROCESS, type Mutant } from './mutants.js';

type EvolvingDriver = ResourceDriver & EvolutionDriver;

/** Wraps the driver of a resource (once per open and resource), given the honest one and its table. */
export type UpgradeMutation = (
  inner: EvolvingDriver,
  resource: AnyResource,
  table: MemoryTable,
) => ResourceDriver;

/**
 * The `upgrade.open` of a memory backend whose drivers `mutation` wraps (none: the honest
 * memory adapter): every open of a namespace is another process of one shared database,
 * as with a server, and everything but the drivers is the memory backend's own.
 *
 * @example
 * ```ts
 * runConformance({ name: 'memory', open, faults, upgrade: { open: upgradeMutantOpen() } }, ['upgrade']);
 * ```
 */
export function upgradeMutantOpen(mutation?: UpgradeMutation): OpenUpgradeFn {
  return async (namespace, options) => {
    const db = databaseOf(`upgrade:${namespace}`);
    const memory = new MemoryBackend(db, { resources: options.resources });
    const drivers = new Map<AnyResource, ResourceDriver>();
    const driver = (resource: AnyResource): ResourceDriver => {
      let d = drivers.get(resource);
      if (!d) {
        const inner = memory.driver(resource) as EvolvingDriver;
        d = mutation ? mutation(inner, resource, db.table(tableName(resource))) : inner;
        drivers.set(resource, d);
      }
      return d;
    };
    // Every other member (expand, publish, write floors, ...) is the memory backend's.
    const backend = new Proxy(memory, {
      get(target, prop) {
        if (prop === 'driver') return driver;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      },
    }) as Backend;
    return { backend, stores: await createCheckedStores(backend, options) };
  };
}

/** A mutant whose only bug is in what a live upgrade uses: every other group sees the honest memory adapter. */
function upgradeMutant(name: string, bug: string, mutation: UpgradeMutation): Mutant {
  return {
    name,
    bug,
    caughtBy: 'upgrade',
    options: () => ({
      name,
      open: mutantOpen({}),
      faults: IN_PROCESS,
      evolution: { open: mutantEvolutionOpen({}) },
      upgrade: { open: upgradeMutantOpen(mutation) },
    }),
  };
}

const bind = (d: EvolvingDriver): EvolvingDriver => ({
  insert: d.insert.bind(d),
  get: d.get.bind(d),
  getMany: d.getMany.bind(d),
  list: d.list.bind(d),
  count: d.count.bind(d),
  update: d.update.bind(d),
  delete: d.delete.bind(d),
  purge: d.purge.bind(d),
  countByVersion: d.countByVersion.bind(d),
  scanVersion: d.scanVersion.bind(d),
  rewrite: d.rewrite.bind(d),
});

/** Only the widget resource is broken: the engine's own records stay honest. */
const onWidget =
  (mutation: UpgradeMutation): UpgradeMutation =>
  (inner, resource, table) =>
    resource.name === 'widget' ? mutation(inner, resource, table) : inner;

/**
 * The mutants only the upgrade group catches: every other group runs without the
 * live-upgrade engine, which is all that calls these driver methods this way.
 */
export const UPGRADE_MUTANTS: readonly Mutant[] = Object.freeze([
  upgradeMutant(
    'count-by-version-undercounts',
    'countByVersion reports one record fewer for the oldest version stored (when it has two or more)',
    onWidget((inner) => ({
      ...bind(inner),
      async countByVersion() {
        const counts = await inner.countByVersion();
        const oldest = Object.keys(counts).sort()[0];
        if (oldest !== undefined && counts[oldest]! > 1) counts[oldest] = counts[oldest]! - 1;
        return counts;
      },
    })),
  ),
  upgradeMutant(
    'rewrite-ignores-revision',
    'rewrite replaces the record whatever its revision, so a write made after the scan is lost',
    onWidget((inner, _resource, table) => ({
      ...bind(inner),
      async rewrite(record, expectedRevision) {
        const current = table.get(record.id);
        return inner.rewrite(record, current?.revision ?? expectedRevision);
      },
    })),
  ),
  upgradeMutant(
    'scan-skips-page-end',
    'scanVersion leaves the last record out of a full page, though `after` points past it',
    onWidget((inner) => ({
      ...bind(inner),
      async scanVersion(version, after, limit): Promise<VersionPage> {
        const page = await inner.scanVersion(version, after, limit);
        if (page.after === undefined || page.records.length < 2) return page;
        return { records: page.records.slice(0, -1), after: page.after };
      },
    })),
  ),
  upgradeMutant(
    'rewrite-keeps-revision',
    'rewrite stores the converted record at the revision it had, so a conversion is invisible to revision checks',
    onWidget((inner, _resource, table) => ({
      ...bind(inner),
      async rewrite(record, expectedRevision) {
        const out = await inner.rewrite(record, expectedRevision);
        if (out.status !== 'ok') return out;
        const kept = deepFreeze({ ...out.record, revision: expectedRevision }) as StoredRecord;
        table.set(kept.id, kept);
        return { status: 'ok', record: kept };
      },
    })),
  ),
]);
