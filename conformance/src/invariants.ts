import {
  type AnyResource,
  adminContext,
  compareCodePoints,
  inReadScope,
  isUsableAddress,
  matchesWhere,
  normaliseOrder,
  normaliseWhere,
  readScope,
  recordComparator,
  STORE_NAMES,
  type Stores,
} from '@polystore/core';
import * as fc from 'fast-check';
import { ConformanceFailure } from './conformance-failure.js';
import { CONTEXTS, type ContextName, contextSource, contextVar } from './contexts.js';
import type { Coverage } from './coverage.js';
import { executeOp, type Op, opExpression, opSource, type StoreName, unitOf } from './op.js';
import {
  anyContextArb,
  listOptionsArb,
  RESOURCE_OF,
  storeOpArbs,
  weightedStoreOpArbs,
} from './op-arbitraries.js';
import { settle, show, showOutcome } from './outcome.js';
import { encodeReplayToken, type ReplayToken } from './replay-token.js';
import { CLOCK_EPOCH, type Session } from './session.js';

type Rec = Readonly<Record<string, unknown>>;

/** A query whose results the invariants are checked on. */
interface Probe {
  readonly store: StoreName;
  readonly ctx: ContextName;
  readonly options: Readonly<Record<string, unknown>>;
  readonly limit: number;
}

class Violation extends Error {}

function fail(message: string): never {
  throw new Violation(message);
}

const WRITE_METHODS = new Set(['update', 'delete', 'release']);
const CREATE_METHODS = new Set(['create', 'allocate']);

/** Checks the revision rule on one write result and remembers the revision. */
function checkRevision(op: Op, value: unknown, revisions: Map<string, number>): void {
  if (op.kind !== 'call' || typeof value !== 'object' || value === null || !('revision' in value))
    return;
  const r = value as Rec;
  const id = `${op.store}:${String(r.id)}`;
  if (CREATE_METHODS.has(op.method) && r.revision !== 1)
    fail(`${op.store}.${op.method} returned revision ${String(r.revision)}, not 1`);
  if (WRITE_METHODS.has(op.method) || op.method === 'heartbeat') {
    const before = revisions.get(id);
    const hard =
      op.method === 'release' || (op.method === 'delete' && !RESOURCE_OF[op.store].softDelete);
    const want = before === undefined ? undefined : hard ? before : before + 1;
    if (op.method === 'heartbeat' && before === undefined) {
      if (r.revision !== 1)
        fail(`services.heartbeat created a record at revision ${String(r.revision)}`);
    } else if (want !== undefined && r.revision !== want) {
      fail(
        `${op.store}.${op.method} of ${id}: revision ${String(r.revision)} after ${before}, expected ${want}`,
      );
    }
  }
  revisions.set(id, r.revision as number);
}

async function fullListing(stores: Stores, probe: Probe): Promise<Rec[]> {
  const { limit, ...rest } = probe.options as { limit?: number } & Record<string, unknown>;
  const page = await stores[probe.store].list(CONTEXTS[probe.ctx], {
    ...rest,
    limit: 1000,
  } as never);
  if (page.next !== null) fail('a listing of fewer than 1000 rows with limit 1000 has a next page');
  return page.items as unknown as Rec[];
}

