/**
 * The upgrade group: a live upgrade of the `widget` fixtures (L 1.0 → M 1.1 → N 2.0) run
 * through `@polystore/migrate` against the adapter, with fleet members of each release
 * writing while the operator's engine expands, migrates, switches and contracts.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  type AnyResource,
  ConflictError,
  FencedError,
  historyOf,
  type IdGenerator,
  IncompatibleVersionError,
  ManualClock,
  type OpenStoresOptions,
  type ResourceStore,
  SchemaBehindError,
  type Stores,
  sequentialIds,
  UnavailableError,
  WriteBelowPinError,
  type WritePolicy,
} from '@polystore/core';
import {
  type Backend,
  compareCodePoints,
  createCheckedStores,
  createStores,
  isOlder,
  type ResourceDriver,
  type VersionPage,
} from '@polystore/core/adapter';
import { MemoryBackend, MemoryDatabase } from '@polystore/memory/internal';
import {
  exitCodeOf,
  type FleetMember,
  fleetMemberResource,
  type JoinFleetOptions,
  joinFleet,
  MigrateExitCode,
  type MigrateOptions,
  type MigrateReport,
  type OpenedTarget,
  openUpgrade,
  type StoreTarget,
  type Upgrade,
  UpgradeBlockedError,
  type UpgradeStatus,
} from '@polystore/migrate';
import { widgetL, widgetM, widgetN } from '@polystore/testing/upgrade-fixtures';
import type { OpenUpgradeFn } from './conformance-options.js';
import { CONTEXTS } from './contexts.js';
import { Rng } from './evolution-chain.js';
import type { GroupContext, GroupOutcome } from './group.js';
import { Failure, NoBackend, runOpenerGroup } from './opener-group.js';
import { show } from './outcome.js';
import { CLOCK_EPOCH } from './session.js';

/** The checks of the upgrade group, one coverage unit each. */
export const UPGRADE_CHECKS = ['cycle', 'gates', 'status', 'resume'] as const;

/** One check of the upgrade group. */
export type UpgradeCheck = (typeof UPGRADE_CHECKS)[number];

/** The coverage units of the upgrade group. */
export const UPGRADE_UNITS: readonly string[] = UPGRADE_CHECKS.map((c) => `upgrade.${c}`);

/** Writers per release in the cycle, and the acknowledged operations each makes per phase. */
const WRITERS = 2;
const OPS_PER_PHASE = 4;
/** Records a writer creates at most (it updates and deletes its own after that). */
const CREATES_PER_WRITER = 5;
/** Records per migrate page in the cycle (small, so a migrate has many pages to race). */
const CYCLE_BATCH = 5;
/** How long the group waits for something that takes one heartbeat, ms (a loaded machine). */
const PATIENCE_MS = 30_000;
/** Heartbeats of the cycle's members: often, with a lease no loaded machine misses. */
const MEMBER = { heartbeatMs: 50, leaseMs: 10_000 } as const;

type Rec = Readonly<Record<string, unknown>>;
type Ctx = 'p1' | 'p2';
type AnyStore = ResourceStore<AnyResource>;

/** What a call did, with what it threw (the error itself, for `instanceof`). */
type Try<T = unknown> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly thrown: unknown };

async function attempt<T>(call: () => Promise<T>): Promise<Try<T>> {
  try {
    return { ok: true, value: await call() };
  } catch (thrown) {
    return { ok: false, thrown };
  }
}

