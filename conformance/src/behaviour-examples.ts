import { idOf } from './arbitrary-for-field.js';
import type { ContextName } from './contexts.js';
import type { CallOp, Op, StoreName } from './op.js';

function call(store: StoreName, method: string, ctx: ContextName, ...args: unknown[]): CallOp {
  return { kind: 'call', store, method, ctx, args };
}

const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const ALL: ContextName[] = ['p1', 'p2', 'p1/yes', 'p1/only', 'admin', 'admin/yes', 'admin/only'];

/**
 * Fixed command sequences run before the random ones, like Hypothesis's `@example`: the
 * cases a random search reaches only rarely (a gateway at the lowest address, repeated
 * ids, every readDeleted mode after a delete, code-point order of tricky strings).
 * Ids are those `sequentialIds()` hands out, in order.
 */
export const BEHAVIOUR_EXAMPLES: readonly (readonly Op[])[] = [
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
