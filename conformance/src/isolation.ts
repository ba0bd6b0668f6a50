import { ManualClock, type Stores, sequentialIds } from '@polystore/core';
import { ConformanceFailure } from './conformance-failure.js';
import { CONTEXTS, type ContextName, contextSource, contextVar } from './contexts.js';
import type { Coverage } from './coverage.js';
import { HOSTILE_KEYS, HOSTILE_STRINGS, INVALID_KEYS, INVALID_STRINGS } from './hostile-strings.js';
import { runScenario } from './model-run.js';
import { type CallOp, literal, type Op, type StoreName } from './op.js';
import { RESOURCE_OF } from './op-arbitraries.js';
import { type Outcome, settle, showOutcome } from './outcome.js';
import { CLOCK_EPOCH, type Session } from './session.js';

type Rec = Readonly<Record<string, unknown>>;

function call(store: StoreName, method: string, ctx: ContextName, ...args: unknown[]): CallOp {
  return { kind: 'call', store, method, ctx, args };
}

const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };

/** One bag a scenario talks to, and its name in the snippet (`s`, `s2`, ...). */
interface Client {
  readonly stores: Stores;
  readonly name: string;
  readonly open: string;
}

/**
 * A small isolation scenario: setup calls that must succeed, and checks. The snippet of a
 * failure holds the setup so far and the one failing check, nothing else, so it stays a
 * few lines long (checks that pass are reads or refused writes: they change nothing).
 */
class Scenario {
  readonly #setup: string[] = [];
  readonly #contexts = new Set<ContextName>();

  constructor(
    readonly title: string,
    readonly coverage: Coverage | undefined,
  ) {}

  #line(client: Client, op: CallOp, o: Outcome): string {
    this.#contexts.add(op.ctx);
    return `await ${client.name}.${op.store}.${op.method}(${[contextVar(op.ctx), ...op.args.map(literal)].join(', ')}); // ${showOutcome(o).slice(0, 160)}`;
  }

  async #run(client: Client, op: CallOp): Promise<Outcome> {
    const store = client.stores[op.store] as unknown as Record<
      string,
      (...a: unknown[]) => Promise<unknown>
    >;
    const o = await settle(() => store[op.method]!.call(store, CONTEXTS[op.ctx], ...op.args));
    this.coverage?.tested(`${op.store}.${op.method}`);
    return o;
  }

  /** A call that must succeed; it stays in every later snippet. */
  async setup(client: Client, op: CallOp): Promise<Rec> {
    const o = await this.#run(client, op);
    this.#setup.push(this.#line(client, op, o));
    if (!o.ok) this.#fail(client, op, o, 'ok');
    return (o as { value: Rec }).value;
  }

  /** A call whose outcome must satisfy `want`. */
  async check(client: Client, op: CallOp, want: (o: Outcome) => boolean, what: string) {
    const o = await this.#run(client, op);
    if (!want(o)) {
      this.#setup.push(this.#line(client, op, o));
      this.#fail(client, op, o, what);
    }
  }

  #fail(client: Client, op: CallOp, o: Outcome, what: string, clients: Client[] = []): never {
    const ctxs = [...this.#contexts].map((c) => `const ${contextVar(c)} = ${contextSource(c)};`);
    throw new ConformanceFailure(
      'isolation',
      `${this.title}: ${client.name}.${op.store}.${op.method} as ${op.ctx}: expected ${what}, got ${showOutcome(o)}`,
      {
        snippet: [...this.opens, ...clients.map((c) => c.open), ...ctxs, ...this.#setup].join('\n'),
        steps: this.#setup.length,
      },
    );
  }

  readonly opens: string[] = [];
}

const notFound = (o: Outcome) => !o.ok && o.error.name === 'NotFoundError';
/** A declared-off feature refused as declared (the adapter may refuse before looking). */
const refused = (o: Outcome, feature: string) =>
  !o.ok && o.error.name === 'NotSupportedError' && o.error.capability === feature;
