import { isDeepStrictEqual } from 'node:util';
import {
  type AnyResource,
  type Clock,
  historyOf,
  type IdGenerator,
  ManualClock,
  type Stores,
  sequentialIds,
  UniqueViolationError,
} from '@polystore/core';
import {
  type Backend,
  compareCodePoints,
  createStores,
  type EvolutionDriver,
  elementNames,
  elementsBetween,
  elementsOf,
  inReadScope,
  matchesWhere,
  normaliseOrder,
  normaliseWhere,
  type ResourceDriver,
  readScope,
  recordComparator,
  type SchemaElements,
  type StoredRecord,
  supportsEvolution,
  upgradeFields,
  withPending,
} from '@polystore/core/adapter';
import { MemoryBackend, MemoryDatabase } from '@polystore/memory/internal';
import type { OpenDeps, OpenEvolutionFn, OpenedEvolution } from './conformance-options.js';
import { CONTEXTS } from './contexts.js';
import {
  type ChainStep,
  chainDefinitions,
  EVOLUTION_STEPS,
  type EvolutionStep,
  planChains,
  Rng,
} from './evolution-chain.js';
import {
  type EvolutionCommand,
  listCommand,
  randomCommand,
  valueFor,
} from './evolution-commands.js';
import type { GroupContext, GroupOutcome } from './group.js';
import { Failure, NoBackend, runOpenerGroup } from './opener-group.js';
import { diffOutcomes, type Outcome, sameOutcome, settle, show, showOutcome } from './outcome.js';
import { CLOCK_EPOCH } from './session.js';

/** The coverage units of the evolution group: one per kind of change. */
export const EVOLUTION_UNITS: readonly string[] = EVOLUTION_STEPS.map((s) => `evolution.${s}`);

/** Commands per phase: first writes at v1, then old and new clients side by side, then the new one alone. */
const SEED_COMMANDS = 6;
const SIDE_BY_SIDE_COMMANDS = 8;
const NEW_ONLY_COMMANDS = 5;
/** Records per `scanVersion` page of the migration (small, so paging is exercised). */
const SCAN_PAGE = 3;
const MAX_PAGES = 500;

type Rec = Readonly<Record<string, unknown>>;
type AnyStore = {
  create(ctx: unknown, values: unknown): Promise<Rec>;
  get(ctx: unknown, id: string): Promise<Rec>;
  getMany(ctx: unknown, ids: readonly string[]): Promise<Rec[]>;
  list(ctx: unknown, options: unknown): Promise<{ items: readonly Rec[]; next: string | null }>;
  count(ctx: unknown, where: unknown): Promise<number>;
  update(ctx: unknown, id: string, patch: unknown, options?: unknown): Promise<Rec>;
  delete(ctx: unknown, id: string, options?: unknown): Promise<Rec>;
};

/** One client of the namespace: the adapter's and the reference model's, with one definition. */
interface Client {
  readonly def: AnyResource;
  readonly adapter: OpenedEvolution;
  readonly model: { readonly stores: Stores; readonly backend: MemoryBackend };
}

/** Evolution SPI methods of a backend, or a failure naming what is missing. */
function evolving(
  backend: Backend,
): Required<Pick<Backend, 'expand' | 'contract' | 'appliedElements'>> {
  const { expand, contract, appliedElements } = backend;
  if (
    typeof expand !== 'function' ||
    typeof contract !== 'function' ||
    typeof appliedElements !== 'function'
  )
    throw new Failure(
      `backend ${backend.name} lacks the evolution SPI (expand, contract, appliedElements): see the evolution SPI in docs/DESIGN.md`,
    );
  return {
    expand: expand.bind(backend),
    contract: contract.bind(backend),
    appliedElements: appliedElements.bind(backend),
  };
}

/** Elements as sorted names, for comparing what two backends report. */
function namesOf(e: SchemaElements): string {
  const n = elementNames(e);
  return JSON.stringify({
    fields: [...n.fields].sort(),
    indexes: n.indexes.map((i) => `${i.field}:${i.kind}`).sort(),
    uniques: n.uniques.map((u) => u.join(',')).sort(),
    pending: [...(n.pending ?? [])].sort(),
  });
}

const tail = (id: unknown) => String(id).slice(-4);

