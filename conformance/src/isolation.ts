import type { Stores } from '@polystore/core';
import { ConformanceFailure } from './conformance-failure.js';
import { CONTEXTS, type ContextName, contextVar } from './contexts.js';
import type { Coverage } from './coverage.js';
import { HOSTILE_KEYS, HOSTILE_STRINGS, INVALID_KEYS, INVALID_STRINGS } from './hostile-strings.js';
import { runScenario } from './model-run.js';
import { type CallOp, literal, type Op, type StoreName } from './op.js';
import { RESOURCE_OF } from './op-arbitraries.js';
import { type Outcome, settle, showOutcome } from './outcome.js';
import type { Session } from './session.js';

type Rec = Readonly<Record<string, unknown>>;

function call(store: StoreName, method: string, ctx: ContextName, ...args: unknown[]): CallOp {
  return { kind: 'call', store, method, ctx, args };
}

const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };

/** Checks one call's outcome against what the contract says, with a readable line on failure. */
async function expectCall(
  stores: Stores,
  coverage: Coverage | undefined,
  op: CallOp,
  want: (o: Outcome) => boolean,
  what: string,
  log: string[],
): Promise<Outcome> {
  const store = stores[op.store] as unknown as Record<
    string,
    (...a: unknown[]) => Promise<unknown>
  >;
  const o = await settle(() => store[op.method]!.call(store, CONTEXTS[op.ctx], ...op.args));
  coverage?.tested(`${op.store}.${op.method}`);
  const line = `await s.${op.store}.${op.method}(${[contextVar(op.ctx), ...op.args.map(literal)].join(', ')}); // ${showOutcome(o).slice(0, 160)}`;
  log.push(line);
  if (!want(o)) {
    throw new ConformanceFailure(
      'isolation',
      `${op.store}.${op.method} as ${op.ctx}: expected ${what}, got ${showOutcome(o)}`,
      {
        snippet: log.join('\n'),
        steps: log.length,
      },
    );
  }
  return o;
}

const notFound = (o: Outcome) => !o.ok && o.error.name === 'NotFoundError';
const forbidden = (o: Outcome) => !o.ok && o.error.name === 'ForbiddenError';
const ok = (o: Outcome) => o.ok;
const emptyList = (o: Outcome) => o.ok && (o.value as { items: unknown[] }).items.length === 0;