const forbidden = (o: Outcome) => !o.ok && o.error.name === 'ForbiddenError';
const ok = (o: Outcome) => o.ok;
const emptyList = (o: Outcome) => o.ok && (o.value as { items: unknown[] }).items.length === 0;
const none = (o: Outcome) => o.ok && (o.value as unknown[]).length === 0;
const zero = (o: Outcome) => o.ok && o.value === 0;
const isValue = (v: unknown) => (o: Outcome) => o.ok && o.value === v;
const field = (name: string, v: unknown) => (o: Outcome) => o.ok && (o.value as Rec)[name] === v;

/** Opens the clients of a scenario, runs it, and closes them whatever happens. */
async function withClients(
  session: Session,
  namespaces: readonly string[],
  body: (clients: Client[]) => Promise<void>,
  idSeeds: readonly number[] = namespaces.map((_, i) => i * 0x1000),
): Promise<void> {
  const clients: Client[] = [];
  try {
    for (const [i, ns] of namespaces.entries()) {
      // Clients of one namespace take ids from disjoint ranges, as separate processes would.
      const seed = idSeeds[i] ?? 0;
      const stores = await session.open(ns, new ManualClock(CLOCK_EPOCH), sequentialIds(seed));
      const name = i === 0 ? 's' : `s${i + 1}`;
      clients.push({
        stores,
        name,
        open: `const ${name} = await open(${literal(ns)}, { clock: new ManualClock(${CLOCK_EPOCH}), ids: sequentialIds(${seed}), route: (u) => u });`,
      });
    }
    await body(clients);
  } finally {
    for (const c of clients) await session.close(c.stores);
  }
}

/** Project contexts other than p1, some with ids a naive filter confuses with `p1`. */
const OTHERS: readonly ContextName[] = ['p2', 'p10', 'P1', 'pq'];

/** p1's rows are invisible to every other project, whatever its id looks like. */
async function otherProjects(session: Session, coverage: Coverage | undefined): Promise<void> {
  await withClients(session, [session.namespace('iso')], async ([s]) => {
    const sc = new Scenario('another project', coverage);
    sc.opens.push(s!.open);
    const c = s!;
    const vm = await sc.setup(
      c,
      call('instances', 'create', 'p1', { displayName: 'mine', flavor: FLAVOR }),
    );
    const id = vm.id as string;
    const net = await sc.setup(
      c,
      call('networks', 'create', 'p1', { label: 'private', cidr: '10.1.0.0/29', vlan: 7 }),
    );
    const mig = await sc.setup(
      c,
      call('migrations', 'create', 'p1', { instanceId: id, sourceCompute: 'h1' }),
    );
    const ip = await sc.setup(
      c,
      call('fixedIps', 'allocate', 'p1', { networkId: net.id, instanceId: id }),
    );
    for (const ctx of OTHERS) {
      for (const [store, rid] of [
        ['instances', id],
        ['networks', net.id],
        ['migrations', mig.id],
        ['fixedIps', ip.id],
      ] as const) {
        await sc.check(c, call(store, 'get', ctx, rid), notFound, 'NotFoundError');
        await sc.check(c, call(store, 'getMany', ctx, [rid]), none, '[]');
        await sc.check(c, call(store, 'list', ctx, {}), emptyList, 'an empty page');
        await sc.check(
          c,
          call(store, 'list', ctx, { where: { projectId: 'p1' } }),
          emptyList,
          'an empty page: a projectId filter never widens the scope',
        );
        await sc.check(c, call(store, 'count', ctx, { id: rid }), zero, '0');
        await sc.check(c, call(store, 'count', ctx, { projectId: 'p1' }), zero, '0');
        await sc.check(c, call(store, 'delete', ctx, rid), notFound, 'NotFoundError');
        await sc.check(
          c,
          call(store, 'delete', ctx, rid, { expectedRevision: 99 }),
          notFound,
          'NotFoundError, not a Conflict hinting it exists',
        );
      }
      await sc.check(
        c,
        call('instances', 'update', ctx, id, { displayName: 'theirs' }),
        notFound,
        'NotFoundError',
      );
      await sc.check(
        c,
        call('instances', 'update', ctx, id, { displayName: 'x' }, { expectedRevision: 99 }),
        notFound,
        'NotFoundError',
      );
      await sc.check(
        c,
        call(
          'instances',
          'update',
          ctx,
          id,
          { displayName: 'x' },
          { expected: { taskState: ['spawning'] } },
        ),
        (o) => notFound(o) || refused(o, 'update.expected'),
        'NotFoundError',
      );
      await sc.check(
        c,
        call('fixedIps', 'allocate', ctx, { networkId: net.id, instanceId: null }),
        notFound,
        'NotFoundError (network)',
      );
      await sc.check(c, call('fixedIps', 'release', ctx, ip.id), notFound, 'NotFoundError');
      await sc.check(c, call('fixedIps', 'releaseAllForInstance', ctx, id), zero, '0');
      await sc.check(c, call('migrations', 'listInProgressByHost', ctx, 'h1'), none, '[]');
    }
    // And the other way round: p1 sees none of theirs.
    for (const ctx of OTHERS) {
      const theirs = await sc.setup(
        c,
        call('instances', 'create', ctx, { displayName: ctx, flavor: FLAVOR }),
      );
      await sc.check(c, call('instances', 'get', 'p1', theirs.id), notFound, 'NotFoundError');
      await sc.check(c, call('instances', 'getMany', 'p1', [theirs.id]), none, '[]');
      await sc.check(c, call('instances', 'count', 'p1'), isValue(1), '1 (its own instance only)');
      await sc.check(
        c,
        call('instances', 'count', 'p1', { projectId: ctx === 'pq' ? "p1%'_*" : ctx }),
        zero,
        '0',
      );
    }
    await sc.check(
      c,
      call('instances', 'count', 'admin'),
      isValue(1 + OTHERS.length),
      `${1 + OTHERS.length}`,
    );
  });
}