function showCommand(c: EvolutionCommand, who: string): string {
  switch (c.op) {
    case 'create':
      return `${who} ${c.ctx} create ${show(c.values, 200)}`;
    case 'update':
      return `${who} ${c.ctx} update #${c.target} ${show(c.patch, 160)}${c.revision === 'none' ? '' : ` (${c.revision} revision)`}`;
    case 'delete':
    case 'get':
      return `${who} ${c.ctx} ${c.op} #${c.target}`;
    case 'getMany':
      return `${who} ${c.ctx} getMany ${c.targets.map((t) => `#${t}`).join(' ')}`;
    case 'list':
      return `${who} ${c.ctx} list where ${show(c.where)} orderBy ${show(c.orderBy)} limit ${c.limit} (every page)`;
    case 'count':
      return `${who} ${c.ctx} count ${show(c.where)}`;
  }
}

function showShort(o: Outcome): string {
  if (!o.ok) return showOutcome(o);
  const v = o.value as unknown;
  if (Array.isArray(v))
    return `ok [${v.map((x) => (typeof x === 'object' && x !== null && 'items' in x ? `(${(x as { items: Rec[] }).items.map((r) => tail(r.id)).join(' ')})` : tail((x as Rec).id))).join(' ')}]`;
  if (typeof v === 'object' && v !== null && 'id' in v)
    return `ok ${tail((v as Rec).id)} r${String((v as Rec).revision)} v${String((v as Rec).objectVersion)}`;
  return `ok ${show(v, 80)}`;
}

/** One chain run in one namespace: the adapter's clients and the model's, kept in lockstep. */
class ChainRun {
  readonly log: string[] = [];
  readonly #ids: string[] = [];
  readonly #revisions = new Map<string, number>();
  readonly #clockA = new ManualClock(CLOCK_EPOCH);
  readonly #clockM = new ManualClock(CLOCK_EPOCH);
  readonly #idsA: IdGenerator = sequentialIds();
  readonly #idsM: IdGenerator = sequentialIds();
  readonly #db = new MemoryDatabase();
  readonly #open = new Set<Client>();
  #where = '';
  /**
   * Whether the backend records write-only fields (`publish`): then `expand` marks the
   * fields it adds over existing records write-only, core refuses queries on them, and the
   * migration publishes them. Without it, added fields are public at once and each client
   * queries only indexes of the older definition until the migration is done.
   */
  writeOnly = false;
  /** Opens of the adapter and the time they took, for the report. */
  opens = 0;
  openMs = 0;

  constructor(
    readonly g: GroupContext,
    readonly opener: OpenEvolutionFn,
    readonly namespace: string,
    readonly rng: Rng,
  ) {}

  /** Where the chain is, for the log. */
  at(where: string): void {
    this.#where = where;
    this.log.push(`— ${where}`);
  }

