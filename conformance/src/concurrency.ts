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
import * as fc from 'fast-check';
import { type CheckResult, checkHistory, type SequentialSpec } from './check-history.js';
import { ConformanceFailure } from './conformance-failure.js';
import type { GroupContext, GroupOutcome } from './group.js';
import { History } from './history.js';
import { CLOCK_EPOCH, type Session } from './session.js';
import { addressPool, casRegister, uniqueKey } from './specs.js';

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const admin = adminContext();
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
/** Usable addresses of 10.0.0.0/29 with gateway 10.0.0.1, lowest first. */
const POOL = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'];

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Starts a call; the scheduler (when given) decides when it starts. */
type Launch = <T>(label: string, fn: () => Promise<T>) => Promise<T>;

function indeterminate(error: unknown): boolean {
  return error instanceof UnavailableError;
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
  /** Runs the race on `clients` (all on one namespace); returns problems and checks the history. */
  run(
    clients: readonly Stores[],
    launch: Launch,
  ): Promise<{ history: History; spec: SequentialSpec<unknown>; problems: string[] }>;
}

const RACES: readonly Race[] = [
  {
    name: 'revision-checked updates',
    async run(clients, launch) {
      const vm = await clients[0]!.instances.create(p1, { displayName: 'v0', flavor: FLAVOR });
      const h = new History();
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
            ),
          ),
        ),
      );
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
        spec: {
          ...casRegister,
          init: () => ({ revision: 1, value: 'v0' }),
        } as SequentialSpec<unknown>,
        problems,
      };
    },
  },
  {
    name: 'expected-value updates',
    async run(clients, launch) {
      const vm = await clients[0]!.instances.create(p1, { flavor: FLAVOR });
      const h = new History();
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
            ),
          ),
        ),
      );
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
    async run(clients, launch) {
      const h = new History();
      const results = await Promise.all(
        clients.map((c, i) =>
          launch(`create c${i}`, () =>
            h.run(
              i,
              'vlan:42',
              { op: 'create' },
              () => c.networks.create(p1, { label: `n${i}`, cidr: '10.8.0.0/29', vlan: 42 }),
              (o) => {
                if (o.ok) return { status: 'ok', output: 'ok' };
                if (o.error instanceof DuplicateError)
                  return { status: 'fail', output: 'duplicate' };
                return {
                  status: indeterminate(o.error) ? 'info' : 'fail',
                  output: String(o.error),
                };
              },
            ),
          ),
        ),
      );
      const wins = results.filter((r) => r.ok).length;
      const problems = results.map(untyped).filter((x): x is string => x !== undefined);
      if (wins !== 1) problems.push(`${wins} networks created with vlan 42 (exactly one may)`);
      const live = await clients[0]!.networks.count(p1, { vlan: 42 });
      if (live !== 1) problems.push(`${live} live networks hold vlan 42`);
      return { history: h, spec: uniqueKey as SequentialSpec<unknown>, problems };
    },
  },
  {
    name: 'allocations in one small network',
    async run(clients, launch) {
      const net = await clients[0]!.networks.create(p1, {
        label: 'tiny',
        cidr: '10.0.0.0/29',
        gateway: '10.0.0.1',
      });
      const h = new History();
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
                    output: String(o.error),
                  };
                },
              ),
            ),
          ),
        ),
      );
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
    async run(clients, launch) {
      const vm = await clients[0]!.instances.create(p1, { flavor: FLAVOR });
      const mig = await clients[0]!.migrations.create(p1, { instanceId: vm.id, progress: 0 });
      const h = new History();
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
                );
                if (!read.ok) break;
                const cur = read.value;
                const w = await h.run(
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
                );
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
        spec: {
          ...casRegister,
          init: () => ({ revision: 1, value: 0 }),
        } as SequentialSpec<unknown>,
        problems,
      };
    },
  },
  {
    name: 'concurrent heartbeats of one service',
    async run(clients, launch) {
      const h = new History();
      const results = await Promise.all(
        clients.map((c, i) =>
          launch(`heartbeat c${i}`, () =>
            h.run(
              i,
              'service:h/nova-compute',
              { op: 'read' },
              () =>
                c.services.heartbeat(admin, { host: 'h', binary: 'nova-compute', codeVersion: 1 }),
              () => ({ status: 'ok', output: null }),
            ),
          ),
        ),
      );
      const problems = results.map(untyped).filter((x): x is string => x !== undefined);
      for (const r of results) if (!r.ok) problems.push(`heartbeat failed: ${String(r.error)}`);
      const n = await clients[0]!.services.count(admin, { host: 'h', binary: 'nova-compute' });
      if (n !== 1)
        problems.push(
          `${n} live services for (h, nova-compute) after concurrent heartbeats (exactly one may exist)`,
        );
      return {
        history: h,
        spec: {
          name: 'none',
          init: () => null,
          step: (s: unknown) => ({ ok: true, state: s }),
          hash: () => '',
        },
        problems,
      };
    },
  },
];