/** Admin-only operations are refused to projects. */
async function adminOnly(session: Session, coverage: Coverage | undefined): Promise<void> {
  await withClients(session, [session.namespace('iso')], async ([c]) => {
    const sc = new Scenario('admin only', coverage);
    sc.opens.push(c!.open);
    await sc.check(
      c!,
      call('instances', 'purge', 'p1', { deletedBefore: '2100-01-01T00:00:00.000Z' }),
      forbidden,
      'ForbiddenError',
    );
    await sc.check(
      c!,
      call('services', 'create', 'p1', {
        host: 'h',
        binary: 'b',
        codeVersion: 1,
        lastSeenAt: '2026-01-01T00:00:00.000Z',
      }),
      forbidden,
      'ForbiddenError',
    );
    await sc.check(
      c!,
      call('services', 'heartbeat', 'p1', { host: 'h', binary: 'b', codeVersion: 1 }),
      forbidden,
      'ForbiddenError',
    );
  });
}

/** Shared networks: readable and usable by every project, changeable and deletable by admins only. */
async function sharedNetworks(session: Session, coverage: Coverage | undefined): Promise<void> {
  await withClients(session, [session.namespace('iso')], async ([s]) => {
    const c = s!;
    const sc = new Scenario('shared network', coverage);
    sc.opens.push(c.open);
    const shared = await sc.setup(
      c,
      call('networks', 'create', 'admin', {
        label: 'public',
        cidr: '10.2.0.0/29',
        projectId: null,
      }),
    );
    for (const ctx of ['p1', 'p2', 'p10'] as const) {
      await sc.check(c, call('networks', 'get', ctx, shared.id), ok, 'the shared network');
      await sc.check(
        c,
        call('networks', 'update', ctx, shared.id, { label: 'mine now' }),
        notFound,
        'NotFoundError',
      );
      await sc.check(
        c,
        call('networks', 'delete', ctx, shared.id),
        notFound,
        'NotFoundError: only admins delete a shared network',
      );
      await sc.check(
        c,
        call('networks', 'delete', ctx, shared.id, { expectedRevision: 1 }),
        notFound,
        'NotFoundError',
      );
    }
    await sc.check(
      c,
      call('networks', 'get', 'p2', shared.id),
      field('deletedAt', null),
      'the live shared network',
    );
    await sc.check(
      c,
      call('fixedIps', 'allocate', 'p2', { networkId: shared.id, instanceId: null }),
      field('projectId', 'p2'),
      'an address owned by p2',
    );
    await sc.setup(c, call('networks', 'delete', 'admin', shared.id));
    await sc.check(c, call('networks', 'get', 'p2', shared.id), notFound, 'NotFoundError');
    await sc.check(
      c,
      call('networks', 'get', 'p2/yes', shared.id),
      field('id', shared.id),
      'the deleted shared network',
    );
    await sc.check(c, call('networks', 'count', 'p1/only'), isValue(1), '1');
  });
}