/** A call's result in a log line or message: `ok`, or the error's class and message. */
function shown(t: Try): string {
  if (t.ok) return 'ok';
  const e = t.thrown;
  return e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const tail = (id: unknown) => String(id).slice(-4);
const releaseOf = (def: AnyResource) => `${def.version}.0`;

/** Writes the suite accepts as refused with nothing written: the record is as before. */
function refusedCleanly(err: unknown): boolean {
  return (
    err instanceof ConflictError ||
    err instanceof FencedError ||
    err instanceof IncompatibleVersionError ||
    err instanceof WriteBelowPinError
  );
}

/** One acknowledged write, as the reference model replays it. */
interface Acked {
  readonly def: AnyResource;
  readonly op: 'create' | 'update' | 'delete';
  readonly input: Rec | undefined;
  /** The object version the acknowledged record was stored at (the write version used). */
  readonly version: string;
  /** The acknowledged record's `updatedAt` (the clock of the write). */
  readonly at: string;
  readonly by: string;
}

/** What the suite knows of one record: its owner's view, its lock, its acknowledged writes. */
interface Tracked {
  readonly ctx: Ctx;
  revision: number;
  deleted: boolean;
  lock: Promise<void>;
  readonly writes: Acked[];
}

/** Calls the engine made on a resource's driver, by method (see `observe`). */
type Calls = Record<string, number>;

/**
 * An object that answers every property of `inner` (methods bound to it) but those
 * `override` gives. Its target is a fresh object, so a frozen `inner` is wrapped too.
 */
function forward<T extends object>(inner: T, override: (prop: string | symbol) => unknown): T {
  return new Proxy({} as T, {
    get(_target, prop) {
      const own = override(prop);
      if (own !== undefined) return own;
      const v: unknown = Reflect.get(inner, prop, inner);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(inner) : v;
    },
    has: (_target, prop) => prop in inner,
  });
}

/**
 * A backend as the engine sees it: every call goes to the adapter's, but calls on the
 * widget driver are counted, and a page `scanVersion` returns is first handed to `onScan`
 * (the group writes to records of it before the engine rewrites them: a slow runner).
 */
function observe(backend: Backend, calls: Calls, onScan: () => OnScan | undefined): Backend {
  const wrapped = new Map<ResourceDriver, ResourceDriver>();
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  const driverOf = (resource: AnyResource): ResourceDriver => {
    const inner = backend.driver(resource);
    if (resource.name !== widgetL.name) return inner;
    let d = wrapped.get(inner);
    if (!d) {
      d = forward(inner, (prop) => {
        const v: unknown = Reflect.get(inner, prop, inner);
        if (typeof v !== 'function' || typeof prop !== 'string') return undefined;
        const fn = (v as (...args: unknown[]) => unknown).bind(inner);
        if (prop === 'scanVersion')
          return async (...args: unknown[]) => {
            count(prop);
            const page = (await fn(...args)) as VersionPage;
            await onScan()?.(page);
            return page;
          };
        return (...args: unknown[]) => {
          count(prop);
          return fn(...args);
        };
      });
      wrapped.set(inner, d);
    }
    return d;
  };
  return forward(backend, (prop) => (prop === 'driver' ? driverOf : undefined));
}

/** What the group does with a page the engine scanned, before the engine rewrites it. */
type OnScan = (page: VersionPage) => Promise<void>;

/** A Stores bag whose fleet-member writes fail while `gate.closed`: a member that cannot heartbeat. */
function gateHeartbeats(stores: Stores, gate: { closed: boolean }): Stores {
  const gated = (store: AnyStore): AnyStore =>
    forward(store, (prop) =>
      (prop === 'update' || prop === 'create') && gate.closed
        ? async () => {
            throw new UnavailableError('the suite cut this member off from its store');
          }
        : undefined,
    );
  return Object.freeze({
    get instances() {
      return stores.instances;
    },
    get networks() {
      return stores.networks;
    },
    get fixedIps() {
      return stores.fixedIps;
    },
    get migrations() {
      return stores.migrations;
    },
    get services() {
      return stores.services;
    },
    backend: stores.backend,
    capabilities: stores.capabilities,
    store<R extends AnyResource>(resource: R): ResourceStore<R> {
      const s = stores.store(resource);
      return (
        (resource as AnyResource) === fleetMemberResource ? gated(s as unknown as AnyStore) : s
      ) as ResourceStore<R>;
    },
    close: () => stores.close(),
  });
}

/** Random values of the widget fields (every release's), by field name. */
function randomValue(field: string, rng: Rng): unknown {
  switch (field) {
    case 'name':
    case 'title':
      return `${rng.pick(['ash', 'birch', 'cedar', 'elm', 'fir'])}${rng.int(100)}`;
    case 'size':
      return rng.int(100);
    case 'note':
      return rng.chance(0.3) ? null : `n${rng.int(1000)}`;
    case 'color':
      return rng.pick(['small', 'large', null]);
    default:
      throw new Failure(`no value for widget field ${field}`);
  }
}

/** The fields of `def` an update may set while writes use `pin` (what both have), serial aside. */
function writableAt(def: AnyResource, pin: string): string[] {
  const at = historyOf(def).at(pin)?.fields ?? {};
  return def.fieldNames.filter((f) => f !== 'serial' && Object.hasOwn(at, f));
}

/** One namespace going through a live upgrade: its members, engines, writers and log. */
class UpgradeRun {
  readonly log: string[] = [];
  readonly clock = new ManualClock(CLOCK_EPOCH);
  readonly ids: IdGenerator = sequentialIds();
  readonly records = new Map<string, Tracked>();
  /** Calls the engines made on the widget driver. */
  readonly calls: Calls = {};
  onScan: OnScan | undefined;
  opens = 0;
  openMs = 0;
  readonly #closers: (() => Promise<void>)[] = [];
  readonly #start = performance.now();
  #where = '';

  constructor(
    readonly g: GroupContext,
    readonly opener: OpenUpgradeFn,
    readonly namespace: string,
    readonly rng: Rng,
  ) {}

  at(where: string): void {
    this.#where = where;
    this.log.push(`— ${where} (${Math.round(performance.now() - this.#start)} ms in)`);
  }

  note(line: string): void {
    this.log.push(line);
  }

  fail(message: string): never {
    throw new Failure(`${this.#where}: ${message}`);
  }

  /** The adapter's opener on this namespace, with the manifest checked and a backend required. */
  async #open(options: OpenStoresOptions): Promise<OpenedTarget & { backend: Backend }> {
    const start = performance.now();
    const opened = await this.opener(this.namespace, options);
    this.opens += 1;
    this.openMs += performance.now() - start;
    this.g.session.checkManifest(opened.stores);
    if (opened.backend === undefined) {
      await opened.stores.close();
      throw new NoBackend(
        'the adapter opens a ready Stores bag, with no backend for the live-upgrade engine (a remote server: the upgrade runs where its backend is)',
      );
    }
    return opened as OpenedTarget & { backend: Backend };
  }

  /** The engine of release `def`, on an observed backend. */
  async engine(def: AnyResource, extra: { clockSkewMs?: number } = {}): Promise<Upgrade> {
    const target: StoreTarget = async (options) => {
      const opened = await this.#open(options);
      return {
        stores: opened.stores,
        backend: observe(opened.backend, this.calls, () => this.onScan),
      };
    };
    const up = await openUpgrade(target, {
      resources: [def],
      ids: this.ids,
      runnerLeaseMs: 5_000,
      ...extra,
    });
    this.#closers.push(() => up.close());
    return up;
  }

  /** A process of release `def` joining the fleet. */
  async join(
    def: AnyResource,
    options: Partial<Pick<JoinFleetOptions, 'heartbeatMs' | 'leaseMs'>> & {
      gate?: { closed: boolean };
    } = {},
  ): Promise<FleetMember> {
    const { gate, ...timing } = options;
    const target: StoreTarget = async (o) => {
      const opened = await this.#open(o);
      return gate ? { ...opened, stores: gateHeartbeats(opened.stores, gate) } : opened;
    };
    const member = await joinFleet(target, {
      service: 'widget-api',
      release: releaseOf(def),
      resources: [def],
      clock: this.clock,
      ids: this.ids,
      ...MEMBER,
      ...timing,
    });
    this.#closers.push(() => member.close());
    this.note(
      `join ${member.member.slice(-6)} release ${releaseOf(def)} (writes at ${member.pin(def)})`,
    );
    return member;
  }

  async closeAll(): Promise<void> {
    for (const close of this.#closers.splice(0).reverse()) await close().catch(() => undefined);
  }

  /** Fails unless `call` is refused with `type` (and `check` holds of the error). */
  async refused<E extends Error>(
    what: string,
    call: () => Promise<unknown>,
    type: abstract new (...args: never[]) => E,
    check: (err: E) => string | undefined = () => undefined,
  ): Promise<E> {
    const out = await attempt(call);
    this.note(`${what} → ${shown(out)}`);
    if (out.ok) this.fail(`${what} succeeded; expected ${type.name}`);
    const err = out.thrown;
    if (!(err instanceof type))
      this.fail(`${what} failed with ${shown(out)}; expected ${type.name}`);
    const problem = check(err);
    if (problem) this.fail(`${what}: ${problem}`);
    return err;
  }

  /** Runs `call`, failing with what it threw. */
  async must<T>(what: string, call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    const out = await attempt(call);
    this.note(`${what} → ${shown(out)} (${Math.round(performance.now() - start)} ms)`);
    if (!out.ok) this.fail(`${what} failed: ${shown(out)}`);
    return out.value;
  }

  /** Runs `fn` holding the lock of record `id` (its writes are then in acknowledgement order). */
  async locked<T>(id: string, fn: (t: Tracked) => Promise<T>): Promise<T> {
    const t = this.records.get(id)!;
    const before = t.lock;
    let release = () => {};
    t.lock = new Promise<void>((resolve) => {
      release = resolve;
    });
    await before;
    try {
      return await fn(t);
    } finally {
      release();
    }
  }

  /** Records an acknowledged write of `rec`. */
  acked(id: string, w: Omit<Acked, 'version' | 'at'>, rec: Rec): void {
    const t = this.records.get(id)!;
    t.revision = rec.revision as number;
    if (w.op === 'delete') t.deleted = true;
    t.writes.push({ ...w, version: String(rec.objectVersion), at: String(rec.updatedAt) });
  }

  /** Creates `values` through `member` as a `def` process; the new record's id. */
  async create(
    member: FleetMember,
    def: AnyResource,
    ctx: Ctx,
    values: Rec,
    by: string,
  ): Promise<Try> {
    const out = await attempt(() =>
      (member.stores.store(def) as unknown as AnyStore).create(CONTEXTS[ctx], values as never),
    );
    this.clock.advance(1000);
    if (out.ok) {
      const rec = out.value as Rec;
      const id = String(rec.id);
      this.records.set(id, {
        ctx,
        revision: 0,
        deleted: false,
        lock: Promise.resolve(),
        writes: [],
      });
      this.acked(id, { def, op: 'create', input: values, by }, rec);
    }
    return out;
  }

  /** Updates record `id` through `member` as a `def` process, under its lock. */
  async update(
    member: FleetMember,
    def: AnyResource,
    id: string,
    patch: Rec,
    withRevision: boolean,
    by: string,
  ): Promise<Try | undefined> {
    return this.locked(id, async (t) => {
      if (t.deleted) return undefined;
      const store = member.stores.store(def) as unknown as AnyStore;
      const options = withRevision ? { expectedRevision: t.revision } : undefined;
      const out = await attempt(() => store.update(CONTEXTS[t.ctx], id, patch as never, options));
      this.clock.advance(1000);
      if (out.ok) this.acked(id, { def, op: 'update', input: patch, by }, out.value as Rec);
      else if (out.thrown instanceof ConflictError) {
        // Someone else wrote it (the runner): learn its revision, as a caller would.
        const now = await attempt(() => store.get(CONTEXTS[t.ctx], id));
        if (now.ok) t.revision = (now.value as Rec).revision as number;
      }
      return out;
    });
  }

  /** Deletes record `id` through `member`, under its lock. */
  async delete(
    member: FleetMember,
    def: AnyResource,
    id: string,
    by: string,
  ): Promise<Try | undefined> {
    return this.locked(id, async (t) => {
      if (t.deleted) return undefined;
      const store = member.stores.store(def) as unknown as AnyStore;
      const out = await attempt(() => store.delete(CONTEXTS[t.ctx], id));
      this.clock.advance(1000);
      if (out.ok) this.acked(id, { def, op: 'delete', input: undefined, by }, out.value as Rec);
      return out;
    });
  }

  /** Every widget record (live and deleted, every project) through `stores`, by id. */
  async readAll(stores: Stores, def: AnyResource): Promise<Map<string, Rec>> {
    const out = new Map<string, Rec>();
    const store = stores.store(def) as unknown as AnyStore;
    let after: string | null = null;
    for (let i = 0; i < 1000; i++) {
      const page: { items: readonly Rec[]; next: string | null } = await store.list(
        CONTEXTS['admin/yes'],
        { limit: 100, after } as never,
      );
      for (const r of page.items) out.set(String(r.id), r);
      if (page.next === null) return out;
      after = page.next;
    }
    return this.fail('listing every widget: still a next page after 1000 pages');
  }

  /** Runs `call` and fails unless it left the engine's widget driver unread (only counted). */
  async withoutScan<T>(what: string, call: () => Promise<T>): Promise<T> {
    const before = { ...this.calls };
    const out = await call();
    const read = Object.entries(this.calls)
      .filter(([m, n]) => m !== 'countByVersion' && n !== (before[m] ?? 0))
      .map(([m, n]) => `${m} ×${n - (before[m] ?? 0)}`);
    if (read.length > 0)
      this.fail(`${what} read records (${read.join(', ')}); it must answer from countByVersion`);
    return out;
  }
}

/** A process of a release writing random operations to its own records until stopped. */
class Writer {
  ops = 0;
  created = 0;
  readonly ids: string[] = [];
  error: string | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(
    readonly run: UpgradeRun,
    readonly member: FleetMember,
    readonly def: AnyResource,
    readonly tag: string,
    readonly rng: Rng,
  ) {}

  start(): void {
    this.#loop = (async () => {
      while (!this.#stopped && this.error === undefined) {
        await this.step();
        this.ops += 1;
        // A pause between operations (a service between requests): heartbeats and the engine
        // run meanwhile, and the writers do not hog a slow store.
        await sleep(5 + this.rng.int(10));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
    if (this.error) this.run.fail(this.error);
  }

  #check(what: string, out: Try | undefined): void {
    if (out === undefined) return;
    this.run.note(
      `${this.tag} ${what} → ${out.ok ? `ok r${(out.value as Rec).revision} v${(out.value as Rec).objectVersion}` : shown(out)}`,
    );
    if (!out.ok && !refusedCleanly(out.thrown))
      this.error ??= `${this.tag} (release ${releaseOf(this.def)}) ${what}: ${shown(out)}; only ConflictError, FencedError, IncompatibleVersionError or WriteBelowPinError may refuse a write here`;
  }

  async step(): Promise<void> {
    const { rng, def } = this;
    const live = this.ids.filter((id) => !this.run.records.get(id)!.deleted);
    if (live.length === 0 || (this.created < CREATES_PER_WRITER && rng.chance(0.35))) {
      const values: Record<string, unknown> = { serial: `${this.tag}-${this.created}` };
      this.created += 1;
      for (const f of def.fieldNames)
        if (f !== 'serial' && rng.chance(0.6)) values[f] = randomValue(f, rng);
      const ctx = rng.pick(['p1', 'p2'] as const);
      const out = await this.run.create(this.member, def, ctx, values, this.tag);
      if (out.ok) this.ids.push(String((out.value as Rec).id));
      this.#check(`${ctx} create ${show(values, 120)}`, out);
      return;
    }
    const id = rng.pick(live);
    if (rng.chance(0.1)) {
      this.#check(`delete ${tail(id)}`, await this.run.delete(this.member, def, id, this.tag));
      return;
    }
    const fields = rng.shuffle(writableAt(def, this.member.pin(def))).slice(0, 1 + rng.int(2));
    const patch = Object.fromEntries(fields.map((f) => [f, randomValue(f, rng)]));
    const withRevision = rng.chance(0.5);
    this.#check(
      `update ${tail(id)} ${show(patch, 120)}${withRevision ? ' (revision)' : ''}`,
      await this.run.update(this.member, def, id, patch, withRevision, this.tag),
    );
  }
}

