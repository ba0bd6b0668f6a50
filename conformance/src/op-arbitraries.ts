import {
  type AnyResource,
  fixedIpResource,
  instanceResource,
  migrationResource,
  networkResource,
  serviceResource,
} from '@polystore/core';
import * as fc from 'fast-check';
import {
  arbitraryFor,
  createValuesArb,
  datetimeArb,
  idArb,
  idOf,
  patchArb,
} from './arbitrary-for-field.js';
import { CONTEXT_NAMES, CONTEXTS, type ContextName, PROJECT_IDS } from './contexts.js';
import type { Op, StoreName } from './op.js';

/** The resource behind each store of the bag. */
export const RESOURCE_OF: Readonly<Record<StoreName, AnyResource>> = {
  instances: instanceResource as unknown as AnyResource,
  networks: networkResource as unknown as AnyResource,
  fixedIps: fixedIpResource as unknown as AnyResource,
  migrations: migrationResource as unknown as AnyResource,
  services: serviceResource as unknown as AnyResource,
};

const EPOCH = Date.parse('2026-01-01T00:00:00.000Z');

/**
 * Named contexts, weighted towards the two projects and admin; about a third of the calls
 * read with `readDeleted` `yes` or `only`, and now and then a project whose id a naive
 * filter confuses with p1.
 */
export const anyContextArb: fc.Arbitrary<ContextName> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<ContextName>('p1', 'admin') },
  { weight: 2, arbitrary: fc.constant<ContextName>('p2') },
  {
    weight: 3,
    arbitrary: fc.constantFrom<ContextName>(
      'p1/yes',
      'p1/only',
      'admin/yes',
      'admin/only',
      'p2/yes',
      'p2/only',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<ContextName>('p10', 'P1', 'pq') },
  { weight: 1, arbitrary: fc.constantFrom(...CONTEXT_NAMES) },
);

/** Contexts for the global service resource: mostly admin, which alone may write it. */
const serviceContextArb: fc.Arbitrary<ContextName> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<ContextName>('admin') },
  { weight: 2, arbitrary: fc.constantFrom(...CONTEXT_NAMES) },
);

function scalarArb(resource: AnyResource, field: string): fc.Arbitrary<unknown> {
  if (field === 'projectId') return fc.constantFrom('p1', 'p2', 'p3', ...PROJECT_IDS);
  const q = resource.queryable[field]!;
  return arbitraryFor({ ...q.field, isNullable: false } as typeof q.field);
}

function conditionArb(resource: AnyResource, field: string): fc.Arbitrary<unknown> {
  const q = resource.queryable[field]!;
  const v = scalarArb(resource, field);
  const options: fc.Arbitrary<unknown>[] = [
    v,
    fc.record({ in: fc.array(fc.oneof(v, fc.constant(null)), { maxLength: 3 }) }),
  ];
  if (q.field.isNullable || field === 'projectId')
    options.push(
      fc.constant(null),
      fc.constant({ eq: null }),
      // `in` with null: SQL's `IN (NULL, ...)` never matches a null.
      fc.array(v, { maxLength: 2 }).map((vs) => ({ in: [...vs, null] })),
    );
  if (q.index === 'sort') {
    options.push(fc.record({ gt: v }), fc.record({ gte: v, lt: v }), fc.record({ lte: v }));
  }
  return fc.oneof(...options);
}

/** A `where` filter over at most two indexed fields, sometimes an invalid one. */
export function whereArb(resource: AnyResource): fc.Arbitrary<Record<string, unknown> | undefined> {
  const names = Object.keys(resource.queryable);
  const entry = fc.oneof(...names.map((n) => fc.tuple(fc.constant(n), conditionArb(resource, n))));
  const valid = fc
    .uniqueArray(entry, { selector: (t) => t[0], maxLength: 2 })
    .map((e) => Object.fromEntries(e));
  const unindexed = resource.fieldNames.find((n) => resource.fields[n]!.index === 'none');
  const eqOnly = names.find((n) => resource.queryable[n]!.index === 'eq' && n !== 'projectId');
  const invalid: Record<string, unknown>[] = [{ nope: 1 }, { id: { like: 'x' } }];
  if (unindexed) invalid.push({ [unindexed]: 'x' });
  if (eqOnly) invalid.push({ [eqOnly]: { gt: 'a' } });
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 6, arbitrary: valid },
    { weight: 1, arbitrary: fc.constantFrom(...invalid) },
  );
}

