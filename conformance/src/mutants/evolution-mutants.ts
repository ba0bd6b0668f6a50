import { type AnyResource, DuplicateError, UniqueViolationError } from '@polystore/core';
import {
  type Backend,
  compareCodePoints,
  createStores,
  deepFreeze,
  type EvolutionBackend,
  type EvolutionDriver,
  type ResourceDriver,
  type SchemaElements,
  type StoredRecord,
  uniqueKey,
  type VersionPage,
} from '@polystore/core/adapter';
import {
  MEMORY_CAPABILITIES,
  MemoryBackend,
  type MemoryDatabase,
  type MemoryTable,
  tableName,
} from '@polystore/memory/internal';
import type { OpenEvolutionFn } from '../conformance-options.js';
import { databaseOf, mutantOpen } from './memory-mutant.js';
import { IN_PROCESS, type Mutant } from './mutants.js';

type EvolvingDriver = ResourceDriver & EvolutionDriver;

/** What an evolution mutation may replace, over the memory backend of one client. */
export interface EvolutionMutation {
  /** Replaces some of the backend's evolution methods (given the honest backend and the shared database). */
  readonly backend?: (inner: MemoryBackend, db: MemoryDatabase) => Partial<EvolutionBackend>;
  /** Wraps the driver of a resource (once per client and resource). */
  readonly driver?: (
    inner: EvolvingDriver,
    resource: AnyResource,
    table: MemoryTable,
  ) => ResourceDriver;
}

/** The table of a resource in a memory database. */
function tableOf(db: MemoryDatabase, resource: AnyResource): MemoryTable {
  return db.table(tableName(resource));
}

/**
 * The `evolution.open` of a memory backend with a deliberate evolution bug: every open of
 * a namespace is another client of one shared database, as with a server.
 */
export function evolutionMutantOpen(mutation: EvolutionMutation): OpenEvolutionFn {
  return async (namespace, { clock, ids }, resources) => {
    const db = databaseOf(`evolution:${namespace}`);
    const memory = new MemoryBackend(db, { resources });
    const drivers = new Map<AnyResource, ResourceDriver>();
    const backend: Backend = {
      name: 'memory-mutant',
      capabilities: MEMORY_CAPABILITIES,
      driver: (resource) => {
        let d = drivers.get(resource);
        if (!d) {
          const inner = memory.driver(resource) as EvolvingDriver;
          d = mutation.driver ? mutation.driver(inner, resource, tableOf(db, resource)) : inner;
          drivers.set(resource, d);
        }
        return d;
      },
      allocator: memory.allocator,
      close: () => memory.close(),
      expand: (resource, elements) => memory.expand(resource, elements),
      contract: (resource, elements) => memory.contract(resource, elements),
      appliedElements: (resource) => memory.appliedElements(resource),
      publish: (resource, fields) => memory.publish(resource, fields),
      ...mutation.backend?.(memory, db),
    };
    return { stores: createStores(backend, { clock, ids, resources }), backend };
  };
}

/** A mutant whose only bug is in schema evolution: every other group sees the honest memory adapter. */
function evolutionMutant(name: string, bug: string, mutation: EvolutionMutation): Mutant {
  return {
    name,
    bug,
    caughtBy: 'evolution',
    options: () => ({
      name,
      open: mutantOpen({}),
      faults: IN_PROCESS,
      evolution: { open: evolutionMutantOpen(mutation) },
    }),
  };
}

const withoutUniques = (e: SchemaElements): SchemaElements => ({ ...e, uniques: [] });

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

/** Whether a duplicate is over a unique constraint `resource`'s own definition does not declare. */
function foreignUnique(err: unknown, resource: AnyResource): boolean {
  return (
    err instanceof DuplicateError &&
    !err.fields.includes('id') &&
    !resource.unique.some((u) => uniqueKey(u) === uniqueKey(err.fields))
  );
}

/**
 * The mutants only the evolution group catches: every other group runs one definition
 * per resource and never calls `expand`, `contract` or the runner's driver methods.
 */