/** Another project's rows are invisible to every read and write, and readDeleted is honoured. */
async function crossProject(session: Session, coverage: Coverage | undefined): Promise<void> {
  const { stores } = await session.openFresh('iso');
  const log: string[] = [];
  const ex = (op: CallOp, want: (o: Outcome) => boolean, what: string) =>
    expectCall(stores, coverage, op, want, what, log);
  try {
    const vm = (await ex(
      call('instances', 'create', 'p1', { displayName: 'mine', flavor: FLAVOR }),
      ok,
      'ok',
    )) as { value: Rec };
    const id = vm.value.id as string;
    const net = (await ex(
      call('networks', 'create', 'p1', { label: 'private', cidr: '10.1.0.0/29', vlan: 7 }),
      ok,
      'ok',
    )) as { value: Rec };
    const mig = (await ex(
      call('migrations', 'create', 'p1', { instanceId: id, sourceCompute: 'h1' }),
      ok,
      'ok',
    )) as { value: Rec };
    const ip = (await ex(
      call('fixedIps', 'allocate', 'p1', { networkId: net.value.id, instanceId: id }),
      ok,
      'ok',
    )) as { value: Rec };
    for (const [store, rid] of [
      ['instances', id],
      ['networks', net.value.id],
      ['migrations', mig.value.id],
      ['fixedIps', ip.value.id],
    ] as const) {
      await ex(call(store, 'get', 'p2', rid), notFound, 'NotFoundError');
      await ex(
        call(store, 'getMany', 'p2', [rid]),
        (o) => o.ok && (o.value as unknown[]).length === 0,
        '[]',
      );
      await ex(call(store, 'list', 'p2', {}), emptyList, 'an empty page');
      await ex(call(store, 'count', 'p2', { id: rid }), (o) => o.ok && o.value === 0, '0');
      await ex(call(store, 'delete', 'p2', rid), notFound, 'NotFoundError');
      await ex(
        call(store, 'delete', 'p2', rid, { expectedRevision: 99 }),
        notFound,
        'NotFoundError, not a Conflict hinting it exists',
      );
    }
    await ex(
      call('instances', 'update', 'p2', id, { displayName: 'theirs' }),
      notFound,
      'NotFoundError',
    );
    await ex(
      call('instances', 'update', 'p2', id, { displayName: 'x' }, { expectedRevision: 99 }),
      notFound,
      'NotFoundError',
    );
    await ex(
      call('fixedIps', 'allocate', 'p2', { networkId: net.value.id, instanceId: null }),
      notFound,
      'NotFoundError (network)',
    );
    await ex(
      call('fixedIps', 'releaseAllForInstance', 'p2', id),
      (o) => o.ok && o.value === 0,
      '0',
    );
    await ex(
      call('migrations', 'listInProgressByHost', 'p2', 'h1'),
      (o) => o.ok && (o.value as unknown[]).length === 0,
      '[]',
    );
    await ex(
      call('instances', 'purge', 'p1', { deletedBefore: '2100-01-01T00:00:00.000Z' }),
      forbidden,
      'ForbiddenError',
    );
    await ex(
      call('services', 'create', 'p1', {
        host: 'h',
        binary: 'b',
        codeVersion: 1,
        lastSeenAt: '2026-01-01T00:00:00.000Z',
      }),
      forbidden,
      'ForbiddenError',
    );
    await ex(
      call('services', 'heartbeat', 'p1', { host: 'h', binary: 'b', codeVersion: 1 }),
      forbidden,
      'ForbiddenError',
    );
    // Shared networks: readable and usable by every project, changeable by admins only.
    const shared = (await ex(
      call('networks', 'create', 'admin', {
        label: 'public',
        cidr: '10.2.0.0/30',
        projectId: null,
      }),
      ok,
      'ok',
    )) as { value: Rec };
    await ex(call('networks', 'get', 'p2', shared.value.id), ok, 'the shared network');
    await ex(
      call('networks', 'update', 'p2', shared.value.id, { label: 'mine now' }),
      notFound,
      'NotFoundError',
    );
    await ex(
      call('fixedIps', 'allocate', 'p2', { networkId: shared.value.id, instanceId: null }),
      (o) => o.ok && (o.value as Rec).projectId === 'p2',
      'an address owned by p2',
    );
    // readDeleted: deleted rows hidden by default, shown with yes, alone with only.
    await ex(
      call('instances', 'delete', 'p1', id),
      (o) => o.ok && (o.value as Rec).deletedAt !== null,
      'the soft-deleted record',
    );
    await ex(call('instances', 'get', 'p1', id), notFound, 'NotFoundError');
    await ex(
      call('instances', 'get', 'p1/yes', id),
      (o) => o.ok && (o.value as Rec).deletedAt !== null,
      'the deleted record',
    );
    await ex(call('instances', 'count', 'p1/only'), (o) => o.ok && o.value === 1, '1');
    await ex(call('instances', 'count', 'p1'), (o) => o.ok && o.value === 0, '0');
    await ex(call('instances', 'count', 'admin/yes'), (o) => o.ok && o.value === 1, '1');
    await ex(
      call('instances', 'list', 'p1/only', {}),
      (o) => o.ok && (o.value as { items: Rec[] }).items.length === 1,
      'one deleted record',
    );
    await ex(
      call('instances', 'update', 'p1/yes', id, { displayName: 'zombie' }),
      notFound,
      'NotFoundError: writes touch live records only',
    );
    await ex(
      call('instances', 'getMany', 'p2', [id]),
      (o) => o.ok && (o.value as unknown[]).length === 0,
      '[]',
    );
    // A deleted network's VLAN can be reused.
    await ex(call('networks', 'delete', 'p1', net.value.id), ok, 'ok');
    await ex(
      call('networks', 'create', 'p2', { label: 'again', cidr: '10.3.0.0/29', vlan: 7 }),
      ok,
      'ok: unique among live records only',
    );
    await ex(
      call('networks', 'create', 'p1', { label: 'dup', cidr: '10.4.0.0/29', vlan: 7 }),
      (o) => !o.ok && o.error.name === 'DuplicateError',
      'DuplicateError',
    );
  } finally {
    await session.close(stores);
  }
}

