import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adminContext,
  ConflictError,
  createContext,
  DuplicateError,
  ExhaustedError,
  ManualClock,
  NotSupportedError,
  PolystoreError,
  type Stores,
  sequentialIds,
  UnavailableError,
} from '@polystore/core';
import { TcpProxy } from '@polystore/testing';
import * as fc from 'fast-check';
import { type CheckResult, checkHistory, type SequentialSpec, timeline } from './check-history.js';
import { ConformanceFailure } from './conformance-failure.js';
import type { GroupContext, GroupOutcome } from './group.js';
import { eventually, History, OpTimeout, type RunOptions } from './history.js';
import { exportHistory } from './history-export.js';
import { CLOCK_EPOCH, type Session } from './session.js';
import { addressPool, anyHistory, casRegister, casRegisterFrom, uniqueKey } from './specs.js';

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const admin = adminContext();
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
/** Usable addresses of 10.0.0.0/29 with gateway 10.0.0.1, lowest first. */
const POOL = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'];

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Starts a call; the scheduler (when given) decides when it starts. */
type Launch = <T>(label: string, fn: () => Promise<T>) => Promise<T>;

/** The send delay and client-side timeout of the next op (none outside the timing rounds). */
type Timing = () => RunOptions;

const NO_TIMING: Timing = () => ({});

function indeterminate(error: unknown): boolean {
  return error instanceof UnavailableError;
}

/**
 * Waits for every call of the race, timed-out ones included, and gives each op's real
 * outcome: the history keeps a timed-out op `info`, but the race's own rules (one winner,
 * no address twice) hold for what really happened.
 */
async function settle<T>(h: History, results: readonly Outcome<T>[]): Promise<Outcome<T>[]> {
  await h.settled();
  return Promise.all(results.map((r) => eventually(r)));
}

function untyped(o: Outcome<unknown>): string | undefined {
  return !o.ok && !(o.error instanceof PolystoreError)
    ? `an untyped error escaped: ${String(o.error)}`
    : undefined;
}

function classifyCas(
  o: Outcome<{ revision: number; displayName?: unknown; taskState?: unknown; progress?: unknown }>,
  field: 'displayName' | 'taskState' | 'progress',
) {
  if (o.ok)
    return { status: 'ok' as const, output: { revision: o.value.revision, value: o.value[field] } };
  if (o.error instanceof ConflictError)
    return { status: 'fail' as const, output: { conflict: o.error.currentRevision } };
  if (indeterminate(o.error)) return { status: 'info' as const, output: undefined };
  return { status: 'fail' as const, output: { error: String(o.error) } };
}

interface Race {
  readonly name: string;
  /**
   * Runs the race on `clients` (all on one namespace); returns problems and checks the
   * history. Races share namespaces and clients, so every unique value a race takes (a VLAN,
   * a service's host) is derived from `tag`, which no other race of the group gets.
   */
  run(
    clients: readonly Stores[],
    launch: Launch,
    timing: Timing,
    /** The history to record into: the caller owns it, so it survives a race that throws. */
    h: History,
    tag: number,
  ): Promise<{ history: History; spec: SequentialSpec<unknown>; problems: string[] }>;
}