/** readDeleted: deleted rows hidden by default, shown with yes, alone with only, never written. */
async function readDeleted(session: Session, coverage: Coverage | undefined): Promise<void> {
  await withClients(session, [session.namespace('iso')], async ([s]) => {
    const c = s!;
    const sc = new Scenario('readDeleted', coverage);
    sc.opens.push(c.open);
    const gone = await sc.setup(
      c,
      call('instances', 'create', 'p1', { displayName: 'gone', flavor: FLAVOR }),
    );
    const live = await sc.setup(
      c,
      call('instances', 'create', 'p1', { displayName: 'live', flavor: FLAVOR }),
    );
    const id = gone.id as string;
    await sc.setup(c, call('instances', 'delete', 'p1', id));
    const both = [id, live.id];
    for (const [ctx, wanted] of [
      ['p1', [live.id]],
      ['admin', [live.id]],
      ['p1/yes', [id, live.id]],
      ['admin/yes', [id, live.id]],
      ['p1/only', [id]],
      ['admin/only', [id]],
      ['p2/yes', []],
      ['p2/only', []],
    ] as const) {
      const want: readonly unknown[] = wanted;
      const ids = (o: Outcome, key?: string) =>
        o.ok &&
        JSON.stringify(((key ? (o.value as Rec)[key] : o.value) as Rec[]).map((r) => r.id)) ===
          JSON.stringify(want);
      await sc.check(
        c,
        call('instances', 'getMany', ctx, both),
        (o) => ids(o),
        JSON.stringify(want),
      );
      await sc.check(
        c,
        call('instances', 'list', ctx, {}),
        (o) => ids(o, 'items'),
        JSON.stringify(want),
      );
      await sc.check(c, call('instances', 'count', ctx), isValue(want.length), String(want.length));
      await sc.check(
        c,
        call('instances', 'count', ctx, { displayName: 'gone' }),
        isValue(want.includes(id) ? 1 : 0),
        'the deleted one only where readDeleted shows it',
      );
      await sc.check(
        c,
        call('instances', 'get', ctx, id),
        want.includes(id) ? field('id', id) : notFound,
        want.includes(id) ? 'the deleted record' : 'NotFoundError',
      );
      await sc.check(
        c,
        call('instances', 'get', ctx, live.id),
        want.includes(live.id) ? field('id', live.id) : notFound,
        want.includes(live.id) ? 'the live record' : 'NotFoundError',
      );
    }
    await sc.check(
      c,
      call('instances', 'update', 'p1/yes', id, { displayName: 'zombie' }),
      notFound,
      'NotFoundError: writes touch live records only',
    );
    await sc.check(
      c,
      call('instances', 'delete', 'admin/yes', id),
      notFound,
      'NotFoundError: a deleted record is not deleted again',
    );
    await sc.check(
      c,
      call('instances', 'create', 'p1', { id, flavor: FLAVOR }),
      (o) => !o.ok && o.error.name === 'DuplicateError',
      'DuplicateError: the id of a soft-deleted record is still taken',
    );
  });
}