/** An `orderBy` over the sortable fields, or none. */
export function orderArb(resource: AnyResource): fc.Arbitrary<Record<string, unknown> | undefined> {
  const sortable = Object.keys(resource.queryable).filter(
    (n) => resource.queryable[n]!.index === 'sort',
  );
  return fc.oneof(
    fc.constant(undefined),
    fc.record({ field: fc.constantFrom(...sortable), direction: fc.constantFrom('asc', 'desc') }),
  );
}

/**
 * List options: where, order, a page size (sometimes the full 1000) and now and then an
 * `after` that is not a cursor, each sometimes left out. Real cursors are signed for their
 * store, so positions reached by paging are tested by `pages` commands and by the
 * invariants' walks with writes between pages.
 */
export function listOptionsArb(
  resource: AnyResource,
  pageLimit = 4,
): fc.Arbitrary<Record<string, unknown>> {
  // Built once per resource and limit: building one parses every field's pattern again.
  const key = `${resource.name} ${pageLimit}`;
  const cached = listOptionsCache.get(key);
  if (cached) return cached;
  const arb = fc
    .record({
      where: whereArb(resource),
      orderBy: orderArb(resource),
      limit: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 1, max: pageLimit }) },
        { weight: 1, arbitrary: fc.constantFrom(undefined, 0, 1000, 1001) },
      ),
      after: fc.oneof(
        { weight: 12, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom(null, 'not-a-cursor') },
      ),
    })
    .map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));
  listOptionsCache.set(key, arb);
  return arb;
}

const listOptionsCache = new Map<string, fc.Arbitrary<Record<string, unknown>>>();

/** `undefined` most of the time, a value once in `every` draws. */
function rarely<T>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | undefined> {
  return fc.oneof(
    { weight: every - 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: arb },
  );
}

function call(store: StoreName, method: string, ctx: ContextName, args: readonly unknown[]): Op {
  return { kind: 'call', store, method, ctx, args };
}

/** Hosts drawn like the host fields they are matched against, so they collide with stored ones. */
const hostArb = arbitraryFor({ ...migrationResource.fields.sourceCompute, isNullable: false });
const serviceHostArb = arbitraryFor(serviceResource.fields.host);
const binaryArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('nova-compute', 'nova-conductor') },
  { weight: 2, arbitrary: arbitraryFor(serviceResource.fields.binary) },
  { weight: 1, arbitrary: fc.constantFrom('Bad', '', 'nova-compute ') },
);

/**
 * Many ids for one `getMany` (up to the limit of 1000, now and then one over): distinct
 * ids that do not exist, with pool ids at both ends and repeated, so a batch that drops
 * its tail or a duplicate mishandled shows.
 */
const manyIdsArb: fc.Arbitrary<string[]> = fc
  .tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 20, max: 980 }) },
      { weight: 1, arbitrary: fc.constant(1001) },
    ),
    fc.array(idArb, { minLength: 1, maxLength: 6 }),
  )
  .map(([n, present]) => {
    const missing = Array.from({ length: Math.max(0, n - 2 * present.length) }, (_, i) =>
      idOf(0x100000 + i),
    );
    return [present[0]!, ...missing, ...present, ...present.slice(1)];
  });

const WEIGHTS: Readonly<Record<string, number>> = {
  create: 6,
  update: 4,
  delete: 3,
  count: 2,
  getMany: 2,
  getManyLarge: 1,
  get: 2,
  list: 2,
  pages: 2,
  allocate: 5,
  heartbeat: 3,
};

const weightedCache = new Map<StoreName, fc.WeightedArbitrary<Op>[]>();

/** The op arbitraries of one store, weighted so that records exist and get hit. */
export function weightedStoreOpArbs(store: StoreName): fc.WeightedArbitrary<Op>[] {
  const out = weightedCache.get(store) ?? buildWeighted(store);
  weightedCache.set(store, out);
  return out;
}