const RACES: readonly Race[] = [
  {
    name: 'revision-checked updates',
    async run(clients, launch, timing, h) {
      const vm = await clients[0]!.instances.create(p1, { displayName: 'v0', flavor: FLAVOR });
      const key = `instance:${vm.id}`;
      const results = await Promise.all(
        clients.map((c, i) =>
          launch(`cas c${i}`, () =>
            h.run(
              i,
              key,
              { op: 'cas', expectedRevision: 1, value: `c${i}` },
              () =>
                c.instances.update(p1, vm.id, { displayName: `c${i}` }, { expectedRevision: 1 }),
              (o) => classifyCas(o, 'displayName'),
              timing(),
            ),
          ),
        ),
      ).then((r) => settle(h, r));
      await h.run(
        0,
        key,
        { op: 'read' },
        () => clients[0]!.instances.get(p1, vm.id),
        (o) => classifyCas(o, 'displayName'),
      );
      const wins = results.filter((r) => r.ok).length;
      const problems = results.map(untyped).filter((x): x is string => x !== undefined);
      if (wins !== 1)
        problems.push(`${wins} clients won the same expectedRevision: 1 (exactly one may)`);
      return {
        history: h,
        spec: casRegisterFrom({ revision: 1, value: 'v0' }) as SequentialSpec<unknown>,
        problems,
      };
    },
  },
  {
    name: 'expected-value updates',
    async run(clients, launch, timing, h) {
      const vm = await clients[0]!.instances.create(p1, { flavor: FLAVOR });
      const key = `instance:${vm.id}`;
      const results = await Promise.all(
        clients.map((c, i) =>
          launch(`expected c${i}`, () =>
            h.run(
              i,
              key,
              { op: 'cas', expectedValues: [null], value: 'spawning' },
              () =>
                c.instances.update(
                  p1,
                  vm.id,
                  { taskState: 'spawning' },
                  { expected: { taskState: [null] } },
                ),
              (o) => classifyCas(o, 'taskState'),
              timing(),
            ),
          ),
        ),
      ).then((r) => settle(h, r));
      const wins = results.filter((r) => r.ok).length;
      const problems = results.map(untyped).filter((x): x is string => x !== undefined);
      if (clients[0]!.capabilities.features['update.expected'] === false) {
        // Declared off: every client must be refused, and nothing may change.
        const refused = results.every(
          (r) =>
            !r.ok &&
            r.error instanceof NotSupportedError &&
            r.error.capability === 'update.expected',
        );
        if (!refused)
          problems.push(
            "'update.expected' is declared off but was not refused with NotSupportedError",
          );
        return { history: new History(), spec: casRegister as SequentialSpec<unknown>, problems };
      }
      if (wins !== 1) problems.push(`${wins} clients moved taskState from null (exactly one may)`);
      return { history: h, spec: casRegister as SequentialSpec<unknown>, problems };
    },
  },
  {
    name: 'creates on one unique key',
    async run(clients, launch, timing, h, tag) {
      const vlan = 1 + (tag % 4094);
      const results = await Promise.all(
        clients.map((c, i) =>
          launch(`create c${i}`, () =>
            h.run(
              i,
              `vlan:${vlan}`,
              { op: 'create' },
              () => c.networks.create(p1, { label: `n${i}`, cidr: '10.8.0.0/29', vlan }),
              (o) => {
                if (o.ok) return { status: 'ok', output: 'ok' };
                if (o.error instanceof DuplicateError)
                  return { status: 'fail', output: 'duplicate' };
                return {
                  status: indeterminate(o.error) ? 'info' : 'fail',
                  output: { error: String(o.error) },
                };
              },
              timing(),
            ),
          ),
        ),
      ).then((r) => settle(h, r));
      const wins = results.filter((r) => r.ok).length;
      const problems = results.map(untyped).filter((x): x is string => x !== undefined);
      if (wins !== 1) problems.push(`${wins} networks created with vlan ${vlan} (exactly one may)`);
      const live = await clients[0]!.networks.count(p1, { vlan });
      if (live !== 1) problems.push(`${live} live networks hold vlan ${vlan}`);
      return { history: h, spec: uniqueKey as SequentialSpec<unknown>, problems };
    },
  },
  {
    name: 'allocations in one small network',
    async run(clients, launch, timing, h) {
      const net = await clients[0]!.networks.create(p1, {
        label: 'tiny',
        cidr: '10.0.0.0/29',
        gateway: '10.0.0.1',
      });
      const key = `network:${net.id}`;
      const results = await Promise.all(
        clients.flatMap((c, i) =>
          [0, 1].map((j) =>
            launch(`allocate c${i}.${j}`, () =>
              h.run(
                i,
                key,
                { op: 'allocate' },
                () => c.fixedIps.allocate(p1, { networkId: net.id, instanceId: null }),
                (o) => {
                  if (o.ok) return { status: 'ok', output: o.value.address };
                  if (o.error instanceof ExhaustedError)
                    return { status: 'fail', output: 'exhausted' };
                  return {
                    status: indeterminate(o.error) ? 'info' : 'fail',
                    output: { error: String(o.error) },
                  };
                },
                timing(),
              ),
            ),
          ),
        ),
      ).then((r) => settle(h, r));
      const addresses = results
        .filter((r) => r.ok)
        .map((r) => (r as { value: { address: string } }).value.address);
      const problems = results.map(untyped).filter((x): x is string => x !== undefined);
      const dup = addresses.find((a, i) => addresses.indexOf(a) !== i);
      if (dup) problems.push(`address ${dup} was allocated twice`);
      if (addresses.includes('10.0.0.1')) problems.push('the gateway 10.0.0.1 was allocated');
      const expected = Math.min(POOL.length, results.length);
      if (addresses.length !== expected)
        problems.push(`${addresses.length} allocations succeeded, expected ${expected}`);
      return { history: h, spec: addressPool(POOL) as SequentialSpec<unknown>, problems };
    },
  },
  {
    name: 'a counter incremented with CAS retries',
    async run(clients, launch, timing, h) {
      const vm = await clients[0]!.instances.create(p1, { flavor: FLAVOR });
      const mig = await clients[0]!.migrations.create(p1, { instanceId: vm.id, progress: 0 });
      const key = `migration:${mig.id}`;
      let acked = 0;
      const problems: string[] = [];
      const perClient = 3;
      await Promise.all(
        clients.map((c, i) =>
          launch(`counter c${i}`, async () => {
            for (let n = 0; n < perClient; n++) {
              for (let attempt = 0; attempt < 60; attempt++) {
                const read = await h.run(
                  i,
                  key,
                  { op: 'read' },
                  () => c.migrations.get(p1, mig.id),
                  (o) => classifyCas(o, 'progress'),
                  timing(),
                );
                // A read that timed out told the client nothing: it reads again.
                if (!read.ok && read.error instanceof OpTimeout) continue;
                if (!read.ok) break;
                const cur = read.value;
                const w = await h
                  .run(
                    i,
                    key,
                    { op: 'cas', expectedRevision: cur.revision, value: cur.progress + 1 },
                    () =>
                      c.migrations.update(
                        p1,
                        mig.id,
                        { progress: cur.progress + 1 },
                        { expectedRevision: cur.revision },
                      ),
                    (o) => classifyCas(o, 'progress'),
                    timing(),
                  )
                  .then(eventually);
                // A timed-out write is `info` in the history; the client still learns how
                // it ended (a late reply), so the acknowledged count stays exact.
                if (w.ok) {
                  acked += 1;
                  break;
                }
                if (!(w.error instanceof ConflictError)) {
                  problems.push(untyped(w) ?? `increment failed: ${String(w.error)}`);
                  break;
                }
              }
            }
          }),
        ),
      );
      const final = await clients[0]!.migrations.get(p1, mig.id);
      if (final.progress !== acked)
        problems.push(`the counter is ${final.progress} after ${acked} acknowledged increments`);
      return {
        history: h,
        spec: casRegisterFrom({ revision: 1, value: 0 }) as SequentialSpec<unknown>,
        problems,
      };
    },
  },
  {
    name: 'concurrent heartbeats of one service',
    async run(clients, launch, timing, h, tag) {
      const host = `h${tag}`;
      const results = await Promise.all(
        clients.map((c, i) =>
          launch(`heartbeat c${i}`, () =>
            h.run(
              i,
              `service:${host}/nova-compute`,
              { op: 'read' },
              () => c.services.heartbeat(admin, { host, binary: 'nova-compute', codeVersion: 1 }),
              () => ({ status: 'ok', output: null }),
              timing(),
            ),
          ),
        ),
      ).then((r) => settle(h, r));
      const problems = results.map(untyped).filter((x): x is string => x !== undefined);
      for (const r of results) if (!r.ok) problems.push(`heartbeat failed: ${String(r.error)}`);
      const n = await clients[0]!.services.count(admin, { host, binary: 'nova-compute' });
      if (n !== 1)
        problems.push(
          `${n} live services for (${host}, nova-compute) after concurrent heartbeats (exactly one may exist)`,
        );
      return {
        history: h,
        spec: anyHistory as SequentialSpec<unknown>,
        problems,
      };
    },
  },
];