export const EVOLUTION_MUTANTS: readonly Mutant[] = Object.freeze([
  evolutionMutant(
    'expand-skips-unique-check',
    'expand adds a unique constraint without checking live records, so existing duplicates stay',
    {
      backend: (inner, db) => ({
        async expand(resource, elements) {
          await inner.expand(resource, withoutUniques(elements));
          // Applied as if the data satisfied it: entries for every record, no clash check.
          const t = tableOf(db, resource);
          db.schema(tableName(resource), elements).add(
            { fields: [], indexes: [], uniques: elements.uniques },
            t.values(),
          );
        },
      }),
    },
  ),
  evolutionMutant(
    'expand-half-applied',
    'a refused expand keeps the fields and indexes it added before meeting the unique clash',
    {
      backend: (inner) => ({
        async expand(resource, elements) {
          await inner.expand(resource, withoutUniques(elements));
          await inner.expand(resource, elements);
        },
      }),
    },
  ),
  evolutionMutant(
    'unique-violation-names-one-id',
    'UniqueViolationError names only the first clashing record, not every one',
    {
      backend: (inner) => ({
        async expand(resource, elements) {
          try {
            await inner.expand(resource, elements);
          } catch (err) {
            if (!(err instanceof UniqueViolationError)) throw err;
            throw new UniqueViolationError(resource.name, err.fields, err.ids.slice(0, 1));
          }
        },
      }),
    },
  ),
  evolutionMutant(
    'unique-only-for-new-definition',
    'a unique constraint added by expand is enforced only for clients whose definition declares it; older clients write duplicates',
    {
      driver: (inner, resource, table) => ({
        ...bind(inner),
        async insert(record) {
          try {
            return await inner.insert(record);
          } catch (err) {
            if (!foreignUnique(err, resource)) throw err;
            const stored = deepFreeze(structuredClone(record));
            table.set(stored.id, stored);
            return stored;
          }
        },
        async update(scope, id, change) {
          try {
            return await inner.update(scope, id, change);
          } catch (err) {
            if (!foreignUnique(err, resource)) throw err;
            // The conditions held (memory checks them first): write as if the clash did not exist.
            const current = table.get(id)!;
            const next = deepFreeze({
              ...current,
              ...structuredClone(change.set),
              revision: current.revision + 1,
              updatedAt: change.updatedAt,
              objectVersion: change.objectVersion,
            }) as StoredRecord;
            table.set(id, next);
            return { status: 'ok', record: next };
          }
        },
      }),
    },
  ),
  evolutionMutant(
    'rewrite-keeps-old-version-entry',
    'rewrite leaves the record in its old version set too (countByVersion and scanVersion still find it there)',
    {
      driver: (inner, _resource, table) => {
        const ghosts = new Map<string, StoredRecord>();
        return {
          ...bind(inner),
          async rewrite(record, expectedRevision) {
            const before = table.get(record.id);
            const out = await inner.rewrite(record, expectedRevision);
            if (out.status === 'ok' && before && before.objectVersion !== record.objectVersion)
              ghosts.set(record.id, before);
            return out;
          },
          async countByVersion() {
            const counts = await inner.countByVersion();
            for (const g of ghosts.values())
              counts[g.objectVersion] = (counts[g.objectVersion] ?? 0) + 1;
            return counts;
          },
          async scanVersion(version, after, limit): Promise<VersionPage> {
            const page = await inner.scanVersion(version, after, limit);
            const extra = [...ghosts.values()].filter(
              (g) =>
                g.objectVersion === version &&
                (after === undefined || compareCodePoints(g.id, after) > 0),
            );
            const records = [...page.records, ...extra]
              .sort((a, b) => compareCodePoints(a.id, b.id))
              .slice(0, limit);
            return { records, after: records.length === limit ? records.at(-1)!.id : undefined };
          },
        };
      },
    },
  ),
  evolutionMutant(
    'update-drops-unknown-fields',
    "an older client's update writes back only the fields its definition knows, losing what newer code stored",
    {
      driver: (inner, resource, table) => ({
        ...bind(inner),
        async update(scope, id, change) {
          const out = await inner.update(scope, id, change);
          if (out.status !== 'ok') return out;
          const known = new Set([
            'id',
            'projectId',
            'revision',
            'createdAt',
            'updatedAt',
            'deletedAt',
            'objectVersion',
            ...resource.fieldNames,
          ]);
          const kept = deepFreeze(
            Object.fromEntries(Object.entries(out.record).filter(([k]) => known.has(k))),
          ) as StoredRecord;
          table.set(id, kept);
          return { status: 'ok', record: kept };
        },
      }),
    },
  ),
]);