/** Unique constraints hold among live records only. */
async function uniqueAmongLive(session: Session, coverage: Coverage | undefined): Promise<void> {
  await withClients(session, [session.namespace('iso')], async ([s]) => {
    const c = s!;
    const sc = new Scenario('unique among live records', coverage);
    sc.opens.push(c.open);
    const net = await sc.setup(
      c,
      call('networks', 'create', 'p1', { label: 'a', cidr: '10.1.0.0/29', vlan: 7 }),
    );
    await sc.check(
      c,
      call('networks', 'create', 'p2', { label: 'b', cidr: '10.4.0.0/29', vlan: 7 }),
      (o) => !o.ok && o.error.name === 'DuplicateError',
      'DuplicateError: unique across projects',
    );
    const other = await sc.setup(
      c,
      call('networks', 'create', 'p2', { label: 'c', cidr: '10.5.0.0/29', vlan: 8 }),
    );
    await sc.check(
      c,
      call('networks', 'update', 'p2', other.id, { vlan: 7 }),
      (o) => !o.ok && o.error.name === 'DuplicateError',
      'DuplicateError: an update is held to the unique constraint too',
    );
    await sc.setup(c, call('networks', 'delete', 'p1', net.id));
    await sc.check(
      c,
      call('networks', 'create', 'p2', { label: 'again', cidr: '10.3.0.0/29', vlan: 7 }),
      ok,
      'ok: unique among live records only',
    );
  });
}

/**
 * Two namespaces open at once, one name a prefix of the other (a key prefix without a
 * separator, a truncated identifier or a shared cache shows): neither sees the other's
 * records, though both hand out the same ids.
 */
async function namespaces(session: Session, coverage: Coverage | undefined): Promise<void> {
  const a = session.namespace('ns');
  // Both bags start their ids at 1, like two unrelated deployments.
  await withClients(
    session,
    [a, `${a}9`],
    async ([ca, b]) => {
      const sc = new Scenario('two namespaces', coverage);
      sc.opens.push(ca!.open, b!.open);
      const inA = await sc.setup(
        ca!,
        call('instances', 'create', 'p1', { displayName: 'in a', flavor: FLAVOR }),
      );
      await sc.check(
        b!,
        call('instances', 'get', 'p1', inA.id),
        notFound,
        'NotFoundError: the record is in the other namespace',
      );
      await sc.check(b!, call('instances', 'count', 'admin/yes'), zero, '0');
      await sc.check(b!, call('instances', 'list', 'admin/yes', {}), emptyList, 'an empty page');
      await sc.check(b!, call('instances', 'getMany', 'p1', [inA.id]), none, '[]');
      await sc.setup(
        ca!,
        call('services', 'heartbeat', 'admin', {
          host: 'h',
          binary: 'nova-compute',
          codeVersion: 3,
        }),
      );
      await sc.check(
        b!,
        call('services', 'minimumVersion', 'admin', 'nova-compute'),
        isValue(null),
        'null',
      );
      await sc.setup(
        ca!,
        call('networks', 'create', 'p1', { label: 'n', cidr: '10.1.0.0/29', vlan: 9 }),
      );
      const netB = await sc.setup(
        b!,
        call('networks', 'create', 'p1', {
          id: '00000000-0000-7000-8000-0000000000aa',
          label: 'n',
          cidr: '10.1.0.0/29',
          vlan: 9,
        }),
      );
      await sc.check(
        b!,
        call('fixedIps', 'allocate', 'p1', { networkId: netB.id, instanceId: null }),
        field('address', '10.1.0.1'),
        '10.1.0.1: the other namespace holds no address of this network',
      );
      await sc.check(ca!, call('instances', 'count', 'admin/yes'), isValue(1), '1');
      await sc.check(ca!, call('networks', 'count', 'admin/yes'), isValue(1), '1');
      await sc.check(
        ca!,
        call('instances', 'get', 'p1', inA.id),
        field('displayName', 'in a'),
        'its own record',
      );
    },
    [0, 0],
  );
}