async function checkProbe(stores: Stores, probe: Probe): Promise<void> {
  const resource = RESOURCE_OF[probe.store];
  const ctx = CONTEXTS[probe.ctx];
  const full = await settle(() => fullListing(stores, probe));
  if (!full.ok) {
    if (full.error.untyped) fail(`list threw an untyped error: ${show(full.error)}`);
    return; // an invalid query is the behaviour group's business
  }
  const rows = full.value as Rec[];
  const where = normaliseWhere(resource, probe.options.where);
  const order = normaliseOrder(resource, probe.options.orderBy);
  const scope = readScope(resource, ctx);
  const cmp = recordComparator(order);
  const ids = new Set<string>();
  rows.forEach((r, i) => {
    if (ids.has(r.id as string)) fail(`${probe.store}.list returned ${String(r.id)} twice`);
    ids.add(r.id as string);
    if (!inReadScope(r as never, scope))
      fail(
        `${probe.store}.list (${probe.ctx}) returned ${String(r.id)} of project ${String(r.projectId)} (deletedAt ${String(r.deletedAt)}), outside the context's scope`,
      );
    if (!matchesWhere(r, where))
      fail(
        `${probe.store}.list returned ${String(r.id)}, which does not match ${show(probe.options.where)}`,
      );
    if (i > 0) {
      const prev = rows[i - 1]!;
      if (cmp(prev, r) >= 0) {
        const a = prev[order.field];
        const b = r[order.field];
        const cp =
          typeof a === 'string' && typeof b === 'string'
            ? ` (code point order: ${compareCodePoints(a, b)})`
            : '';
        fail(
          `${probe.store}.list order ${order.field} ${order.direction}: ${show(a)} (${String(prev.id)}) came before ${show(b)} (${String(r.id)})${cp}`,
        );
      }
    }
  });
  const n = await stores[probe.store].count(ctx, probe.options.where as never);
  if (n !== rows.length)
    fail(
      `${probe.store}.count (${probe.ctx}, ${show(probe.options.where)}) = ${n}, but the full listing has ${rows.length} rows`,
    );
  const { limit: _, ...rest } = probe.options;
  const paged: Rec[] = [];
  let after: string | null = null;
  for (let i = 0; i <= rows.length + 1; i++) {
    const page: { items: readonly unknown[]; next: string | null } = await stores[probe.store].list(
      ctx,
      { ...rest, limit: probe.limit, after } as never,
    );
    if (page.items.length > probe.limit)
      fail(`${probe.store}.list returned ${page.items.length} rows for limit ${probe.limit}`);
    paged.push(...(page.items as unknown as Rec[]));
    if (page.next === null) break;
    if (page.items.length === 0)
      fail(`${probe.store}.list returned an empty page with a next cursor`);
    after = page.next;
  }
  const got = paged.map((r) => r.id);
  const want = rows.map((r) => r.id);
  if (got.length !== want.length || got.some((id, i) => id !== want[i])) {
    fail(
      `${probe.store}.list paging with limit ${probe.limit} (${show(rest)}) yielded ${got.length} rows [${got.map((x) => String(x).slice(-3)).join(' ')}], the full listing ${want.length} [${want.map((x) => String(x).slice(-3)).join(' ')}]`,
    );
  }
}

function uniqueAmongLive(resource: AnyResource, rows: readonly Rec[]): void {
  for (const fields of resource.unique) {
    const seen = new Map<string, string>();
    for (const r of rows) {
      if (fields.some((f) => r[f] === null)) continue;
      const key = JSON.stringify(fields.map((f) => r[f]));
      const other = seen.get(key);
      if (other !== undefined)
        fail(
          `${resource.name}: live records ${other} and ${String(r.id)} share the unique ${fields.join(', ')} ${key}`,
        );
      seen.set(key, r.id as string);
    }
  }
}

async function checkState(stores: Stores, probes: readonly Probe[]): Promise<void> {
  const admin = adminContext();
  for (const name of STORE_NAMES) {
    const rows = (await stores[name].list(admin, { limit: 1000 })).items as unknown as Rec[];
    uniqueAmongLive(RESOURCE_OF[name], rows);
  }
  const networks = new Map(
    (
      (await stores.networks.list(adminContext({ readDeleted: 'yes' }), { limit: 1000 }))
        .items as unknown as Rec[]
    ).map((n) => [n.id, n]),
  );
  for (const ip of (await stores.fixedIps.list(admin, { limit: 1000 })).items as unknown as Rec[]) {
    const net = networks.get(ip.networkId);
    if (
      net &&
      !isUsableAddress(net.cidr as string, net.gateway as string | null, ip.address as string)
    ) {
      fail(
        `fixedIp ${String(ip.id)} holds ${String(ip.address)}, not a usable address of ${String(net.cidr)} (gateway ${String(net.gateway)})`,
      );
    }
  }
  for (const p of probes) await checkProbe(stores, p);
}

const probeArb: fc.Arbitrary<Probe> = fc
  .tuple(fc.constantFrom(...STORE_NAMES), anyContextArb, fc.integer({ min: 1, max: 4 }))
  .chain(([store, ctx, limit]) =>
    listOptionsArb(RESOURCE_OF[store]).map((options) => {
      const { limit: _, ...rest } = options;
      return { store, ctx, options: rest, limit };
    }),
  );

const seedArb: fc.Arbitrary<Op> = fc.oneof(
  ...(['instances', 'networks', 'services', 'migrations'] as const).map((s) =>
    storeOpArbs(s)[0]!.filter((op) => op.kind === 'call'),
  ),
);

/**
 * Names whose code point order differs from locale, case-insensitive and UTF-16 order:
 * upper before lower case, accents after `z`, U+FFFD before a non-BMP emoji, and a
 * shared prefix. Every run checks them, so an adapter sorting any other way cannot pass
 * by luck of the random strings.
 */
const ORDERING_NAMES = ['b', 'B', 'a', 'Z', 'é', 'ab', '\uFFFD', '😀', '_', ''] as const;