/** The writers of one release: `WRITERS` members, each writing its own records. */
class Release {
  constructor(
    readonly def: AnyResource,
    readonly members: readonly FleetMember[],
    readonly writers: readonly Writer[],
  ) {}

  static async join(run: UpgradeRun, def: AnyResource, label: string): Promise<Release> {
    const members: FleetMember[] = [];
    const writers: Writer[] = [];
    for (let i = 0; i < WRITERS; i++) {
      const m = await run.join(def);
      members.push(m);
      const w = new Writer(run, m, def, `${label}${i}`, new Rng(run.rng.int(2 ** 31)));
      writers.push(w);
      w.start();
    }
    return new Release(def, members, writers);
  }

  /** Waits until every writer acknowledged `n` more operations. */
  async progress(run: UpgradeRun, n: number): Promise<void> {
    const targets = this.writers.map((w) => w.ops + n);
    const deadline = Date.now() + PATIENCE_MS;
    while (this.writers.some((w, i) => w.ops < targets[i]! && w.error === undefined)) {
      if (Date.now() > deadline)
        run.fail(
          `release ${releaseOf(this.def)}'s writers made fewer than ${n} operations in ${PATIENCE_MS} ms`,
        );
      await sleep(5);
    }
    const broken = this.writers.find((w) => w.error !== undefined);
    if (broken) run.fail(broken.error!);
  }