  #deps(clock: Clock, ids: IdGenerator): OpenDeps {
    return { clock, ids, route: (url) => url };
  }

  /** Opens the adapter's client of `def` (a separate process, as far as the store can tell). */
  async openAdapter(def: AnyResource): Promise<OpenedEvolution & { backend: Backend }> {
    const start = performance.now();
    const opened = await this.opener(this.namespace, this.#deps(this.#clockA, this.#idsA), [def]);
    this.opens += 1;
    this.openMs += performance.now() - start;
    this.g.session.checkManifest(opened.stores);
    if (opened.backend === undefined) {
      await opened.stores.close();
      throw new NoBackend(
        'the adapter opens a ready Stores bag, with no backend to expand here (a remote server: expand runs where its backend is)',
      );
    }
    return opened as OpenedEvolution & { backend: Backend };
  }

  async openClient(def: AnyResource): Promise<Client> {
    const adapter = await this.openAdapter(def);
    const backend = new MemoryBackend(this.#db, { resources: [def] });
    const stores = createStores(backend, {
      clock: this.#clockM,
      ids: this.#idsM,
      resources: [def],
    });
    const client: Client = { def, adapter, model: { stores, backend } };
    this.#open.add(client);
    return client;
  }

  async closeClient(client: Client): Promise<void> {
    this.#open.delete(client);
    await client.model.stores.close();
    await client.adapter.stores.close();
  }

  async closeAll(): Promise<void> {
    for (const c of [...this.#open]) await this.closeClient(c).catch(() => undefined);
  }

  fail(message: string): never {
    throw new Failure(`${this.#where}: ${message}`);
  }

  /** Runs one call on the adapter's client and on the model's, compares, and returns the model's outcome. */
  async both(
    client: Client,
    what: string,
    call: (store: AnyStore, side: 'adapter' | 'model') => Promise<unknown>,
  ): Promise<{ adapter: Outcome; model: Outcome }> {
    const a = await settle(() =>
      call(client.adapter.stores.store(client.def) as unknown as AnyStore, 'adapter'),
    );
    const m = await settle(() =>
      call(client.model.stores.store(client.def) as unknown as AnyStore, 'model'),
    );
    this.#clockA.advance(1000);
    this.#clockM.advance(1000);
    this.log.push(`${what} → ${showShort(a)}`);
    if (!sameOutcome(m, a))
      this.fail(
        `${what}: the adapter and the reference model disagree: ${diffOutcomes(m, a)}\n  model: ${showOutcome(m)}\n  adapter: ${showOutcome(a)}`,
      );
    this.#remember(m);
    return { adapter: a, model: m };
  }

  #remember(o: Outcome): void {
    if (!o.ok) return;
    const v = o.value as Rec | null;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof v.id !== 'string') return;
    if (!this.#revisions.has(v.id)) this.#ids.push(v.id);
    this.#revisions.set(v.id, v.revision as number);
  }

  #id(target: number): string {
    return this.#ids[target % this.#ids.length] ?? '00000000-0000-7000-8000-00000000ffff';
  }

  /** Runs one command on both sides and checks the invariants of its result. */
  async run(clients: readonly Client[], c: EvolutionCommand): Promise<void> {
    const client = clients[c.client]!;
    const who =
      clients.length > 1
        ? c.client === 0
          ? `old v${client.def.version}`
          : `new v${client.def.version}`
        : `v${client.def.version}`;
    const ctx = CONTEXTS[c.ctx];
    const what = showCommand(c, who);
    const off = offFeatures(c, client.adapter.stores.capabilities.features);
    if (off.length > 0) {
      // Declared off: the adapter must refuse it (a validation error first is fine).
      const a = await settle(() =>
        c.op === 'list'
          ? pages(client.adapter.stores.store(client.def) as unknown as AnyStore, ctx, {
              where: c.where,
              orderBy: c.orderBy,
              limit: c.limit,
            })
          : (client.adapter.stores.store(client.def) as unknown as AnyStore).count(
              ctx,
              c.op === 'count' ? c.where : undefined,
            ),
      );
      this.log.push(`${what} → ${showShort(a)} (declared off: ${off.join(', ')})`);
      if (
        a.ok ||
        !['NotSupportedError', 'InvalidQueryError', 'InvalidInputError'].includes(a.error.name)
      )
        this.fail(
          `${what} uses ${off.join(', ')}, declared off, and got ${showOutcome(a)} instead of NotSupportedError`,
        );
      for (const f of off) this.g.coverage.refused(`feature:${f}`);
      return;
    }
    switch (c.op) {
      case 'create':
        await this.both(client, what, (s) => s.create(ctx, c.values));
        return;
      case 'update': {
        const id = this.#id(c.target);
        const rev = this.#revisions.get(id) ?? 1;
        const options =
          c.revision === 'none'
            ? undefined
            : { expectedRevision: c.revision === 'current' ? rev : Math.max(1, rev - 1) };
        await this.both(client, `${what} (${tail(id)})`, (s) =>
          s.update(ctx, id, c.patch, options),
        );
        return;
      }
      case 'delete': {
        const id = this.#id(c.target);
        await this.both(client, `${what} (${tail(id)})`, (s) => s.delete(ctx, id));
        return;
      }
      case 'get': {
        const id = this.#id(c.target);
        await this.both(client, `${what} (${tail(id)})`, (s) => s.get(ctx, id));
        return;
      }
      case 'getMany': {
        const ids = c.targets.map((t) => this.#id(t));
        await this.both(client, what, (s) => s.getMany(ctx, ids));
        return;
      }
      case 'count':
        await this.both(client, what, (s) => s.count(ctx, c.where));
        return;
      case 'list': {
        const options = { where: c.where, orderBy: c.orderBy, limit: c.limit };
        const { adapter } = await this.both(client, what, (s) => pages(s, ctx, options));
        if (!adapter.ok) return;
        const items = (adapter.value as { items: Rec[] }[]).flatMap((p) => p.items);
        this.#checkListing(client.def, c, items);
        const n = await settle(() =>
          (client.adapter.stores.store(client.def) as unknown as AnyStore).count(ctx, c.where),
        );
        if (!n.ok || n.value !== items.length)
          this.fail(`${what}: paging yields ${items.length} records, count says ${showOutcome(n)}`);
        return;
      }
    }
  }

  /** Paging, scope and order invariants of one listing (every page followed). */
  #checkListing(
    def: AnyResource,
    c: Extract<EvolutionCommand, { op: 'list' }>,
    items: readonly Rec[],
  ): void {
    const ctx = CONTEXTS[c.ctx];
    const scope = readScope(def, ctx);
    const where = normaliseWhere(def, c.where);
    const order = normaliseOrder(def, c.orderBy);
    const cmp = recordComparator(order);
    const seen = new Set<unknown>();
    items.forEach((r, i) => {
      if (seen.has(r.id)) this.fail(`list (${c.ctx}) returned ${tail(r.id)} twice across pages`);
      seen.add(r.id);
      if (!inReadScope(r as StoredRecord, scope))
        this.fail(
          `list (${c.ctx}) returned ${tail(r.id)} of project ${String(r.projectId)} (deletedAt ${String(r.deletedAt)}), outside the context's scope`,
        );
      if (!matchesWhere(r, where))
        this.fail(`list returned ${tail(r.id)}, which does not match ${show(c.where)}`);
      if (i > 0 && cmp(items[i - 1] as StoredRecord, r as StoredRecord) >= 0)
        this.fail(
          `list order ${order.field} ${order.direction}: ${tail(items[i - 1]!.id)} came before ${tail(r.id)}`,
        );
    });
  }

  /** `n` random commands of `clients`, each querying only `queryable` fields. */
  async commands(
    clients: readonly Client[],
    queryable: readonly (readonly string[])[],
    n: number,
  ): Promise<void> {
    const defs = clients.map((c) => c.def);
    for (let i = 0; i < n; i++)
      await this.run(clients, randomCommand(this.rng, defs, queryable, this.#ids.length));
    // Every client lists at least once per phase, under a project and as admin.
    for (const [i, def] of defs.entries()) {
      await this.run(
        clients,
        listCommand(this.rng, i, def, this.rng.pick(['p1', 'p2'] as const), queryable[i] ?? []),
      );
      await this.run(clients, listCommand(this.rng, i, def, 'admin/yes', queryable[i] ?? []));
    }
  }

  /** No two live records share the values of a unique constraint the store has applied. */
  async checkUniques(client: Client): Promise<void> {
    const applied = await evolving(client.model.backend).appliedElements(client.def);
    if (applied.uniques.length === 0) return;
    const store = client.adapter.stores.store(client.def) as unknown as AnyStore;
    const all = await settle(() => pages(store, CONTEXTS.admin, { limit: 1000 }));
    if (!all.ok) this.fail(`listing every live record: ${showOutcome(all)}`);
    const items = (all.value as { items: Rec[] }[]).flatMap((p) => p.items);
    for (const fields of applied.uniques) {
      const holders = new Map<string, unknown>();
      for (const r of items) {
        if (fields.some((f) => r[f] === null || r[f] === undefined)) continue;
        const key = JSON.stringify(fields.map((f) => r[f]));
        if (holders.has(key))
          this.fail(
            `live records ${tail(holders.get(key))} and ${tail(r.id)} share (${fields.join(', ')}) = ${key} under a unique constraint`,
          );
        holders.set(key, r.id);
      }
    }
  }

  /** What the adapter reports as applied, compared with the model. */
  async checkApplied(
    backend: Backend,
    def: AnyResource,
    model: MemoryBackend,
    when: string,
  ): Promise<void> {
    const a = await settle(() => evolving(backend).appliedElements(def));
    if (!a.ok) this.fail(`appliedElements ${when}: ${showOutcome(a)}`);
    const m = await model.appliedElements(def);
    if (namesOf(a.value as SchemaElements) !== namesOf(m))
      this.fail(
        `appliedElements ${when}: the adapter reports ${namesOf(a.value as SchemaElements)}, the model ${namesOf(m)}`,
      );
  }

  /** Live records sharing a tag, as the model holds them (every project), grouped. */
  async #tagClashes(client: Client): Promise<string[][]> {
    const rows = (
      await pages(client.model.stores.store(client.def) as unknown as AnyStore, CONTEXTS.admin, {
        limit: 1000,
      })
    ).flatMap((p) => p.items);
    const byTag = new Map<string, string[]>();
    for (const r of rows)
      byTag.set(String(r.tag), [...(byTag.get(String(r.tag)) ?? []), String(r.id)]);
    return [...byTag.values()].filter((ids) => ids.length > 1);
  }

  /** The tags live records hold (model), in code point order. */
  async #tagHolders(client: Client): Promise<string[]> {
    const rows = (
      await pages(client.model.stores.store(client.def) as unknown as AnyStore, CONTEXTS.admin, {
        limit: 1000,
      })
    ).flatMap((p) => p.items);
    return [...new Set(rows.map((r) => String(r.tag)))].sort(compareCodePoints);
  }

  /**
   * Records written by one definition and changed by the other: a record the new client
   * wrote with every field, updated by the old client and read back by the new one; and the
   * reverse. Nothing either definition stored may be lost.
   */
  async crossWrites(old: Client, fresh: Client): Promise<void> {
    const full = (def: AnyResource, ctx: 'p1' | 'p2') => {
      const values: Record<string, unknown> = {};
      for (const name of def.fieldNames) {
        const field = def.fields[name]!;
        values[name] = valueFor(this.rng, name, { ...field, isNullable: false });
      }
      values.tag = `x${this.#ids.length}`;
      return { ctx, values };
    };
    for (const [writer, reader] of [
      [fresh, old],
      [old, fresh],
    ] as const) {
      const w = writer === fresh ? `new v${fresh.def.version}` : `old v${old.def.version}`;
      const r = reader === fresh ? `new v${fresh.def.version}` : `old v${old.def.version}`;
      const { ctx, values } = full(writer.def, this.rng.pick(['p1', 'p2'] as const));
      const created = await this.both(writer, `${w} ${ctx} create ${show(values, 200)}`, (s) =>
        s.create(CONTEXTS[ctx], values),
      );
      if (!created.model.ok) continue;
      const id = String((created.model.value as Rec).id);
      const label = this.rng.pick(['cross', 'über']);
      await this.both(reader, `${r} ${ctx} update (${tail(id)}) label → ${label}`, (s) =>
        s.update(CONTEXTS[ctx], id, { label }),
      );
      await this.both(writer, `${w} ${ctx} get (${tail(id)})`, (s) => s.get(CONTEXTS[ctx], id));
    }
  }

  /** Gives every live record but one of each clashing tag a tag of its own, through `client`. */
  async resolveClashes(client: Client): Promise<void> {
    let n = 0;
    for (const ids of await this.#tagClashes(client)) {
      for (const id of ids.slice(1)) {
        n += 1;
        await this.both(
          client,
          `old v${client.def.version} admin update (${tail(id)}) tag → u${n}`,
          (s) => s.update(CONTEXTS.admin, id, { tag: `u${n}` }),
        );
      }
    }
  }

  /** Expands the store from `prev` to `next` the way a tool would: from a separate client of the old definition. */
  async expand(step: EvolutionStep, old: Client, next: AnyResource): Promise<void> {
    const prev = old.def;
    const added = elementsBetween(next, prev.version, next.version).expand;
    // The store holds records (the first phase wrote some): the added fields are write-only.
    const delta = withPending(added, this.writeOnly ? added.fields.map((x) => x.name) : []);
    const unique = step === 'addUniqueSatisfied' || step === 'addUniqueViolated';
    // A separate client of the old definition expands, as a tool (`polystore schema expand`) would.
    const tool = await this.openAdapter(prev);
    try {
      if (step === 'addUniqueViolated') {
        // Two live records of different projects share a tag, whatever the data had already.
        await this.both(old, `old v${prev.version} p1 create tag dup`, (s) =>
          s.create(CONTEXTS.p1, { ...baseValues(prev), tag: 'dup' }),
        );
        await this.both(old, `old v${prev.version} p2 create tag dup`, (s) =>
          s.create(CONTEXTS.p2, { ...baseValues(prev), tag: 'dup' }),
        );
        const clashing = (await this.#tagClashes(old)).flat().sort(compareCodePoints);
        {
          const before = await evolving(tool.backend).appliedElements(next);
          const err = await evolving(tool.backend)
            .expand(next, delta)
            .then(
              () => undefined,
              (e: unknown) => e,
            );
          const modelErr = await old.model.backend.expand(next, delta).then(
            () => undefined,
            (e: unknown) => e,
          );
          this.log.push(
            `expand ${describe(delta)} over clashing tags (${clashing.map(tail).join(' ')}) → ${err === undefined ? 'ok' : (err as Error).name}`,
          );
          if (!(modelErr instanceof UniqueViolationError))
            this.fail(
              `the reference model did not refuse the clashing unique: ${String(modelErr)}`,
            );
          if (err === undefined)
            this.fail(
              `expand applied unique (tag) although live records ${clashing.map(tail).join(', ')} violate it; it must throw UniqueViolationError naming them`,
            );
          if (!(err instanceof UniqueViolationError))
            this.fail(
              `expand over clashing live records threw ${(err as Error)?.name ?? typeof err} (${String((err as Error)?.message ?? err)}), expected UniqueViolationError`,
            );
          const ids = [...(err.ids ?? [])].sort(compareCodePoints);
          if (
            !isDeepStrictEqual(ids, [...modelErr.ids].sort(compareCodePoints)) ||
            !isDeepStrictEqual([...err.fields], ['tag'])
          )
            this.fail(
              `UniqueViolationError names fields ${show(err.fields)} and ids ${show(ids.map(tail))}; expected ['tag'] and ${show(modelErr.ids.map(tail))}`,
            );
          const after = await evolving(tool.backend).appliedElements(next);
          if (namesOf(after) !== namesOf(before))
            this.fail(
              `a refused expand was half-applied: applied elements were ${namesOf(before)}, now ${namesOf(after)}`,
            );
        }
        // Nothing of the refused call holds: old code still writes a clashing tag.
        await this.both(old, `old v${prev.version} p1 create tag dup (no unique yet)`, (s) =>
          s.create(CONTEXTS.p1, { ...baseValues(prev), tag: 'dup' }),
        );
      }
      if (unique) await this.resolveClashes(old);
      const a = await settle(() => evolving(tool.backend).expand(next, delta));
      const m = await settle(() => old.model.backend.expand(next, delta));
      this.log.push(`expand ${describe(delta)} → ${showOutcome(a)}`);
      if (!sameOutcome(m, a)) this.fail(`expand ${describe(delta)}: ${diffOutcomes(m, a)}`);
      // Idempotent: a second call (a retried tool) changes nothing.
      const again = await settle(() => evolving(tool.backend).expand(next, delta));
      if (!again.ok) this.fail(`expand repeated: ${showOutcome(again)}; expand must be idempotent`);
    } finally {
      await tool.stores.close();
    }
    // The running old client sees what the tool applied.
    await this.checkApplied(old.adapter.backend!, next, old.model.backend, 'after expand');
    if (unique) {
      // Old code honours the new constraint too: a tag a live record holds is refused.
      const taken = (await this.#tagHolders(old))[0];
      if (taken !== undefined)
        await this.both(old, `old v${prev.version} p2 create tag ${taken} (taken)`, (s) =>
          s.create(CONTEXTS.p2, { ...baseValues(prev), tag: taken }),
        );
    }
    this.g.coverage.tested(`evolution.${step}`);
  }

  /** Moves every record to `client`'s version through the evolution SPI, as core's runner does. */
  async migrate(client: Client): Promise<void> {
    const def = client.def;
    const a = client.adapter.backend!.driver(def);
    const m = client.model.backend.driver(def) as ResourceDriver & EvolutionDriver;
    if (!supportsEvolution(a))
      this.fail(`driver of ${def.name} lacks countByVersion/scanVersion/rewrite`);
    const counts = async (when: string) => {
      const ca = await settle(() => a.countByVersion());
      const cm = await m.countByVersion();
      if (!ca.ok || !isDeepStrictEqual(sortKeys(ca.value as Record<string, number>), sortKeys(cm)))
        this.fail(
          `countByVersion ${when}: the adapter says ${showOutcome(ca)}, the model ${show(cm)}`,
        );
      return cm;
    };
    const before = await counts('before migrating');
    for (const version of Object.keys(before)) {
      if (version === def.version) continue;
      let afterA: string | undefined;
      let afterM: string | undefined;
      for (let page = 0; ; page++) {
        if (page > MAX_PAGES) this.fail(`scanVersion ${version}: still pages after ${MAX_PAGES}`);
        const pa = await settle(() => a.scanVersion(version, afterA, SCAN_PAGE));
        const pm = await m.scanVersion(version, afterM, SCAN_PAGE);
        const ids = pm.records.map((r) => r.id);
        const got = pa.ok ? (pa.value as { records: StoredRecord[] }).records.map((r) => r.id) : [];
        if (
          !pa.ok ||
          !isDeepStrictEqual(got, ids) ||
          (pa.value as { after?: string }).after !== pm.after
        )
          this.fail(
            `scanVersion(${version}, ${tail(afterM)}, ${SCAN_PAGE}): the adapter gives ${pa.ok ? `[${got.map(tail).join(' ')}] after ${tail((pa.value as { after?: string }).after)}` : showOutcome(pa)}, the model [${ids.map(tail).join(' ')}] after ${tail(pm.after)}`,
          );
        const records = (pa.value as { records: StoredRecord[] }).records;
        for (const [i, ra] of records.entries()) {
          const rm = pm.records[i]!;
          const up = (r: StoredRecord) =>
            ({
              ...upgradeFields(def.name, historyOf(def), r, version, def.version),
              objectVersion: def.version,
            }) as StoredRecord;
          const oa = await settle(() => a.rewrite(up(ra), ra.revision));
          const om = await settle(() => m.rewrite(up(rm), rm.revision));
          const status = (o: Outcome) =>
            o.ok ? (o.value as { status: string }).status : showOutcome(o);
          this.log.push(`rewrite ${tail(ra.id)} ${version}→${def.version} → ${status(oa)}`);
          if (status(oa) !== status(om))
            this.fail(
              `rewrite of ${tail(ra.id)} to ${def.version}: the adapter says ${status(oa)}, the model ${status(om)}`,
            );
        }
        afterA = (pa.value as { after?: string }).after;
        afterM = pm.after;
        if (afterM === undefined) break;
      }
    }
    const done = await counts('after migrating');
    if (Object.keys(done).some((v) => v !== def.version))
      this.fail(`records left below ${def.version}: ${show(done)}`);
  }

  /** Makes the fields the migration filled public, as core's backfill does once no older record remains. */
  async publish(client: Client): Promise<boolean> {
    if (!this.writeOnly) return false;
    const pending = (await client.model.backend.appliedElements(client.def)).pending ?? [];
    if (pending.length === 0) return false;
    const backend = client.adapter.backend!;
    const a = await settle(() => backend.publish!(client.def, pending));
    const m = await settle(() => client.model.backend.publish(client.def, pending));
    this.log.push(`publish ${pending.join(', ') || '(nothing)'} → ${showOutcome(a)}`);
    if (!sameOutcome(m, a)) this.fail(`publish ${pending.join(', ')}: ${diffOutcomes(m, a)}`);
    await this.checkApplied(backend, client.def, client.model.backend, 'after publish');
    return true;
  }

  /** The fields `client` may filter and order on now: its indexes, but no write-only field. */
  async queryable(client: Client, older: AnyResource): Promise<string[]> {
    if (!this.writeOnly) return queryableAt(client.def, older);
    const pending = new Set((await client.model.backend.appliedElements(client.def)).pending ?? []);
    return elementsOf(client.def)
      .indexes.filter((i) => !pending.has(i.field))
      .map((i) => i.field);
  }

  /** Drops what the new definition no longer has, once no old client runs. */
  async contract(client: Client, prev: AnyResource): Promise<void> {
    const delta = elementsBetween(client.def, prev.version, client.def.version).contract;
    const a = await settle(() => evolving(client.adapter.backend!).contract(client.def, delta));
    const m = await settle(() => client.model.backend.contract(client.def, delta));
    this.log.push(`contract ${describe(delta)} → ${showOutcome(a)}`);
    if (!sameOutcome(m, a)) this.fail(`contract ${describe(delta)}: ${diffOutcomes(m, a)}`);
    await this.checkApplied(
      client.adapter.backend!,
      client.def,
      client.model.backend,
      'after contract',
    );
  }

  /** The whole store through `client`, compared record by record with the model. */
  async compareAll(client: Client, when: string): Promise<void> {
    await this.both(client, `v${client.def.version} admin/yes list everything (${when})`, (s) =>
      pages(s, CONTEXTS['admin/yes'], { limit: 1000 }),
    );
  }
}

/** The optional features a list or count uses that the manifest declares off. */
function offFeatures(c: EvolutionCommand, features: Readonly<Record<string, boolean>>): string[] {
  if (c.op !== 'list' && c.op !== 'count') return [];
  const used = new Set<string>();
  for (const cond of Object.values(c.where ?? {})) {
    if (typeof cond !== 'object' || cond === null || Array.isArray(cond)) continue;
    for (const op of Object.keys(cond)) {
      if (op === 'in') used.add('query.in');
      if (['gt', 'gte', 'lt', 'lte'].includes(op)) used.add('query.range');
    }
  }
  if (c.op === 'list' && c.orderBy?.direction === 'desc') used.add('query.orderDesc');
  return [...used].filter((f) => features[f] === false);
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => compareCodePoints(a, b)));
}

function describe(e: SchemaElements): string {
  const n = elementNames(e);
  const parts = [
    ...n.fields.map((f) => `field ${f}`),
    ...n.indexes.map((i) => `index ${i.field}:${i.kind}`),
    ...n.uniques.map((u) => `unique (${u.join(', ')})`),
  ];
  return parts.length === 0 ? '(nothing)' : parts.join(', ');
}

/** Values a create of `def` needs besides the tag. */
function baseValues(def: AnyResource): Record<string, unknown> {
  const out: Record<string, unknown> = { label: 'dup', size: 1, kind: 'a' };
  if (def.fields.score && def.fields.score.defaultValue === undefined) out.score = 1;
  return out;
}

async function pages(
  store: AnyStore,
  ctx: unknown,
  options: Record<string, unknown>,
): Promise<{ items: readonly Rec[]; next: string | null }[]> {
  const out: { items: readonly Rec[]; next: string | null }[] = [];
  let after: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = await store.list(ctx, { ...options, after });
    out.push(page);
    if (page.next === null) return out;
    after = page.next;
  }
  throw new Failure(`list: still a next page after ${MAX_PAGES} pages`);
}

