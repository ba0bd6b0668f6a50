import { idOf } from './arbitrary-for-field.js';
import type { ContextName } from './contexts.js';
import type { CallOp, Op, StoreName } from './op.js';

function call(store: StoreName, method: string, ctx: ContextName, ...args: unknown[]): CallOp {
  return { kind: 'call', store, method, ctx, args };
}

const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const ALL: ContextName[] = [
  'p1',
  'p2',
  'p1/yes',
  'p1/only',
  'admin',
  'admin/yes',
  'admin/only',
  'p2/yes',
  'p2/only',
];

/**
 * Fixed command sequences run before the random ones, like Hypothesis's `@example`: the
 * cases a random search reaches only rarely (a gateway at the lowest address, repeated
 * ids, every readDeleted mode after a delete, code-point order of tricky strings).
 * Ids are those `sequentialIds()` hands out, in order.
 */
export const BEHAVIOUR_EXAMPLES: readonly (readonly Op[])[] = [
  // Every method of every store at least once, so a run at any budget (even `--runs 1`)
  // covers them all; the random search cannot promise that on its own.
  [
    call('networks', 'create', 'admin', {
      projectId: 'p1',
      label: 'n',
      cidr: '10.9.0.0/29',
      gateway: '10.9.0.1',
    }),
    call('instances', 'create', 'p1', { displayName: 'v', flavor: FLAVOR }),
    call('fixedIps', 'allocate', 'p1', { networkId: idOf(1), instanceId: idOf(2) }),
    call('fixedIps', 'create', 'admin', {
      projectId: 'p1',
      networkId: idOf(1),
      address: '10.9.0.5',
      instanceId: null,
    }),
    call('migrations', 'create', 'p1', { instanceId: idOf(2), sourceCompute: 'h' }),
    call('services', 'heartbeat', 'admin', { host: 'h', binary: 'nova-compute', codeVersion: 1 }),
    call('services', 'create', 'admin', {
      host: 'h2',
      binary: 'nova-compute',
      codeVersion: 2,
      lastSeenAt: '2026-01-01T00:00:00.000Z',
    }),
    call('services', 'minimumVersion', 'p1', 'nova-compute'),
    call('migrations', 'listInProgressByHost', 'p1', 'h'),
    ...(['networks', 'instances', 'fixedIps', 'migrations', 'services'] as const).flatMap(
      (store, i) => {
        const id = idOf([1, 2, 3, 5, 6][i]!);
        const ctx: ContextName = store === 'services' ? 'admin' : 'p1';
        const patch = {
          networks: { label: 'm' },
          instances: { displayName: 'w' },
          fixedIps: { instanceId: null },
          migrations: { progress: 5 },
          services: { disabled: true },
        }[store];
        return [
          call(store, 'get', ctx, id),
          call(store, 'getMany', ctx, [id, idOf(99)]),
          call(store, 'list', ctx, {}),
          call(store, 'count', ctx, {}),
          call(store, 'update', store === 'networks' ? 'admin' : ctx, id, patch),
        ];
      },
    ),
    call('fixedIps', 'release', 'p1', idOf(4)),
    call('fixedIps', 'releaseAllForInstance', 'p1', idOf(2)),
    ...(['migrations', 'services', 'instances', 'networks', 'fixedIps'] as const).flatMap(
      (store) => {
        const id = idOf(
          { networks: 1, instances: 2, fixedIps: 3, migrations: 5, services: 6 }[store],
        );
        const ctx: ContextName = store === 'services' || store === 'networks' ? 'admin' : 'p1';
        return [
          call(store, 'delete', ctx, id),
          call(store, 'purge', 'admin', { deletedBefore: '9999-01-01T00:00:00.000Z' }),
        ];
      },
    ),
  ],
  // Allocation around the gateway, exhaustion, release and reuse.
  [
    call('networks', 'create', 'admin', {
      projectId: 'p1',
      label: 'n',
      cidr: '10.0.0.0/29',
      gateway: '10.0.0.1',
    }),
    call('fixedIps', 'allocate', 'p1', { networkId: idOf(1), instanceId: null }),
    call('fixedIps', 'allocate', 'p1', { networkId: idOf(1), instanceId: idOf(9) }),
    call('fixedIps', 'allocate', 'p1', {
      networkId: idOf(1),
      instanceId: null,
      address: '10.0.0.1',
    }),
    call('fixedIps', 'allocate', 'p1', {
      networkId: idOf(1),
      instanceId: null,
      address: '10.0.0.2',
    }),
    call('fixedIps', 'allocate', 'p1', {
      networkId: idOf(1),
      instanceId: null,
      address: '10.0.0.7',
    }),
    call('fixedIps', 'allocate', 'p1', {
      networkId: idOf(1),
      instanceId: null,
      address: '10.0.0.6',
    }),
    call('fixedIps', 'allocate', 'p1', { networkId: idOf(1), instanceId: null }),
    call('fixedIps', 'allocate', 'p1', { networkId: idOf(1), instanceId: null }),
    call('fixedIps', 'allocate', 'p1', { networkId: idOf(1), instanceId: null }),
    call('fixedIps', 'release', 'p1', idOf(2)),
    call('fixedIps', 'allocate', 'p1', { networkId: idOf(1), instanceId: null }),
    call('fixedIps', 'releaseAllForInstance', 'p1', idOf(9)),
    call('fixedIps', 'list', 'p1', { orderBy: { field: 'id' } }),
    call('fixedIps', 'count', 'p1', { networkId: idOf(1) }),
  ],
  // getMany: order of ids, repeats, missing and invisible ones.
  [
    call('instances', 'create', 'p1', { displayName: 'a', flavor: FLAVOR }),
    call('instances', 'create', 'p2', { displayName: 'b', flavor: FLAVOR }),
    call('instances', 'create', 'p1', { displayName: 'c', flavor: FLAVOR }),
    ...ALL.map((c) =>
      call('instances', 'getMany', c, [idOf(3), idOf(1), idOf(1), idOf(2), idOf(7), idOf(3)]),
    ),
    call('instances', 'getMany', 'p1', []),
  ],
  // Soft delete under every readDeleted mode, then purge.
  [
    call('instances', 'create', 'p1', { displayName: 'x', flavor: FLAVOR }),
    call('instances', 'create', 'p1', { displayName: 'y', flavor: FLAVOR }),
    call('instances', 'delete', 'p1', idOf(1)),
    ...ALL.flatMap((c) => [
      call('instances', 'count', c),
      call('instances', 'count', c, { displayName: 'x' }),
      call('instances', 'list', c, {}),
      call('instances', 'get', c, idOf(1)),
      call('instances', 'get', c, idOf(2)),
      call('instances', 'getMany', c, [idOf(2), idOf(1)]),
    ]),
    call('instances', 'update', 'p1', idOf(1), { displayName: 'z' }),
    call('instances', 'delete', 'p1', idOf(1)),
    { kind: 'tick', ms: 1000 },
    call('instances', 'purge', 'admin', { deletedBefore: '2026-01-01T00:00:00.000Z' }),
    call('instances', 'purge', 'admin', { deletedBefore: '2026-01-01T00:00:00.001Z' }),
    call('instances', 'count', 'admin/yes'),
  ],
  // Conditional updates: revision and expected values, and their conflicts.
  [
    call('instances', 'create', 'p1', { flavor: FLAVOR }),
    call('instances', 'update', 'p1', idOf(1), { displayName: 'one' }, { expectedRevision: 1 }),
    call('instances', 'update', 'p1', idOf(1), { displayName: 'two' }, { expectedRevision: 1 }),
    call(
      'instances',
      'update',
      'p1',
      idOf(1),
      { taskState: 'spawning' },
      { expected: { taskState: [null] } },
    ),
    call(
      'instances',
      'update',
      'p1',
      idOf(1),
      { taskState: 'networking' },
      { expected: { taskState: null } },
    ),
    call(
      'instances',
      'update',
      'p1',
      idOf(1),
      { taskState: null },
      { expected: { taskState: ['spawning', 'networking'] }, expectedRevision: 3 },
    ),
    call('instances', 'delete', 'p1', idOf(1), { expectedRevision: 1 }),
    call('instances', 'delete', 'p1', idOf(1), { expectedRevision: 4 }),
  ],
  // Unique constraints among live records; heartbeat upserts; minimum versions.
  [
    call('networks', 'create', 'p1', { label: 'a', cidr: '10.0.0.0/29', vlan: 5 }),
    call('networks', 'create', 'p2', { label: 'b', cidr: '10.0.1.0/29', vlan: 5 }),
    call('networks', 'delete', 'p1', idOf(1)),
    call('networks', 'create', 'p2', { label: 'b', cidr: '10.0.1.0/29', vlan: 5 }),
    call('networks', 'update', 'admin', idOf(2), { vlan: null }),
    call('services', 'heartbeat', 'admin', { host: 'h1', binary: 'nova-compute', codeVersion: 3 }),
    call('services', 'heartbeat', 'admin', { host: 'h1', binary: 'nova-compute', codeVersion: 4 }),
    call('services', 'heartbeat', 'admin', { host: 'h2', binary: 'nova-compute', codeVersion: 2 }),
    call('services', 'minimumVersion', 'p1', 'nova-compute'),
    call('services', 'update', 'admin', idOf(4), { disabled: true }),
    call('services', 'minimumVersion', 'p1', 'nova-compute'),
    call('services', 'create', 'admin', {
      host: 'h1',
      binary: 'nova-compute',
      codeVersion: 1,
      lastSeenAt: '2026-01-01T00:00:00Z',
    }),
  ],
  // Migrations in progress by host.
  [
    call('migrations', 'create', 'p1', {
      instanceId: idOf(99),
      sourceCompute: 'a',
      destCompute: 'b',
    }),
    call('migrations', 'create', 'p2', {
      instanceId: idOf(99),
      sourceCompute: 'b',
      status: 'running',
    }),
    call('migrations', 'create', 'p1', {
      instanceId: idOf(99),
      destCompute: 'a',
      status: 'finished',
    }),
    call('migrations', 'create', 'admin', {
      projectId: 'p1',
      instanceId: idOf(99),
      destCompute: 'a',
      status: 'post-migrating',
    }),
    ...(['p1', 'p2', 'admin'] as const).flatMap((c) => [
      call('migrations', 'listInProgressByHost', c, 'a'),
      call('migrations', 'listInProgressByHost', c, 'b'),
    ]),
  ],
  // Code-point order of strings JS `<` and collations get wrong, paged.
  [
    ...['\ue000', '😀', 'a', 'B', 'é', '', 'a😀', '\uffff', 'A'].map((d) =>
      call('instances', 'create', 'p1', { displayName: d, flavor: FLAVOR }),
    ),
    call('instances', 'list', 'p1', { orderBy: { field: 'displayName' } }),
    call('instances', 'list', 'p1', { orderBy: { field: 'displayName', direction: 'desc' } }),
    {
      kind: 'pages',
      store: 'instances',
      ctx: 'p1',
      options: { orderBy: { field: 'displayName' }, limit: 2 },
    },
    {
      kind: 'pages',
      store: 'instances',
      ctx: 'p1',
      options: { orderBy: { field: 'displayName', direction: 'desc' }, limit: 3 },
    },
    {
      kind: 'pages',
      store: 'instances',
      ctx: 'p1',
      options: {
        where: { displayName: { gte: 'a' } },
        orderBy: { field: 'displayName' },
        limit: 1,
      },
    },
    call('instances', 'count', 'p1', { displayName: { in: ['a', '😀', 'zz'] } }),
  ],
];