  async stop(): Promise<void> {
    for (const w of this.writers) await w.stop();
  }

  /** Leaves the fleet (its member records are deleted: the engine stops waiting for it). */
  async leave(): Promise<void> {
    await this.stop();
    for (const m of this.members) await m.close();
  }
}

/**
 * While the engine migrates, writes to records of some pages it scanned before it
 * rewrites them, through `member` (a live process of the release the pin moved to): the
 * engine's rewrite must then conflict and convert the record as written, never undo it.
 */
function raceScans(run: UpgradeRun, member: FleetMember, def: AnyResource, rng: Rng): OnScan {
  let pages = 0;
  return async (page) => {
    pages += 1;
    if (pages > 1 && !rng.chance(0.5)) return;
    const candidates = page.records.filter((r) => run.records.get(r.id)?.deleted === false);
    for (const r of rng.shuffle(candidates).slice(0, 2)) {
      const size = ((Number(r.size) || 0) + 1 + rng.int(50)) % 100;
      const out = await run.update(member, def, r.id, { size }, false, 'race');
      run.note(
        `race: update ${tail(r.id)} scanned at r${r.revision} before its rewrite → ${out === undefined ? 'deleted meanwhile' : out.ok ? `ok r${(out.value as Rec).revision}` : shown(out)}`,
      );
      if (out && !out.ok && !refusedCleanly(out.thrown))
        run.fail(`an update of ${tail(r.id)} during the migrate failed: ${shown(out)}`);
    }
  };
}