async function openClients(session: Session, n: number): Promise<Stores[]> {
  const namespace = session.namespace('c');
  // One shared clock; disjoint id ranges so that clients never generate the same id.
  const clock = new ManualClock(CLOCK_EPOCH);
  // The first open creates the namespace; the others then open it at once.
  const first = await session.open(namespace, clock, sequentialIds(0));
  const rest = await Promise.allSettled(
    Array.from({ length: n - 1 }, (_, i) =>
      session.open(namespace, clock, sequentialIds((i + 1) * 1_000_000)),
    ),
  );
  const clients = [first, ...rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
  const failed = rest.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(clients.map((c) => session.close(c).catch(() => undefined)));
    throw failed.reason;
  }
  return clients;
}

/** Where failing races write their histories: `CONFORMANCE_HISTORY_DIR` or a temp folder. */
function historyDir(): string {
  return process.env.CONFORMANCE_HISTORY_DIR ?? join(tmpdir(), 'polystore-conformance');
}

/** Writes a failing race's history (see `exportHistory`) and says where, or why it could not. */
function writeHistory(
  g: GroupContext,
  race: Race,
  history: History,
  spec: SequentialSpec<unknown>,
): string {
  const slug = race.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
  const file = join(historyDir(), `${g.session.runId}-${slug}-${process.hrtime.bigint()}.json`);
  try {
    mkdirSync(historyDir(), { recursive: true });
    writeFileSync(file, exportHistory(history.ops, spec));
    return `history written to ${file}`;
  } catch (err) {
    return `the history could not be written to ${file}: ${String(err)}`;
  }
}