/** String fields of each store's create (pattern-free and patterned alike). */
function stringFields(store: StoreName): string[] {
  const r = RESOURCE_OF[store];
  return r.fieldNames.filter((n) => r.fields[n]!.kind === 'string');
}

function baseValues(store: StoreName): Record<string, unknown> {
  switch (store) {
    case 'instances':
      return { flavor: FLAVOR };
    case 'networks':
      return { label: 'n', cidr: '10.9.0.0/29' };
    case 'migrations':
      return { instanceId: '00000000-0000-7000-8000-0000000000ff' };
    case 'services':
      return { host: 'h', binary: 'b', codeVersion: 1, lastSeenAt: '2026-01-01T00:00:00.000Z' };
    default:
      return {};
  }
}

/**
 * Hostile values in every string field, dict key, id and filter value: stored and returned
 * byte-exact when valid, `InvalidInputError`/`InvalidQueryError` when not, never untyped.
 * Run against the reference model too, so every outcome is compared.
 */
async function hostileInput(session: Session, coverage: Coverage | undefined): Promise<number> {
  const ops: Op[] = [];
  const exact = new Map<Op, { field: string; value: unknown }>();
  for (const store of ['instances', 'networks', 'migrations', 'services'] as const) {
    const ctx: ContextName = store === 'services' ? 'admin' : 'p1';
    for (const field of stringFields(store)) {
      for (const value of [
        ...HOSTILE_STRINGS,
        ...INVALID_STRINGS,
        'x'.repeat(RESOURCE_OF[store].fields[field]!.max!),
      ]) {
        // Services are unique on (host, binary): vary the other one so each create is new.
        const other =
          store === 'services' ? { [field === 'host' ? 'binary' : 'host']: `v${ops.length}` } : {};
        const op = call(store, 'create', ctx, { ...baseValues(store), ...other, [field]: value });
        ops.push(op);
        exact.set(op, { field, value });
        ops.push(
          call(store, 'list', ctx, {
            where: {
              [RESOURCE_OF[store].queryable[field] ? field : 'id']: RESOURCE_OF[store].queryable[
                field
              ]
                ? value
                : '00000000-0000-7000-8000-000000000001',
            },
          }),
        );
      }
    }
  }
  for (const key of [...HOSTILE_KEYS, ...INVALID_KEYS]) {
    const op = call('instances', 'create', 'p1', { flavor: FLAVOR, metadata: { [key]: key } });
    ops.push(op);
    exact.set(op, { field: 'metadata', value: { [key]: key } });
  }
  for (const id of [
    ...HOSTILE_STRINGS.slice(0, 12),
    ...INVALID_STRINGS,
    '00000000-0000-7000-8000-00000000000A',
  ]) {
    ops.push(
      call('instances', 'get', 'p1', id),
      call('instances', 'getMany', 'p1', [id]),
      call('instances', 'delete', 'p1', id),
    );
    ops.push(
      call('instances', 'list', 'p1', { where: { host: id } }),
      call('instances', 'count', 'p1', { displayName: id }),
    );
    ops.push(call('instances', 'list', 'p1', { where: { projectId: id } }));
  }
  ops.push(call('instances', 'list', 'p1', { orderBy: { field: 'displayName' }, limit: 1000 }));
  ops.push(
    call('instances', 'list', 'p1', {
      orderBy: { field: 'displayName', direction: 'desc' },
      limit: 1000,
    }),
  );
  await runScenario(session, ops, 'isolation', coverage, (op, o) => {
    if (!o.ok && o.error.untyped) return 'an untyped error escaped';
    const want = exact.get(op);
    if (!want || !o.ok) return undefined;
    const got = (o.value as Rec)[want.field];
    return JSON.stringify(got) === JSON.stringify(want.value)
      ? undefined
      : `${want.field} did not round-trip byte-exact`;
  });
  return ops.length;
}

/** Options of {@link runIsolation}. */
export interface IsolationOptions {
  readonly coverage?: Coverage;
}

/** The isolation and hostile-input group. */
export async function runIsolation(
  session: Session,
  options: IsolationOptions = {},
): Promise<{ runs: number }> {
  await crossProject(session, options.coverage);
  const n = await hostileInput(session, options.coverage);
  return { runs: n + 1 };
}