/** Runs a migrate with a racing writer, checking its report. */
async function migrateRacing(
  run: UpgradeRun,
  up: Upgrade,
  member: FleetMember,
  def: AnyResource,
): Promise<MigrateReport> {
  run.onScan = raceScans(run, member, def, new Rng(run.rng.int(2 ** 31)));
  try {
    const [report] = await run.must(`migrate to ${def.version} (batch ${CYCLE_BATCH})`, () =>
      up.migrate({ batch: CYCLE_BATCH, waitMs: PATIENCE_MS }),
    );
    run.note(`migrate report ${show(report)}`);
    if (report?.remaining !== 0)
      run.fail(`migrate to ${def.version} left records behind: ${show(report)}`);
    return report;
  } finally {
    run.onScan = undefined;
  }
}

/** Fails unless the stored versions are all at `version` or newer. */
function checkNoneBelow(run: UpgradeRun, status: UpgradeStatus, version: string): void {
  const r = status.resources[0]!;
  if (r.belowCode !== 0 || Object.keys(r.stored).some((v) => isOlder(v, version)))
    run.fail(
      `records remain below ${version} after migrate: ${show(r.stored)} (${r.belowCode} below the code)`,
    );
}

/**
 * Replays every acknowledged write on the memory reference model (each with the client
 * definition and the write version it used), migrates the model to N and reads it.
 */
async function replayOnModel(run: UpgradeRun): Promise<Map<string, Rec>> {
  const db = new MemoryDatabase();
  const clock = new ManualClock(CLOCK_EPOCH);
  let version = widgetL.version;
  let nextId = '';
  const policy: WritePolicy = {
    writeVersion: () => version,
    beforeWrite: () => undefined,
  };
  // M first: the model's table has every element from the start (M's is the widest).
  const clients = new Map<AnyResource, Stores>();
  for (const def of [widgetM, widgetL, widgetN])
    clients.set(
      def,
      createStores(new MemoryBackend(db, { resources: [def] }), {
        clock,
        ids: () => nextId,
        resources: [def],
        writePolicy: policy,
      }),
    );
  const ids = [...run.records.keys()].sort(compareCodePoints);
  for (const id of ids) {
    const t = run.records.get(id)!;
    for (const w of t.writes) {
      version = w.version;
      clock.set(Date.parse(w.at));
      nextId = id;
      const store = clients.get(w.def)!.store(w.def) as unknown as AnyStore;
      const ctx = CONTEXTS[t.ctx];
      const out = await attempt(() =>
        w.op === 'create'
          ? store.create(ctx, w.input as never)
          : w.op === 'update'
            ? store.update(ctx, id, w.input as never)
            : store.delete(ctx, id),
      );
      if (!out.ok)
        run.fail(
          `the reference model refused ${w.by}'s acknowledged ${w.op} of ${tail(id)} at ${w.version} ${show(w.input)}: ${shown(out)}`,
        );
    }
  }
  for (const s of clients.values()) await s.close();
  const target: StoreTarget = async (options) => {
    const backend = new MemoryBackend(db, { resources: options.resources });
    return { backend, stores: await createCheckedStores(backend, options) };
  };
  const up = await openUpgrade(target, { resources: [widgetN] });
  try {
    await up.migrate();
    return await run.readAll(up.stores, widgetN);
  } finally {
    await up.close();
  }
}

/** Compares the adapter's final records with the model's replay of the acknowledged writes. */
function compareWithModel(
  run: UpgradeRun,
  adapter: Map<string, Rec>,
  model: Map<string, Rec>,
): void {
  const problems: string[] = [];
  for (const id of new Set([...adapter.keys(), ...model.keys()])) {
    const a = adapter.get(id);
    const m = model.get(id);
    const writes = run.records.get(id)?.writes ?? [];
    const history = () =>
      writes.map((w) => `${w.by} ${w.op} v${w.version} ${show(w.input, 80)}`).join('; ');
    if (!a || !m) {
      problems.push(
        `${tail(id)}: ${a ? 'the adapter has it, the model not' : 'the model has it, the adapter not'} (writes: ${history()})`,
      );
      continue;
    }
    const { revision: ra, ...restA } = a;
    const { revision: _rm, ...restM } = m;
    if (!isDeepStrictEqual(restA, restM))
      problems.push(
        `${tail(id)}: the adapter has ${show(restA, 300)}, the model ${show(restM, 300)} (acknowledged writes: ${history()})`,
      );
    // Each acknowledged write counts once, each conversion once (L → M, M → N: at most two).
    const n = writes.length;
    if (typeof ra !== 'number' || ra < n || ra > n + 2)
      problems.push(
        `${tail(id)}: revision ${String(ra)} after ${n} acknowledged writes and at most 2 conversions`,
      );
  }
  if (problems.length > 0)
    run.fail(
      `the final store differs from the reference model's replay of the ${[...run.records.values()].reduce((s, t) => s + t.writes.length, 0)} acknowledged writes:\n  ${problems.slice(0, 8).join('\n  ')}${problems.length > 8 ? `\n  … ${problems.length - 8} more` : ''}`,
    );
}

/**
 * L → M → N through expand / migrate / switch / contract with members of each release
 * writing random operations throughout, and a write to scanned records racing each
 * migrate; the final store must equal the model's replay of the acknowledged writes.
 */