/** The tag of the next race (see `Race.run`): unique over the whole process. */
let nextTag = 0;

async function runRace(
  g: GroupContext,
  race: Race,
  clients: readonly Stores[],
  launch: Launch,
  mode: string,
  timing: Timing = NO_TIMING,
): Promise<History> {
  nextTag += 1;
  const tag = nextTag;
  const h = new History();
  let spec: SequentialSpec<unknown> = anyHistory as SequentialSpec<unknown>;
  let problems: string[];
  let history = h;
  try {
    ({ history, spec, problems } = await race.run(clients, launch, timing, h, tag));
  } catch (err) {
    await h.settled();
    const where = writeHistory(g, race, h, spec);
    throw new ConformanceFailure(
      'concurrency',
      `${race.name} (${mode}, ${clients.length} clients): the race threw: ${err instanceof Error ? err.stack : String(err)}\n${where}`,
      { steps: h.ops.length },
    );
  }
  const verdict: CheckResult = checkHistory(history.ops, spec, { timeoutMs: g.budget.checkerMs });
  if (verdict.result !== 'ok') problems.push(verdict.explanation);
  if (problems.length > 0) {
    const where = writeHistory(g, race, history, spec);
    throw new ConformanceFailure(
      'concurrency',
      `${race.name} (${mode}, ${clients.length} clients): ${problems.join('; ')}\n${where}`,
      {
        steps: history.ops.length,
        snippet: `// history of ${race.name}\n${timeline(history.ops)}`,
      },
    );
  }
  return history;
}

/** A small seeded PRNG (mulberry32): the timing rounds replay with the run's seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Latency the timing rounds add each way through the proxy, for network adapters, in ms. */
const LATENCY_MS = 4;

/**
 * The timing of one race in the timing rounds: every op waits a random time between its
 * invoke and its send, and gives up after a random client-side timeout, often shorter than
 * the reply takes (latency both ways through the proxy, or the send delay alone in process).
 * The first op always waits past its own timeout, so every race has an `info` op.
 */
function stressTiming(next: () => number, replyMs: number): Timing {
  let first = true;
  return () => {
    const timeoutMs = 1 + Math.floor(next() * (2 * replyMs + 6));
    if (first) {
      first = false;
      return { timeoutMs, sendDelayMs: timeoutMs + 2 };
    }
    return { timeoutMs, sendDelayMs: Math.floor(next() * (replyMs + 6)) };
  };
}

/**
 * The concurrency group: (a) `fc.scheduler` reorders the starts of concurrent calls inside
 * one client; (b) several real clients (separate opens of one namespace) race
 * revision-checked updates, expected-value updates, creates on one unique key, allocations
 * in one small network, a CAS counter and heartbeats; (c) the same races under stressed
 * timing: random delays between invoke and send, client-side timeouts shorter than the
 * replies (through a latency proxy for network adapters), so `info` ops appear in every
 * race. Exactly one winner per race, no address twice, no lost increment, and every history
 * linearizable per key. A failing race writes its history (`exportHistory`) to
 * `CONFORMANCE_HISTORY_DIR` (default `<tmp>/polystore-conformance`).
 */