function buildWeighted(store: StoreName): fc.WeightedArbitrary<Op>[] {
  return storeOpArbs(store).map((arbitrary, i) => ({
    arbitrary,
    weight: WEIGHTS[OP_METHODS[i] ?? extraMethods(store)[i - OP_METHODS.length]!] ?? 1,
  }));
}

const OP_METHODS = [
  'create',
  'get',
  'getMany',
  'getManyLarge',
  'list',
  'pages',
  'count',
  'update',
  'delete',
  'purge',
];

function extraMethods(store: StoreName): string[] {
  if (store === 'fixedIps') return ['allocate', 'allocate', 'release', 'releaseAllForInstance'];
  if (store === 'migrations') return ['listInProgressByHost'];
  if (store === 'services') return ['heartbeat', 'minimumVersion'];
  return [];
}

/** The op arbitraries of one store: every method of its interface, coarse ones included. */
export function storeOpArbs(store: StoreName): fc.Arbitrary<Op>[] {
  const resource = RESOURCE_OF[store];
  const contextArb = store === 'services' ? serviceContextArb : anyContextArb;
  const valuesArb = fc.oneof(
    { weight: 8, arbitrary: createValuesArb(resource) },
    { weight: 1, arbitrary: createValuesArb(resource, { invalid: true }) },
  );
  // Admins must name the owning project (or null for shared records); others rarely try.
  const createArb = fc
    .tuple(
      contextArb,
      valuesArb,
      rarely(idArb, 8),
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom<string | null>('p1', 'p2', null) },
        { weight: 1, arbitrary: fc.constantFrom<string | null>(...PROJECT_IDS) },
      ),
      fc.integer({ min: 0, max: 9 }),
    )
    .map(([c, v, id, p, dice]) => {
      const admin = CONTEXTS[c].isAdmin;
      const withProject = resource.scope !== 'global' && (admin ? dice > 0 : dice === 0);
      const projectId = p === null && resource.scope !== 'shared' && dice < 9 ? 'p1' : p;
      return call(store, 'create', c, [
        { ...(id === undefined ? {} : { id }), ...(withProject ? { projectId } : {}), ...v },
      ]);
    });
  const updateOptions = rarely(
    fc.record(
      {
        expectedRevision: fc.integer({ min: 1, max: 4 }),
        expected: fc
          .uniqueArray(
            fc.oneof(
              ...resource.fieldNames
                .filter((n) =>
                  ['uuid', 'string', 'int', 'bool', 'enum'].includes(resource.fields[n]!.kind),
                )
                .map((n) =>
                  fc.tuple(
                    fc.constant(n),
                    // The default (what a fresh record holds) often, so a condition holds
                    // and the next named field decides.
                    fc.array(
                      fc.oneof(
                        arbitraryFor(resource.fields[n]!),
                        fc.constant(resource.fields[n]!.defaultValue ?? null),
                      ),
                      { minLength: 1, maxLength: 3 },
                    ),
                  ),
                ),
            ),
            { selector: (t) => t[0], minLength: 1, maxLength: 3 },
          )
          .map((e) => Object.fromEntries(e)),
      },
      { requiredKeys: [] },
    ),
    2,
  );
  const deletedBefore = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .integer({ min: -1000, max: 10_000_000 })
        .map((ms) => new Date(EPOCH + ms).toISOString()),
    },
    { weight: 1, arbitrary: datetimeArb },
  );
  const arbs: fc.Arbitrary<Op>[] = [
    createArb,
    fc.tuple(contextArb, idArb).map(([c, id]) => call(store, 'get', c, [id])),
    fc
      .tuple(contextArb, fc.array(idArb, { maxLength: 4 }), fc.boolean())
      .map(([c, ids, repeat]) =>
        call(store, 'getMany', c, [repeat && ids.length > 0 ? [...ids, ids[0]] : ids]),
      ),
    fc.tuple(contextArb, manyIdsArb).map(([c, ids]) => call(store, 'getMany', c, [ids])),
    fc.tuple(contextArb, listOptionsArb(resource, 60)).map(([c, o]) => call(store, 'list', c, [o])),
    fc
      .tuple(contextArb, listOptionsArb(resource))
      .map(([c, o]): Op => ({ kind: 'pages', store, ctx: c, options: o })),
    fc
      .tuple(contextArb, whereArb(resource))
      .map(([c, w]) => call(store, 'count', c, w === undefined ? [] : [w])),
    fc
      .tuple(
        contextArb,
        idArb,
        fc.oneof(
          { weight: 8, arbitrary: patchArb(resource) },
          { weight: 1, arbitrary: patchArb(resource, { invalid: true }) },
        ),
        updateOptions,
      )
      .map(([c, id, p, o]) => call(store, 'update', c, o === undefined ? [id, p] : [id, p, o])),
    fc
      .tuple(contextArb, idArb, rarely(fc.integer({ min: 1, max: 4 }), 3))
      .map(([c, id, r]) =>
        call(store, 'delete', c, r === undefined ? [id] : [id, { expectedRevision: r }]),
      ),
    fc
      .tuple(contextArb, deletedBefore)
      .map(([c, d]) => call(store, 'purge', c, [{ deletedBefore: d }])),
  ];
  if (store === 'fixedIps') {
    const request = fc.record(
      {
        networkId: idArb,
        instanceId: fc.option(idArb, { nil: null }),
        address: arbitraryFor(fixedIpResource.fields.address),
        projectId: fc.constantFrom('p1', 'p2'),
      },
      { requiredKeys: ['networkId', 'instanceId'] },
    );
    arbs.push(
      fc.tuple(contextArb, request).map(([c, r]) => {
        const { projectId, ...rest } = r;
        return call(store, 'allocate', c, [
          CONTEXTS[c].isAdmin ? { ...rest, projectId: projectId ?? 'p1' } : r,
        ]);
      }),
      fc
        .tuple(contextArb, request)
        .map(([c, r]) =>
          call(store, 'allocate', c, [{ networkId: r.networkId, instanceId: r.instanceId }]),
        ),
      fc.tuple(contextArb, idArb).map(([c, id]) => call(store, 'release', c, [id])),
      fc.tuple(contextArb, idArb).map(([c, id]) => call(store, 'releaseAllForInstance', c, [id])),
    );
  }
  if (store === 'migrations') {
    arbs.push(
      fc.tuple(contextArb, hostArb).map(([c, h]) => call(store, 'listInProgressByHost', c, [h])),
    );
  }
  if (store === 'services') {
    arbs.push(
      fc
        .tuple(
          contextArb,
          serviceHostArb,
          binaryArb,
          fc.oneof(
            { weight: 4, arbitrary: fc.integer({ min: -1, max: 5 }) },
            { weight: 1, arbitrary: arbitraryFor(serviceResource.fields.codeVersion) },
          ),
        )
        .map(([c, host, binary, codeVersion]) =>
          call(store, 'heartbeat', c, [{ host, binary, codeVersion }]),
        ),
      fc.tuple(contextArb, binaryArb).map(([c, b]) => call(store, 'minimumVersion', c, [b])),
    );
  }
  return arbs;
}

/** A create, update or delete of one store: the writes the invariants make between two pages. */
export function writeOpArb(store: StoreName): fc.Arbitrary<Op> {
  const arbs = storeOpArbs(store);
  return fc.oneof(...['create', 'update', 'delete'].map((m) => arbs[OP_METHODS.indexOf(m)]!));
}

/** A clock tick between commands. */
export const tickArb: fc.Arbitrary<Op> = fc
  .integer({ min: 1, max: 5_000_000 })
  .map((ms): Op => ({ kind: 'tick', ms }));

/** Store groups a run focuses on, so that records exist and commands hit them. */
export const FOCUS: readonly (readonly StoreName[])[] = [
  ['instances'],
  ['networks', 'fixedIps'],
  ['networks', 'fixedIps', 'instances'],
  ['migrations', 'instances'],
  ['services'],
  ['instances', 'networks', 'fixedIps', 'migrations', 'services'],
];