/**
 * Two clients of one namespace (two opens): what one writes, the other reads at once, so a
 * client-side cache or a stale replica shows.
 */
async function twoClients(session: Session, coverage: Coverage | undefined): Promise<void> {
  const ns = session.namespace('cl');
  await withClients(session, [ns, ns], async ([c1, c2]) => {
    const sc = new Scenario('two clients of one namespace', coverage);
    sc.opens.push(c1!.open, c2!.open);
    const vm = await sc.setup(
      c1!,
      call('instances', 'create', 'p1', { displayName: 'v1', flavor: FLAVOR }),
    );
    const id = vm.id as string;
    await sc.setup(c2!, call('instances', 'get', 'p1', id));
    await sc.setup(c2!, call('instances', 'getMany', 'p1', [id]));
    await sc.setup(c2!, call('instances', 'list', 'p1', {}));
    await sc.setup(c2!, call('instances', 'count', 'p1', { displayName: 'v1' }));
    await sc.setup(c1!, call('instances', 'update', 'p1', id, { displayName: 'v2' }));
    await sc.check(
      c2!,
      call('instances', 'get', 'p1', id),
      field('revision', 2),
      'revision 2, written by the other client',
    );
    await sc.check(
      c2!,
      call('instances', 'getMany', 'p1', [id]),
      (o) => o.ok && (o.value as Rec[])[0]?.revision === 2,
      'revision 2',
    );
    await sc.check(
      c2!,
      call('instances', 'list', 'p1', {}),
      (o) => o.ok && (o.value as { items: Rec[] }).items[0]?.displayName === 'v2',
      "displayName 'v2'",
    );
    await sc.check(c2!, call('instances', 'count', 'p1', { displayName: 'v1' }), zero, '0');
    await sc.check(
      c2!,
      call('instances', 'update', 'p1', id, { displayName: 'v3' }, { expectedRevision: 1 }),
      (o) => !o.ok && o.error.name === 'ConflictError' && o.error.currentRevision === 2,
      'ConflictError at revision 2',
    );
    await sc.setup(c1!, call('instances', 'delete', 'p1', id));
    await sc.check(
      c2!,
      call('instances', 'get', 'p1', id),
      notFound,
      'NotFoundError: deleted by the other client',
    );
    await sc.check(c2!, call('instances', 'count', 'p1'), zero, '0');
    await sc.check(
      c2!,
      call('instances', 'update', 'p1', id, { displayName: 'v4' }),
      notFound,
      'NotFoundError',
    );
    const net = await sc.setup(
      c1!,
      call('networks', 'create', 'p1', { label: 'n', cidr: '10.1.0.0/30', vlan: 11 }),
    );
    await sc.check(
      c2!,
      call('networks', 'create', 'p1', { label: 'm', cidr: '10.2.0.0/30', vlan: 11 }),
      (o) => !o.ok && o.error.name === 'DuplicateError',
      'DuplicateError: the other client holds vlan 11',
    );
    await sc.setup(
      c1!,
      call('fixedIps', 'allocate', 'p1', { networkId: net.id, instanceId: null }),
    );
    await sc.check(
      c2!,
      call('fixedIps', 'allocate', 'p1', { networkId: net.id, instanceId: null }),
      field('address', '10.1.0.2'),
      '10.1.0.2: the other client took 10.1.0.1',
    );
    await sc.check(
      c2!,
      call('fixedIps', 'allocate', 'p1', { networkId: net.id, instanceId: null }),
      (o) => !o.ok && o.error.name === 'ExhaustedError',
      'ExhaustedError',
    );
  });
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
  const scenarios = [
    otherProjects,
    adminOnly,
    sharedNetworks,
    readDeleted,
    uniqueAmongLive,
    namespaces,
    twoClients,
  ];
  for (const scenario of scenarios) await scenario(session, options.coverage);
  const n = await hostileInput(session, options.coverage);
  return { runs: n + scenarios.length };
}