async function checkCycle(run: UpgradeRun): Promise<void> {
  run.at('L (1.0) writers');
  const l = await Release.join(run, widgetL, 'L');
  await l.progress(run, OPS_PER_PHASE);

  run.at('expand to M (1.1) while L writes');
  const upM = await run.engine(widgetM);
  await run.must('expand M', () => upM.expand());
  run.at('M joins (pin 1.0): L and M write side by side');
  const m = await Release.join(run, widgetM, 'M');
  await Promise.all([l.progress(run, OPS_PER_PHASE), m.progress(run, OPS_PER_PHASE)]);

  run.at('L leaves; migrate to 1.1 while M writes');
  await l.leave();
  await migrateRacing(run, upM, m.members[0]!, widgetM);
  checkNoneBelow(run, await upM.status(), widgetM.version);
  await run.must('switch M', () => upM.switch());
  await m.progress(run, OPS_PER_PHASE);

  run.at('N (2.0) joins (pin 1.1): M and N write side by side');
  const upN = await run.engine(widgetN);
  await run.must('expand N', () => upN.expand());
  const n = await Release.join(run, widgetN, 'N');
  await Promise.all([m.progress(run, OPS_PER_PHASE), n.progress(run, OPS_PER_PHASE)]);

  run.at('M leaves; migrate to 2.0 and contract while N writes');
  await m.leave();
  await migrateRacing(run, upN, n.members[0]!, widgetN);
  for (const member of n.members) await member.heartbeat();
  await run.must('contract N', () => upN.contract());
  await n.progress(run, OPS_PER_PHASE);
  await n.stop();

  run.at('the final store against the reference model');
  const status = await upN.status();
  const created = [...run.records.values()].length;
  const stored = status.resources[0]!.stored;
  if (!isDeepStrictEqual({ ...stored }, { [widgetN.version]: created }))
    run.fail(
      `countByVersion says ${show(stored)} after the cycle; ${created} records were created, all now at 2.0`,
    );
  if (status.next !== 'none')
    run.fail(`status says ${status.next} is next after contract; expected none`);
  compareWithModel(run, await run.readAll(upN.stores, widgetN), await replayOnModel(run));
  run.note(
    `${created} records, ${[...run.records.values()].reduce((s, t) => s + t.writes.length, 0)} acknowledged writes`,
  );
  for (const member of n.members) await member.close();
}

/** The gates: migrate, contract and join refused when they must be; a lapsed member fenced. */
async function checkGates(run: UpgradeRun): Promise<void> {
  run.at('L writes; M cannot open before expand');
  const l = await run.join(widgetL);
  for (let i = 0; i < 3; i++)
    await run.must(`L creates g${i}`, () =>
      run
        .create(l, widgetL, 'p1', { serial: `g${i}`, name: `g${i}` }, 'L')
        .then((o) => (o.ok ? o : Promise.reject(o.thrown))),
    );
  await run.refused('M joins before expand', () => run.join(widgetM), SchemaBehindError);
  const upM = await run.engine(widgetM);
  await run.must('expand M', () => upM.expand());
  const m = await run.join(widgetM);

  run.at('migrate refused while L (1.0) is live');
  await run.refused(
    'migrate to 1.1 with L live',
    () => upM.migrate({ waitMs: 300 }),
    UpgradeBlockedError,
    (e) =>
      e.phase === 'migrate' && e.reasons.length > 0
        ? undefined
        : `phase ${e.phase}, reasons ${show(e.reasons)}`,
  );
  await l.close();
  await run.must('migrate to 1.1 once L left', () => upM.migrate({ waitMs: PATIENCE_MS }));
  await run.must('switch M', () => upM.switch());
  await m.heartbeat();

  run.at('a release older than the pin is refused at join');
  await run.refused(
    'L joins with the pin at 1.1',
    () => run.join(widgetL),
    IncompatibleVersionError,
  );

  run.at('contract refused while M (1.1) is live and records are 1.1');
  const upN = await run.engine(widgetN, { clockSkewMs: 0 });
  await run.must('expand N', () => upN.expand());
  const n = await run.join(widgetN);
  await run.refused(
    'contract with M live',
    () => upN.contract(),
    UpgradeBlockedError,
    (e) => (e.phase === 'contract' ? undefined : `phase ${e.phase}`),
  );
  await m.close();
  await run.refused(
    'contract with records at 1.1',
    () => upN.contract(),
    UpgradeBlockedError,
    (e) => (e.phase === 'contract' ? undefined : `phase ${e.phase}`),
  );
  await run.must('migrate to 2.0', () => upN.migrate({ waitMs: PATIENCE_MS }));
  await n.heartbeat();
  const [dropped] = await run.must('contract once nothing is older', () => upN.contract());
  const names = [...(dropped?.elements ?? [])].sort();
  if (!isDeepStrictEqual(names, ['field name', 'field note']))
    run.fail(`contract dropped ${show(names)}; expected field name and field note`);

  run.at('a member past its lease is fenced, and a heartbeat unfences it');
  const gate = { closed: false };
  const f = await run.join(widgetN, { heartbeatMs: 50, leaseMs: 1_000, gate });
  await run.must('F creates before its lease lapses', () =>
    run
      .create(f, widgetN, 'p2', { serial: 'f0' }, 'F')
      .then((o) => (o.ok ? o : Promise.reject(o.thrown))),
  );
  gate.closed = true;
  // Every heartbeat that succeeds from now on started before the gate closed: once its
  // lease has passed since then, the member must be fenced whatever was in flight.
  const closedAt = performance.now();
  const deadline = Date.now() + PATIENCE_MS;
  while (!f.fenced || performance.now() - closedAt <= 1_000) {
    if (Date.now() > deadline)
      run.fail(
        `a member whose heartbeats fail was not fenced within ${PATIENCE_MS} ms (lease 1000 ms)`,
      );
    await sleep(20);
  }
  await run.refused(
    'F creates while fenced',
    () =>
      run
        .create(f, widgetN, 'p2', { serial: 'f1' }, 'F')
        .then((o) => (o.ok ? o : Promise.reject(o.thrown))),
    FencedError,
  );
  // The engine stops waiting for it: it is no longer a live member.
  while ((await upN.status()).services.some((s) => s.member === f.member)) {
    if (Date.now() > deadline) run.fail('the engine still counts a member live past its lease');
    await sleep(50);
  }
  gate.closed = false;
  // A heartbeat unfences it; on a loaded machine the write may still miss the fresh lease, so
  // heartbeat and write again (at most 3 times) before calling it a failure.
  let out: Try = { ok: false, thrown: new Error('not tried') };
  let unfenced = false;
  for (let i = 0; i < 3 && !out.ok; i++) {
    await run.must('F heartbeats', () => f.heartbeat());
    unfenced ||= !f.fenced;
    out = await run.create(f, widgetN, 'p2', { serial: `f${2 + i}` }, 'F');
    run.note(`F creates after its heartbeat → ${shown(out)}`);
    if (!out.ok && !(out.thrown instanceof FencedError)) break;
  }
  if (!unfenced) run.fail('a member is still fenced after each of 3 successful heartbeats');
  if (!out.ok || (out.value as Rec).objectVersion !== widgetN.version)
    run.fail(
      `a create after the heartbeat gave ${out.ok ? `objectVersion ${String((out.value as Rec).objectVersion)}` : shown(out)}; expected a 2.0 record`,
    );
  await n.close();
  await f.close();
}