/** The fixed first example of the invariants property: ordering-sensitive names, listed in small pages both ways. */
const ORDERING_EXAMPLE: [Op[], Op[], Probe[]] = [
  ORDERING_NAMES.map((displayName) => ({
    kind: 'call' as const,
    store: 'instances' as const,
    method: 'create',
    ctx: 'p1' as const,
    args: [{ displayName, flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 } }],
  })),
  [],
  (['asc', 'desc'] as const).map((direction) => ({
    store: 'instances' as const,
    ctx: 'p1' as const,
    options: { orderBy: { field: 'displayName', direction } },
    limit: 3,
  })),
];

/** Options of {@link runInvariants}. */
export interface InvariantOptions {
  readonly runs?: number;
  readonly seed?: number;
  readonly replay?: ReplayToken;
  readonly coverage?: Coverage;
}

/**
 * The invariants group, checked on the adapter alone (no model): paging with any limit
 * yields each matching row exactly once; the order is total and by code point; `count`
 * equals the full listing; revisions rise by exactly one per write; unique constraints
 * hold among live records; allocation returns only usable addresses, never one twice.
 */
export async function runInvariants(
  session: Session,
  options: InvariantOptions = {},
): Promise<{ runs: number }> {
  const replay = options.replay?.group === 'invariants' ? options.replay : undefined;
  let runs = 0;
  let last: { ops: Op[]; outcomes: string[]; message: string } | undefined;
  const allOps = fc.oneof(...STORE_NAMES.flatMap((s) => weightedStoreOpArbs(s)));
  const property = fc.asyncProperty(
    fc.array(seedArb, { minLength: 0, maxLength: 24, size: 'medium' }),
    fc.array(allOps, { maxLength: 16, size: 'medium' }),
    fc.array(probeArb, { minLength: 1, maxLength: 4 }),
    async (seeds, ops, probes) => {
      runs += 1;
      const opened = await session.openFresh('i');
      const revisions = new Map<string, number>();
      const done: Op[] = [];
      const outcomes: string[] = [];
      try {
        for (const op of [...seeds, ...ops]) {
          done.push(op);
          const out = await settle(() =>
            executeOp(opened.stores, op, (ms) => opened.clock.advance(ms)),
          );
          const unit = unitOf(op);
          if (unit) options.coverage?.tested(unit);
          if (!out.ok && out.error.untyped)
            fail(`${unit} threw an untyped error: ${show(out.error)}`);
          outcomes.push(showOutcome(out).slice(0, 100));
          if (out.ok) checkRevision(op, out.value, revisions);
        }
        await checkState(opened.stores, probes);
      } catch (err) {
        if (err instanceof Violation) last = { ops: done, outcomes, message: err.message };
        throw err;
      } finally {
        await session.close(opened.stores);
      }
    },
  );
  const details = await fc.check(property, {
    numRuns: options.runs ?? 100,
    seed: replay?.seed ?? options.seed,
    path: replay?.path,
    endOnFailure: replay !== undefined,
    // Always the same examples: a replay path counts them.
    examples: [ORDERING_EXAMPLE],
  });
  if (!details.failed) return { runs };
  const token = encodeReplayToken({
    group: 'invariants',
    seed: details.seed,
    path: details.counterexamplePath ?? '',
  });
  const err = details.errorInstance;
  if (!(err instanceof Violation) || !last) {
    throw new ConformanceFailure(
      'invariants',
      `the run threw: ${err instanceof Error ? err.stack : String(err)}`,
      { token, runs },
    );
  }
  const [, , probes] = details.counterexample as [Op[], Op[], Probe[]];
  const failing = last;
  const ctxs = [...new Set(last.ops.flatMap((o) => (o.kind === 'tick' ? [] : [o.ctx])))];
  const snippet = [
    `import { createContext, ManualClock, sequentialIds } from '@polystore/core';`,
    `import { it } from 'vitest';`,
    `import { open } from './open.js'; // the open(namespace, deps) you gave describeConformance`,
    '',
    `// POLYSTORE_REPLAY=${token}`,
    `it('conformance invariant counterexample', async () => {`,
    `  const clock = new ManualClock(${CLOCK_EPOCH});`,
    `  const s = await open('replay_${Date.now().toString(36)}', { clock, ids: sequentialIds(), route: (u) => u });`,
    ...ctxs.map((c) => `  const ${contextVar(c)} = ${contextSource(c)};`),
    ...failing.ops.map(
      (op, i) =>
        `  ${op.kind === 'tick' ? opSource(op) : `await ${opExpression(op)}.catch(() => undefined);`} // → ${failing.outcomes[i] ?? ''}`,
    ),
    `  // ✗ ${last.message}`,
    `  // checked on: ${probes.map((p) => `${p.store}.list(${p.ctx}, ${show(p.options)}) paged by ${p.limit}`).join('; ')}`,
    '});',
  ].join('\n');
  throw new ConformanceFailure('invariants', last.message, {
    token,
    snippet,
    steps: last.ops.length,
    runs,
  });
}