/** The fields of `def` a client may filter on: indexed at `public` (every record is entered there). */
function queryableAt(def: AnyResource, publicDef: AnyResource): string[] {
  const pub = new Set(elementsOf(publicDef).indexes.map((i) => `${i.field}:${i.kind}`));
  return elementsOf(def)
    .indexes.filter((i) => pub.has(`${i.field}:${i.kind}`))
    .map((i) => i.field);
}

async function runChain(run: ChainRun, steps: readonly ChainStep[]): Promise<void> {
  const defs = chainDefinitions(steps);
  run.at(`v${defs[0]!.version}: random data written with the first definition`);
  let old = await run.openClient(defs[0]!);
  run.writeOnly = typeof old.adapter.backend?.publish === 'function';
  await run.commands([old], [queryableAt(old.def, old.def)], SEED_COMMANDS);
  for (const [i, { step }] of steps.entries()) {
    const next = defs[i + 1]!;
    run.at(`v${old.def.version} → v${next.version} (${step})`);
    await run.expand(step, old, next);
    const fresh = await run.openClient(next);
    run.at(`v${old.def.version} and v${next.version} side by side (${step})`);
    await run.crossWrites(old, fresh);
    // Side by side, each client queries what core lets it: no write-only field.
    await run.commands(
      [old, fresh],
      [await run.queryable(old, old.def), await run.queryable(fresh, old.def)],
      SIDE_BY_SIDE_COMMANDS,
    );
    await run.checkUniques(fresh);
    await run.closeClient(old);
    run.at(`v${next.version} alone: migrate, contract (${step})`);
    await run.migrate(fresh);
    const published = await run.publish(fresh);
    await run.contract(fresh, old.def);
    // Queries on the published fields are allowed to clients opened from now on.
    let current = fresh;
    if (published) {
      await run.closeClient(fresh);
      current = await run.openClient(next);
    }
    await run.compareAll(current, 'after migrating');
    await run.commands([current], [await run.queryable(current, next)], NEW_ONLY_COMMANDS);
    await run.checkUniques(current);
    old = current;
  }
}