/** What a status must say at one step. */
interface Expected {
  readonly next: UpgradeStatus['next'];
  readonly exit: number;
  readonly stored: Readonly<Record<string, number>>;
}

/** The status at each step: counts per version as written, the next phase, the exit code. */
async function checkStatus(run: UpgradeRun): Promise<void> {
  const written: Record<string, number> = {};
  const wrote = (version: string, n: number) => {
    written[version] = (written[version] ?? 0) + n;
  };
  const expect = async (up: Upgrade, step: string, e: Expected) => {
    const status = await run.withoutScan(`status (${step})`, () => up.status());
    const r = status.resources[0]!;
    const code = exitCodeOf(status);
    run.note(`status (${step}) → next ${status.next}, exit ${code}, stored ${show(r.stored)}`);
    const problems: string[] = [];
    if (!isDeepStrictEqual({ ...r.stored }, e.stored))
      problems.push(`counts ${show(r.stored)}, written ${show(e.stored)}`);
    if (status.next !== e.next) problems.push(`next ${status.next}, expected ${e.next}`);
    if (code !== e.exit) problems.push(`exit code ${code}, expected ${e.exit}`);
    if (problems.length > 0) run.fail(`status ${step}: ${problems.join('; ')}`);
  };
  const createMany = async (member: FleetMember, def: AnyResource, n: number, tag: string) => {
    for (let i = 0; i < n; i++) {
      const out = await run.create(
        member,
        def,
        run.rng.pick(['p1', 'p2'] as const),
        { serial: `${tag}${i}`, size: run.rng.int(100) },
        tag,
      );
      if (!out.ok) run.fail(`${tag} create ${i}: ${shown(out)}`);
      wrote(String((out.value as Rec).objectVersion), 1);
    }
  };

  run.at('L writes, some deleted');
  const l = await run.join(widgetL);
  await createMany(l, widgetL, 3 + run.rng.int(6), 'L');
  const victim = [...run.records.keys()][0]!;
  const del = await run.delete(l, widgetL, victim, 'L');
  if (!del?.ok) run.fail(`L delete: ${del ? shown(del) : 'gone'}`);
  const upM = await run.engine(widgetM);
  await expect(upM, 'before expand', {
    next: 'expand',
    exit: MigrateExitCode.expandNeeded,
    stored: { ...written },
  });
  await run.must('expand M', () => upM.expand());
  await expect(upM, 'expanded, L live', {
    next: 'migrate',
    exit: MigrateExitCode.blocked,
    stored: { ...written },
  });

  run.at('M writes at the pin (1.0); L leaves');
  const m = await run.join(widgetM);
  await createMany(m, widgetM, 2 + run.rng.int(4), 'M');
  await expect(upM, 'M writing, L live', {
    next: 'migrate',
    exit: MigrateExitCode.blocked,
    stored: { ...written },
  });
  await l.close();
  await expect(upM, 'L gone', {
    next: 'migrate',
    exit: MigrateExitCode.migrateNeeded,
    stored: { ...written },
  });
  await run.must('migrate to 1.1', () => upM.migrate({ waitMs: PATIENCE_MS }));
  const total = () => Object.values(written).reduce((a, b) => a + b, 0);
  const all = (version: string) => {
    const n = total();
    for (const k of Object.keys(written)) delete written[k];
    written[version] = n;
  };
  all(widgetM.version);
  await expect(upM, 'migrated', {
    next: 'switch',
    exit: MigrateExitCode.switchNeeded,
    stored: { ...written },
  });
  await m.heartbeat();
  await createMany(m, widgetM, 1 + run.rng.int(3), 'M2-');
  await run.must('switch M', () => upM.switch());
  await expect(upM, 'switched', {
    next: 'none',
    exit: MigrateExitCode.upToDate,
    stored: { ...written },
  });

  run.at('N: the pin must move while M is live');
  const upN = await run.engine(widgetN);
  await expect(upN, 'N code, M live', {
    next: 'migrate',
    exit: MigrateExitCode.blocked,
    stored: { ...written },
  });
  await m.close();
  await expect(upN, 'M gone', {
    next: 'migrate',
    exit: MigrateExitCode.migrateNeeded,
    stored: { ...written },
  });
  await run.must('migrate to 2.0', () => upN.migrate({ waitMs: PATIENCE_MS }));
  all(widgetN.version);
  await expect(upN, 'migrated to 2.0', {
    next: 'contract',
    exit: MigrateExitCode.contractReady,
    stored: { ...written },
  });
  await run.must('contract N', () => upN.contract());
  await expect(upN, 'contracted', {
    next: 'none',
    exit: MigrateExitCode.upToDate,
    stored: { ...written },
  });
}