/** Strings that equal, prefix or sort next to each other only under a wrong comparison. */
const TWIN_STRINGS = ['a', 'a ', 'A', 'é', 'e\u0301', '%', '_', '\ue000', '\uffff', '😀', 'b', ''];

const INT_EDGES = [0, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53 - 1, 1e15 + 7];
const DATETIME_EDGES = [
  '0001-01-01T00:00:00.000Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00.001Z',
  '2038-01-19T03:14:08.000Z',
  '2026-01-01T00:00:00.123+05:30',
  '9999-12-31T23:59:59.999Z',
];

/**
 * More fixed examples, one per corner of the contract a random search reaches too rarely
 * to count on: exact string comparison, nulls in filters, allocation at the edges of the
 * address space, conditions on several fields, no-op updates, ids of deleted records,
 * numbers and datetimes at the ends of their ranges, and a `getMany` of 1000 ids.
 */
export const CONTRACT_EXAMPLES: readonly (readonly Op[])[] = [
  // Equality, `in` and ranges compare strings exactly, by code point.
  [
    ...TWIN_STRINGS.map((d) =>
      call('instances', 'create', 'p1', { displayName: d, host: d, flavor: FLAVOR }),
    ),
    ...TWIN_STRINGS.flatMap((v) => [
      call('instances', 'count', 'p1', { displayName: v }),
      call('instances', 'count', 'p1', { host: { in: [v] } }),
      call('instances', 'count', 'p1', { displayName: { gt: v } }),
      call('instances', 'count', 'p1', { displayName: { lte: v } }),
    ]),
    call('instances', 'list', 'p1', { orderBy: { field: 'displayName', direction: 'desc' } }),
    ...TWIN_STRINGS.map((h) =>
      call('migrations', 'create', 'p1', { instanceId: idOf(1), sourceCompute: h }),
    ),
    ...['a', '%', '_', 'A', 'é'].map((h) => call('migrations', 'listInProgressByHost', 'p1', h)),
  ],
  // Nulls: `null`, `{ eq: null }` and `in` lists holding null match null values.
  [
    call('instances', 'create', 'p1', { host: null, flavor: FLAVOR }),
    call('instances', 'create', 'p1', { host: 'a', taskState: 'spawning', flavor: FLAVOR }),
    call('networks', 'create', 'p1', { label: 'n', cidr: '10.0.0.0/29', vlan: null }),
    call('fixedIps', 'allocate', 'p1', { networkId: idOf(3), instanceId: null }),
    ...[null, { eq: null }, { in: [null] }, { in: [null, 'a'] }, { in: ['a'] }].flatMap((c) => [
      call('instances', 'count', 'p1', { host: c }),
      call('instances', 'list', 'p1', { where: { taskState: c === null ? null : c } }),
    ]),
    call('instances', 'count', 'p1', { taskState: { in: [null, 'spawning'] } }),
    call('networks', 'count', 'p1', { vlan: { in: [null, 5] } }),
    call('fixedIps', 'count', 'p1', { instanceId: null }),
    call('fixedIps', 'count', 'p1', { instanceId: { in: [null, idOf(1)] } }),
  ],
  // Allocation at the edges: /31, /32, /127, /128, the top of both spaces; explicit reuse.
  [
    ...[
      '10.0.2.0/31',
      '10.0.2.4/32',
      'fd00::/127',
      'fd00::/128',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc/126',
      '255.255.255.248/29',
    ].map((cidr) => call('networks', 'create', 'p1', { label: cidr, cidr, gateway: null })),
    ...[1, 2, 3, 4, 5, 6].flatMap((n) => [
      call('fixedIps', 'allocate', 'p1', { networkId: idOf(n), instanceId: idOf(99) }),
      call('fixedIps', 'allocate', 'p1', { networkId: idOf(n), instanceId: null }),
    ]),
    ...(
      [
        [1, '10.0.2.0'],
        [1, '10.0.2.1'],
        [2, '10.0.2.4'],
        [3, 'fd00::1'],
        [4, 'fd00::'],
        [5, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
        [5, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffc'],
        [6, '255.255.255.255'],
        [6, '255.255.255.254'],
      ] as const
    ).map(([n, address]) =>
      call('fixedIps', 'allocate', 'p1', { networkId: idOf(n), instanceId: null, address }),
    ),
    call('fixedIps', 'releaseAllForInstance', 'p1', idOf(99)),
    call('fixedIps', 'allocate', 'p1', {
      networkId: idOf(3),
      instanceId: null,
      address: 'fd00::1',
    }),
    call('fixedIps', 'allocate', 'p1', {
      networkId: idOf(5),
      instanceId: null,
      address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd',
    }),
    call('fixedIps', 'list', 'p1', { orderBy: { field: 'id' }, limit: 1000 }),
  ],
  // Conditions on several fields, no-op updates, unique fields changed by an update.
  [
    call('instances', 'create', 'p1', { flavor: FLAVOR }),
    call(
      'instances',
      'update',
      'p1',
      idOf(1),
      { displayName: 'x' },
      { expected: { vmState: ['building'], taskState: ['spawning'] } },
    ),
    call(
      'instances',
      'update',
      'p1',
      idOf(1),
      { displayName: 'y' },
      { expected: { displayName: [''], vmState: ['building'], taskState: [null] } },
    ),
    call('instances', 'update', 'p1', idOf(1), {}),
    call('instances', 'update', 'p1', idOf(1), { displayName: 'y' }),
    call('instances', 'get', 'p1', idOf(1)),
    call('networks', 'create', 'p1', { label: 'a', cidr: '10.0.0.0/29', vlan: 5 }),
    call('networks', 'create', 'p1', { label: 'b', cidr: '10.0.1.0/29', vlan: 6 }),
    call('networks', 'update', 'p1', idOf(3), { vlan: 5 }),
    call('networks', 'update', 'p1', idOf(3), { vlan: 6 }),
    call('networks', 'count', 'p1', { vlan: 5 }),
  ],
  // A create whose id and VLAN are both taken reports the id (the first clash), whether the
  // VLAN is another record's or the same one's; with a free id, the VLAN.
  [
    call('networks', 'create', 'p1', { label: 'a', cidr: '10.0.0.0/29', vlan: 7 }),
    call('networks', 'create', 'p1', { label: 'b', cidr: '10.0.1.0/29', vlan: 8 }),
    call('networks', 'create', 'p1', { id: idOf(1), label: 'c', cidr: '10.0.2.0/29', vlan: 8 }),
    call('networks', 'create', 'p1', { id: idOf(1), label: 'c', cidr: '10.0.2.0/29', vlan: 7 }),
    call('networks', 'create', 'p1', { id: idOf(9), label: 'd', cidr: '10.0.3.0/29', vlan: 7 }),
  ],
  // The id of a soft-deleted record stays taken until it is purged.
  [
    call('instances', 'create', 'p1', { id: idOf(50), flavor: FLAVOR }),
    call('instances', 'delete', 'p1', idOf(50)),
    call('instances', 'create', 'p1', { id: idOf(50), displayName: 'again', flavor: FLAVOR }),
    call('instances', 'get', 'p1/yes', idOf(50)),
    { kind: 'tick', ms: 1 },
    call('instances', 'purge', 'admin', { deletedBefore: '2026-01-01T00:00:00.001Z' }),
    call('instances', 'create', 'p1', { id: idOf(50), displayName: 'again', flavor: FLAVOR }),
  ],
  // minimumVersion counts live, enabled services only.
  [
    call('services', 'heartbeat', 'admin', { host: 'h1', binary: 'nova-compute', codeVersion: 1 }),
    call('services', 'heartbeat', 'admin', { host: 'h2', binary: 'nova-compute', codeVersion: 5 }),
    call('services', 'delete', 'admin', idOf(1)),
    call('services', 'minimumVersion', 'p1', 'nova-compute'),
    call('services', 'heartbeat', 'admin', { host: 'h1', binary: 'nova-compute', codeVersion: 2 }),
    call('services', 'minimumVersion', 'p1', 'nova-compute'),
  ],
  // Ints and datetimes at the ends of their ranges round-trip, order and filter exactly.
  [
    ...INT_EDGES.map((codeVersion, i) =>
      call('services', 'create', 'admin', {
        host: `h${i}`,
        binary: 'b',
        codeVersion,
        lastSeenAt: DATETIME_EDGES[i % DATETIME_EDGES.length]!,
      }),
    ),
    call('services', 'list', 'admin', { orderBy: { field: 'lastSeenAt' } }),
    call('services', 'list', 'admin', { orderBy: { field: 'lastSeenAt', direction: 'desc' } }),
    call('services', 'count', 'admin', { lastSeenAt: { lt: '1970-01-01T00:00:00.000Z' } }),
    call('services', 'count', 'admin', { lastSeenAt: { gte: '2038-01-19T03:14:08.000Z' } }),
    call('services', 'minimumVersion', 'admin', 'b'),
  ],
  // getMany of 1000 ids: the found ones at the end, in request order, each once.
  [
    call('instances', 'create', 'p1', { flavor: FLAVOR }),
    call('instances', 'create', 'p1', { flavor: FLAVOR }),
    call('instances', 'delete', 'p1', idOf(2)),
    ...(['p1', 'p1/yes', 'p1/only'] as const).map((c) =>
      call('instances', 'getMany', c, [
        ...Array.from({ length: 996 }, (_, i) => idOf(0x1000 + i)),
        idOf(2),
        idOf(1),
        idOf(2),
        idOf(1),
      ]),
    ),
  ],
];