/**
 * The evolution group. Random data is written with a first definition of a resource; the
 * store then goes through random chains of changes (an optional field, a field with a
 * default or an up-transform, an index, a unique constraint over data that satisfies it
 * and over data that violates it, a sortable field, a removed field, an enum value). At
 * each step a separate client expands the store (a clashing unique must be refused with
 * `UniqueViolationError` naming the clashing ids, and nothing of the call applied), old-
 * and new-definition clients run random commands side by side, the old one stops, the
 * records are migrated through `scanVersion`/`rewrite` and the store contracted; then the
 * new client runs alone. Everything is compared with the memory model evolved the same
 * way; listings are checked for paging, scope and order, counts against listings, and
 * live records against every applied unique constraint.
 */
export function runEvolution(g: GroupContext): Promise<GroupOutcome> {
  const evolution = g.session.options.evolution;
  return runOpenerGroup(g, 'evolution', evolution, EVOLUTION_UNITS, () => {
    const rng = new Rng(g.seed ^ 0x5eed);
    const chains = planChains(rng, Math.ceil(g.budget.runs / 50));
    return chains.map((steps, i) => {
      const path = steps.map((s) => s.step).join(' → ');
      return {
        label: `chain ${i + 1} of ${chains.length} (${path})`,
        note: `chain ${i + 1}: ${path}`,
        start: () =>
          new ChainRun(
            g,
            (evolution as { open: OpenEvolutionFn }).open,
            g.session.namespace('ev'),
            new Rng(rng.int(2 ** 31)),
          ),
        run: (run: ChainRun) => runChain(run, steps),
      };
    });
  });
}