/** A migrate stopped at random pages resumes from its checkpoint to the same end state. */
async function checkResume(run: UpgradeRun): Promise<void> {
  run.at('L writes, then leaves');
  const l = await run.join(widgetL);
  const n = 8 + run.rng.int(13);
  for (let i = 0; i < n; i++) {
    const out = await run.create(
      l,
      widgetL,
      run.rng.pick(['p1', 'p2'] as const),
      { serial: `r${i}`, name: `n${i}`, size: run.rng.int(100) },
      'L',
    );
    if (!out.ok) run.fail(`L create ${i}: ${shown(out)}`);
  }
  await l.close();
  let up = await run.engine(widgetM);
  await run.must('expand M', () => up.expand());
  const before = await run.readAll(up.stores, widgetM);
  const batch = 2 + run.rng.int(3);
  let done = 0;
  for (let round = 0; done < n; round++) {
    if (round > n) run.fail(`migrate still not done after ${round} rounds`);
    const pages = Math.ceil((n - done) / batch);
    const stopAt = pages > 1 ? 1 + run.rng.int(pages - 1) : pages;
    const stop = new AbortController();
    let seen = 0;
    const options: MigrateOptions = {
      batch,
      waitMs: PATIENCE_MS,
      signal: stop.signal,
      onProgress: () => {
        seen += 1;
        if (seen === stopAt) stop.abort();
      },
    };
    run.at(`round ${round + 1}: migrate (batch ${batch}) stopped after page ${stopAt} of ${pages}`);
    const [report] = await run.must('migrate', () => up.migrate(options));
    const converted = Math.min(stopAt * batch, n - done);
    done += converted;
    if (report?.converted !== converted || report.remaining !== n - done)
      run.fail(
        `migrate stopped after ${stopAt} pages of ${batch} reports ${show(report)}; expected ${converted} converted, ${n - done} remaining`,
      );
    const status = (await up.status()).resources[0]!;
    const expected: Record<string, number> = {};
    if (n - done > 0) expected[widgetL.version] = n - done;
    expected[widgetM.version] = done;
    if (!isDeepStrictEqual({ ...status.stored }, expected) || status.converted !== done)
      run.fail(
        `after ${done} of ${n} converted, status says stored ${show(status.stored)}, converted ${status.converted}; expected ${show(expected)}, ${done}`,
      );
    if (done < n && status.checkpoint === null) run.fail('a stopped migrate left no checkpoint');
    // Sometimes another runner (a fresh engine) resumes, as after a killed one.
    if (run.rng.chance(0.5)) {
      await up.close();
      up = await run.engine(widgetM);
    }
  }
  run.at('every record converted once');
  const after = await run.readAll(up.stores, widgetM);
  const problems: string[] = [];
  for (const [id, b] of before) {
    const a = after.get(id);
    const { revision: rb, objectVersion: _vb, ...restB } = b;
    const { revision: ra, objectVersion: va, ...restA } = a ?? {};
    if (
      !a ||
      va !== widgetM.version ||
      ra !== (rb as number) + 1 ||
      !isDeepStrictEqual(restA, restB)
    )
      problems.push(
        `${tail(id)}: before r${String(rb)} ${show(restB, 200)}, after ${a ? `r${String(ra)} v${String(va)} ${show(restA, 200)}` : 'gone'}`,
      );
  }
  if (after.size !== before.size)
    problems.push(`${before.size} records before, ${after.size} after`);
  if (problems.length > 0)
    run.fail(
      `each record must be rewritten once (revision +1) to the record read through M before:\n  ${problems.slice(0, 6).join('\n  ')}`,
    );
}

const CHECKS: Readonly<Record<UpgradeCheck, (run: UpgradeRun) => Promise<void>>> = {
  cycle: checkCycle,
  gates: checkGates,
  status: checkStatus,
  resume: checkResume,
};

/**
 * The upgrade group. Through `@polystore/migrate` (`joinFleet`, `openUpgrade`) on the
 * adapter, each check in a fresh namespace:
 * - cycle: L → M → N through expand / migrate / switch / contract, members of each release
 *   writing random operations throughout and a write racing each migrate's rewrites; the
 *   final store must equal the memory model's replay of the acknowledged writes, with no
 *   record below 2.0;
 * - gates: migrate refused while an older member is live, contract while a record is older
 *   or an older member is live, a release older than the pin refused at join, a member past
 *   its lease fenced (`FencedError`) and unfenced by a heartbeat;
 * - status: counts per version as written (no record read), next phase and exit code at
 *   each step;
 * - resume: a migrate stopped at random pages resumes from its checkpoint to the same end
 *   state, each record rewritten once.
 */
export function runUpgrade(g: GroupContext): Promise<GroupOutcome> {
  const upgrade = g.session.options.upgrade;
  return runOpenerGroup(g, 'upgrade', upgrade, UPGRADE_UNITS, () => {
    const rng = new Rng(g.seed ^ 0x0b9a4e);
    return UPGRADE_CHECKS.map((check) => ({
      label: check,
      note: check,
      unit: `upgrade.${check}`,
      start: () =>
        new UpgradeRun(
          g,
          (upgrade as { open: OpenUpgradeFn }).open,
          g.session.namespace(`up${check[0]}`),
          new Rng(rng.int(2 ** 31)),
        ),
      run: (run: UpgradeRun) => CHECKS[check](run),
    }));
  });
}