export async function runConcurrency(g: GroupContext): Promise<GroupOutcome> {
  let runs = 0;
  let ops = 0;
  const rounds = Math.max(2, Math.ceil(g.budget.runs / 20));
  // (a) one client, starts reordered by the scheduler. One bag serves every run: each race
  // takes its own records and unique values (see `Race.run`), and opening a bag is what
  // costs on a slow backend (a pool, or a session, and the schema checks).
  const [client] = await openClients(g.session, 1);
  let details: fc.RunDetails<[fc.Scheduler, Race]>;
  try {
    details = await fc.check(
      fc.asyncProperty(fc.scheduler(), fc.constantFrom(...RACES), async (s, race) => {
        runs += 1;
        const launch: Launch = (label, fn) => s.schedule(Promise.resolve(label), label).then(fn);
        const h = await s.waitFor(
          runRace(g, race, [client!, client!, client!], launch, 'one client, scheduled'),
        );
        ops += h.ops.length;
      }),
      { numRuns: rounds * RACES.length, seed: g.seed + 2 },
    );
  } finally {
    await g.session.close(client!);
  }
  if (details.failed) {
    const err = details.errorInstance;
    if (err instanceof ConformanceFailure)
      throw new ConformanceFailure(
        'concurrency',
        `${err.message}\nscheduler: ${String(details.counterexample?.[0])}`,
        err.details,
      );
    throw new ConformanceFailure(
      'concurrency',
      `the run threw: ${err instanceof Error ? err.stack : String(err)}`,
    );
  }
  g.coverage.tested('concurrency.scheduler');
  // (b) several real clients on one namespace; a fresh set (and namespace) per round, shared
  // by the round's races.
  for (let round = 0; round < rounds; round++) {
    const clients = await openClients(g.session, g.budget.clients);
    try {
      for (const race of RACES) {
        runs += 1;
        ops += (await runRace(g, race, clients, (_l, fn) => fn(), 'separate clients')).ops.length;
      }
    } finally {
      await Promise.all(clients.map((c) => g.session.close(c)));
    }
  }
  g.coverage.tested('concurrency.clients');
  // (c) the same races with stressed timing.
  const stressStart = performance.now();
  const next = random(g.seed + 3);
  const faults = g.session.options.faults;
  const target = faults && 'proxy' in faults ? faults.proxy.target : undefined;
  const proxy = target === undefined ? undefined : await TcpProxy.start(target);
  proxy?.set({ kind: 'latency', ms: LATENCY_MS });
  const replyMs = proxy ? 2 * LATENCY_MS : 1;
  let info = 0;
  let stressed = 0;
  let racesWithInfo = 0;
  try {
    for (let round = 0; round < Math.ceil(rounds / 3); round++) {
      // One set of clients per round, shared by its races (each race has its own records,
      // keys and unique values): opening through the latency proxy is the slow part.
      if (proxy && target) g.session.setRoute((url) => url.split(target).join(proxy.address));
      let clients: Stores[];
      try {
        clients = await openClients(g.session, g.budget.clients);
      } finally {
        g.session.setRoute(undefined);
      }
      try {
        for (const race of RACES) {
          runs += 1;
          const h = await runRace(
            g,
            race,
            clients,
            (_l, fn) => fn(),
            `stressed timing${proxy ? `, ${LATENCY_MS} ms latency each way` : ''}`,
            stressTiming(next, replyMs),
          );
          ops += h.ops.length;
          const lost = h.ops.filter((o) => o.status === 'info').length;
          info += lost;
          stressed += 1;
          if (lost > 0) racesWithInfo += 1;
        }
      } finally {
        await Promise.all(clients.map((c) => g.session.close(c)));
      }
    }
  } finally {
    await proxy?.close();
  }
  return {
    status: 'passed',
    runs,
    notes: [
      `${ops} operations checked for linearizability; under stressed timing ${info} were indeterminate (info), in ${racesWithInfo} of ${stressed} races (${Math.round(performance.now() - stressStart)} ms)`,
    ],
  };
}
