import { DuplicateError, ExhaustedError, NotFoundError, NotSupportedError } from '@polystore/core';
import {
  allocatedRecord,
  inReadScope,
  lowestFreeAddress,
  type ResourceDriver,
  recordComparator,
  type StoredRecord,
  sameValue,
  supportsEvolution,
} from '@polystore/core/adapter';
import type { ConformanceOptions } from '../conformance-options.js';
import type { GroupName } from '../group.js';
import {
  mutantEvolutionOpen,
  mutantOpen,
  patchStore,
  replaceStore,
  withFeatures,
} from './memory-mutant.js';

/** A deliberately broken adapter and the group that must catch it. */
export interface Mutant {
  /** Short name, e.g. `ignores-expected-revision`. */
  readonly name: string;
  /** What is broken. */
  readonly bug: string;
  /** The group that must fail on it (others may fail too). */
  readonly caughtBy: GroupName | 'coverage' | 'manifest';
  /** Suite options that open it. */
  readonly options: () => ConformanceOptions;
}

/** The fault option of every in-process mutant. */
export const IN_PROCESS = { inProcess: 'memory mutant: no network' } as const;

/** A memory mutant: the memory backend with `mutation` applied, caught by `caughtBy`. */
export function mutant(
  name: string,
  caughtBy: Mutant['caughtBy'],
  bug: string,
  mutation: Parameters<typeof mutantOpen>[0],
): Mutant {
  return {
    name,
    bug,
    caughtBy,
    options: () => ({
      name,
      open: mutantOpen(mutation),
      faults: IN_PROCESS,
      evolution: { open: mutantEvolutionOpen(mutation) },
    }),
  };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function liveWith(
  table: Map<string, StoredRecord>,
  fields: readonly string[],
  candidate: StoredRecord,
): boolean {
  return [...table.values()].some(
    (r) =>
      r.id !== candidate.id &&
      r.deletedAt === null &&
      fields.every((f) => candidate[f] !== null && sameValue(r[f], candidate[f])),
  );
}

/** The mutants the suite's own tests run; the CLI may reuse them to demonstrate the suite. */
export const MUTANTS: readonly Mutant[] = Object.freeze([
  mutant(
    'ignores-expected-revision',
    'behaviour',
    'update ignores expectedRevision (lost update)',
    {
      driver: (inner) => ({
        ...bind(inner),
        update: (scope, id, change) =>
          inner.update(scope, id, { ...change, expectedRevision: undefined }),
      }),
    },
  ),
  mutant('ignores-expected-values', 'behaviour', 'update ignores the expected field values', {
    driver: (inner) => ({
      ...bind(inner),
      update: (scope, id, change) => inner.update(scope, id, { ...change, expected: undefined }),
    }),
  }),
  mutant('off-by-one-paging', 'invariants', 'the row right after a cursor is skipped', {
    driver: (inner) => ({
      ...bind(inner),
      list: async (scope, q) => {
        const rows = await inner.list(scope, q);
        return q.after === null ? rows : rows.slice(1);
      },
    }),
  }),
  mutant('list-without-project-filter', 'isolation', 'list ignores the project of the context', {
    driver: (inner) => ({
      ...bind(inner),
      list: (scope, q) => inner.list({ ...scope, projectId: null }, q),
    }),
  }),
  mutant('count-ignores-read-deleted', 'behaviour', 'count always includes soft-deleted records', {
    driver: (inner) => ({
      ...bind(inner),
      count: (scope, where) => inner.count({ ...scope, deleted: 'yes' }, where),
    }),
  }),
  mutant(
    'locale-collated-sorting',
    'invariants',
    'strings sorted with localeCompare instead of by code point',
    {
      driver: (inner) => ({
        ...bind(inner),
        list: async (scope, q) => {
          const all = await inner.list(scope, { ...q, after: null, limit: 100_000 });
          const field = q.orderBy.field;
          const sign = q.orderBy.direction === 'asc' ? 1 : -1;
          const cmp = (a: StoredRecord, b: StoredRecord) => {
            const x = a[field];
            const y = b[field];
            const c =
              typeof x === 'string' && typeof y === 'string'
                ? x.localeCompare(y)
                : recordComparator(q.orderBy)(a, b) * sign;
            return sign * c || sign * (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
          };
          all.sort(cmp);
          const start = q.after === null ? 0 : all.findIndex((r) => r.id === q.after!.id) + 1;
          return all.slice(start, start + q.limit);
        },
      }),
    },
  ),
  mutant('revision-plus-two', 'behaviour', 'update raises the revision by two', {
    driver: (inner, resource, tables) => ({
      ...bind(inner),
      update: async (scope, id, change) => {
        const out = await inner.update(scope, id, change);
        if (out.status !== 'ok') return out;
        const record = Object.freeze({ ...out.record, revision: out.record.revision + 1 });
        tables(resource.name).set(id, record);
        return { status: 'ok', record };
      },
    }),
  }),
  mutant(
    'delete-hard-deletes',
    'isolation',
    'delete removes soft-delete records instead of marking them',
    {
      driver: (inner) => ({
        ...bind(inner),
        delete: (scope, id, change) => inner.delete(scope, id, { ...change, soft: false }),
      }),
    },
  ),
  mutant('leaks-driver-error', 'behaviour', 'a unique violation escapes as a plain Error', {
    driver: (inner) => ({
      ...bind(inner),
      insert: async (record) => {
        try {
          return await inner.insert(record);
        } catch (err) {
          if (err instanceof DuplicateError)
            throw new Error('duplicate key value violates unique constraint');
          throw err;
        }
      },
    }),
  }),
  {
    name: 'mutable-records',
    bug: 'get returns a fresh, unfrozen copy of the record',
    caughtBy: 'behaviour',
    options: () => ({
      name: 'mutable-records',
      faults: IN_PROCESS,
      evolution: { open: mutantEvolutionOpen({}) },
      open: mutantOpen({
        stores: (s) =>
          patchStore(s, 'instances', async (method, call, args) => {
            const out = await call(...args);
            return method === 'get' ? structuredClone(out) : out;
          }),
      }),
    }),
  },
  {
    name: 'get-many-duplicates',
    bug: 'getMany returns a record once per occurrence of its id',
    caughtBy: 'behaviour',
    options: () => ({
      name: 'get-many-duplicates',
      faults: IN_PROCESS,
      evolution: { open: mutantEvolutionOpen({}) },
      open: mutantOpen({
        stores: (s) =>
          patchStore(s, 'instances', async (method, call, args) => {
            if (method !== 'getMany' || !Array.isArray(args[1])) return call(...args);
            const found = (await call(...args)) as { id: string }[];
            return (args[1] as string[]).flatMap((id) => found.filter((r) => r.id === id));
          }),
      }),
    }),
  },
  mutant('allocate-returns-gateway', 'behaviour', 'the lowest free address ignores the gateway', {
    allocator: (inner, tables) => ({
      releaseAllForInstance: (scope, instanceId, at) =>
        inner.releaseAllForInstance(scope, instanceId, at),
      allocate: async (scope, input) => {
        if (input.address !== undefined) return inner.allocate(scope, input);
        const net = tables('network').get(input.networkId);
        if (!net || !inReadScope(net, scope)) throw new NotFoundError('network', input.networkId);
        const ips = tables('fixedIp');
        const taken = new Set(
          [...ips.values()]
            .filter((r) => r.networkId === net.id && r.deletedAt === null)
            .map((r) => r.address as string),
        );
        const address = lowestFreeAddress(net.cidr as string, null, taken);
        if (address === undefined) throw new ExhaustedError('full');
        const record: StoredRecord = Object.freeze(allocatedRecord(input, address));
        ips.set(record.id, record);
        return record;
      },
    }),
  }),
  mutant(
    'racy-unique-check',
    'concurrency',
    'insert checks unique keys, yields, then writes without re-checking',
    {
      driver: (inner, resource, tables) => ({
        ...bind(inner),
        insert: async (record) => {
          const table = tables(resource.name);
          if (table.has(record.id)) throw new DuplicateError(resource.name, ['id']);
          for (const fields of resource.unique)
            if (liveWith(table, fields, record)) throw new DuplicateError(resource.name, fields);
          await tick();
          const stored = Object.freeze(structuredClone(record));
          table.set(record.id, stored);
          return stored;
        },
      }),
    },
  ),
  mutant(
    'non-atomic-allocation',
    'concurrency',
    'allocation reads the free addresses, yields, then writes',
    {
      allocator: (inner, tables) => ({
        releaseAllForInstance: (scope, instanceId, at) =>
          inner.releaseAllForInstance(scope, instanceId, at),
        allocate: async (scope, input) => {
          const net = tables('network').get(input.networkId);
          if (!net || !inReadScope(net, scope)) throw new NotFoundError('network', input.networkId);
          const ips = tables('fixedIp');
          const taken = new Set(
            [...ips.values()]
              .filter((r) => r.networkId === net.id && r.deletedAt === null)
              .map((r) => r.address as string),
          );
          if (input.address !== undefined) return inner.allocate(scope, input);
          const address = lowestFreeAddress(
            net.cidr as string,
            net.gateway as string | null,
            taken,
          );
          if (address === undefined) throw new ExhaustedError('full');
          await tick();
          const record: StoredRecord = Object.freeze(allocatedRecord(input, address));
          ips.set(record.id, record);
          return record;
        },
      }),
    },
  ),
  mutant(
    'silent-empty-range',
    'behaviour',
    "declares 'query.range' off but answers range queries with nothing",
    {
      capabilities: withFeatures({ 'query.range': false }),
      driver: (inner) => ({
        ...bind(inner),
        list: async (scope, q) =>
          q.where.some((p) => ['gt', 'gte', 'lt', 'lte'].includes(p.op))
            ? []
            : inner.list(scope, q),
        count: async (scope, w) =>
          w.some((p) => ['gt', 'gte', 'lt', 'lte'].includes(p.op)) ? 0 : inner.count(scope, w),
      }),
    },
  ),
  mutant(
    'declared-off-but-works',
    'behaviour',
    "declares 'purge' off but purges anyway (unexpected success)",
    {
      capabilities: withFeatures({ purge: false }),
    },
  ),
  mutant(
    'unknown-feature',
    'coverage',
    'declares a feature the suite cannot test (counts as skipped)',
    {
      capabilities: withFeatures({ 'query.fulltext': false }),
    },
  ),
  {
    name: 'manifest-changes',
    bug: 'every open reports a different maxRecordBytes',
    caughtBy: 'behaviour',
    options: () => {
      let n = 0;
      return {
        name: 'manifest-changes',
        faults: IN_PROCESS,
        evolution: { open: mutantEvolutionOpen({}) },
        open: (ns, deps) =>
          mutantOpen({ capabilities: (m) => ({ ...m, maxRecordBytes: m.maxRecordBytes - n++ }) })(
            ns,
            deps,
          ),
      };
    },
  },
  shapeMutant('missing-method', 'instances.purge is missing', (m) => {
    const { purge: _, ...rest } = m;
    return rest;
  }),
  shapeMutant('wrong-arity', 'instances.update takes 3 parameters', (m) => ({
    ...m,
    update: (ctx: unknown, id: unknown, patch: unknown) => m.update!(ctx, id, patch),
  })),
  shapeMutant('synchronous-return', 'instances.count returns a number, not a promise', (m) => ({
    ...m,
    count: (_ctx: unknown, _where: unknown) => 0,
  })),
  shapeMutant('undeclared-extra-method', 'instances has a public truncate method', (m) => ({
    ...m,
    truncate: async (_ctx: unknown) => 0,
  })),
]);

function shapeMutant(
  name: string,
  bug: string,
  build: (m: Record<string, (...a: unknown[]) => unknown>) => object,
): Mutant {
  return {
    name,
    bug,
    caughtBy: 'shape',
    options: () => ({
      name,
      faults: IN_PROCESS,
      evolution: { open: mutantEvolutionOpen({}) },
      open: mutantOpen({ stores: (s) => replaceStore(s, 'instances', build) }),
    }),
  };
}

/** A driver's methods bound to it, to spread into a wrapper. */
export function bind(d: ResourceDriver): ResourceDriver {
  return {
    insert: (r) => d.insert(r),
    get: (s, id) => d.get(s, id),
    getMany: (s, ids) => d.getMany(s, ids),
    list: (s, q) => d.list(s, q),
    count: (s, w) => d.count(s, w),
    update: (s, id, c) => d.update(s, id, c),
    delete: (s, id, c) => d.delete(s, id, c),
    purge: (b) => d.purge(b),
    // The evolution SPI passes through, so the evolution group sees the same driver.
    ...(supportsEvolution(d)
      ? {
          countByVersion: () => d.countByVersion(),
          scanVersion: (version: string, after: string | undefined, limit: number) =>
            d.scanVersion(version, after, limit),
          rewrite: (record: StoredRecord, expectedRevision: number) =>
            d.rewrite(record, expectedRevision),
        }
      : {}),
  };
}

/** An honest adapter with features declared off and refused: must pass. */
export const HONEST_LIMITED: Mutant = mutant(
  'honest-limited',
  'shape',
  "declares 'query.range' and 'update.expected' off and refuses them with NotSupportedError (not a bug: must pass)",
  {
    capabilities: withFeatures({ 'query.range': false, 'update.expected': false }),
    driver: (inner) => ({
      ...bind(inner),
      list: async (scope, q) => {
        if (q.where.some((p) => ['gt', 'gte', 'lt', 'lte'].includes(p.op)))
          throw new NotSupportedError('query.range');
        return inner.list(scope, q);
      },
      count: async (scope, w) => {
        if (w.some((p) => ['gt', 'gte', 'lt', 'lte'].includes(p.op)))
          throw new NotSupportedError('query.range');
        return inner.count(scope, w);
      },
      update: async (scope, id, change) => {
        // Core adds its own `objectVersion` condition to every update: that one is not the feature.
        if (Object.keys(change.expected ?? {}).some((f) => f !== 'objectVersion'))
          throw new NotSupportedError('update.expected');
        return inner.update(scope, id, change);
      },
    }),
  },
);