async function openClients(session: Session, n: number): Promise<Stores[]> {
  const namespace = session.namespace('c');
  // One shared clock; disjoint id ranges so that clients never generate the same id.
  const clock = new ManualClock(CLOCK_EPOCH);
  const clients: Stores[] = [];
  for (let i = 0; i < n; i++)
    clients.push(await session.open(namespace, clock, sequentialIds(i * 1_000_000)));
  return clients;
}

async function runRace(
  g: GroupContext,
  race: Race,
  clients: readonly Stores[],
  launch: Launch,
  mode: string,
): Promise<number> {
  const { history, spec, problems } = await race.run(clients, launch);
  const verdict: CheckResult = checkHistory(history.ops, spec, { timeoutMs: g.budget.checkerMs });
  if (verdict.result !== 'ok') problems.push(verdict.explanation);
  if (problems.length > 0) {
    throw new ConformanceFailure(
      'concurrency',
      `${race.name} (${mode}, ${clients.length} clients): ${problems.join('; ')}`,
      {
        steps: history.ops.length,
        snippet: `// history of ${race.name}\n${history.ops.map((o) => `c${o.process} ${JSON.stringify(o.input)} → ${o.status} ${JSON.stringify(o.output) ?? ''}`).join('\n')}`,
      },
    );
  }
  return history.ops.length;
}

/**
 * The concurrency group: (a) `fc.scheduler` reorders the starts of concurrent calls inside
 * one client; (b) several real clients (separate opens of one namespace) race
 * revision-checked updates, expected-value updates, creates on one unique key, allocations
 * in one small network, a CAS counter and heartbeats. Exactly one winner per race, no
 * address twice, no lost increment, and every history linearizable per key.
 */
export async function runConcurrency(g: GroupContext): Promise<GroupOutcome> {
  let runs = 0;
  let ops = 0;
  const rounds = Math.max(2, Math.ceil(g.budget.runs / 20));
  // (a) one client, starts reordered by the scheduler.
  const details = await fc.check(
    fc.asyncProperty(fc.scheduler(), fc.constantFrom(...RACES), async (s, race) => {
      runs += 1;
      const [client] = await openClients(g.session, 1);
      const launch: Launch = (label, fn) => s.schedule(Promise.resolve(label), label).then(fn);
      try {
        ops += await s.waitFor(
          runRace(g, race, [client!, client!, client!], launch, 'one client, scheduled'),
        );
      } finally {
        await g.session.close(client!);
      }
    }),
    { numRuns: rounds * RACES.length, seed: g.seed + 2 },
  );
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
  // (b) several real clients on one namespace.
  for (let round = 0; round < rounds; round++) {
    for (const race of RACES) {
      runs += 1;
      const clients = await openClients(g.session, g.budget.clients);
      try {
        ops += await runRace(g, race, clients, (_l, fn) => fn(), 'separate clients');
      } finally {
        for (const c of clients) await g.session.close(c);
      }
    }
  }
  g.coverage.tested('concurrency.clients');
  return { status: 'passed', runs, notes: [`${ops} operations checked for linearizability`] };
}
