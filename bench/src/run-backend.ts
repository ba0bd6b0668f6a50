import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStores } from '@polystore/core';
import { TcpProxy } from '@polystore/testing';
import type { Address, BackendName, BackendTarget, StartedServer } from './backend-target.js';
import type { BenchConfig } from './bench-config.js';
import { withDeadline } from './deadline.js';
import {
  countRoundTrips,
  type Latency,
  measureRounds,
  type NamedFn,
  type Outcome,
  type RoundTrips,
  reasonOf,
  type ServerClock,
  type Throughput,
} from './measure.js';
import { NotApplicableError } from './not-applicable-error.js';
import { OPERATIONS, type Operation, type Subject } from './operation.js';
import { type MemoryPeak, PeakMemory } from './peak-memory.js';
import { polystoreSubject } from './polystore-subject.js';
import { type ScaleResult, scaleTest, scaleUrls } from './scale-test.js';

/** One implementation of one operation on one backend. */
export interface Cell {
  readonly subject: string;
  readonly role: Subject['role'];
  /** The best raw use, measured against a looser goal than the fair raw baseline. */
  readonly floor?: boolean;
  /** What the operation means for it, when not polystore's own operation. */
  readonly note?: string;
  /** The statement or calls it makes per call, stated in the report. */
  readonly statement?: string;
  /** Why it does not do equal work for this operation: shown, never compared in a goal. */
  readonly unequal?: string;
  /** Why it cannot run on this server at all; such a cell is not a missing one. */
  readonly notApplicable?: string;
  readonly latency: Outcome<Latency>;
  readonly throughput: Outcome<Throughput>;
  /** Counted round trips per call; `null` for embedded backends. */
  roundTrips: Outcome<RoundTrips> | null;
}

/** Everything measured on one backend. */
export interface BackendResult {
  readonly backend: BackendName;
  /** `missing`: nothing could be measured (no server, adapter missing or failing to open). */
  readonly status: 'measured' | 'missing';
  readonly reason?: string;
  readonly server?: string;
  /** Every cell per operation; the first one is polystore's. */
  readonly operations: Partial<Record<Operation, Cell[]>>;
  readonly memory?: MemoryPeak;
  readonly scale?: Outcome<ScaleResult>;
  readonly seconds: number;
}

const failed = (reason: string): Outcome<never> => ({ ok: false, reason });

/**
 * The order operations are measured in: the reads before `create` adds thousands of
 * records (the memory backend scans), `allocate` last.
 */
const MEASURE_ORDER: readonly Operation[] = [
  'get',
  'list',
  'count',
  'updateRevision',
  'updateExpected',
  'create',
  'allocate',
];

/** The operations every server backend must have a raw baseline for. */
export const RAW_REQUIRED: readonly Operation[] = ['get', 'create', 'updateRevision'];

/** A subject that did not open, and the cells it leaves empty. */
interface OpenFailure {
  readonly role: Subject['role'];
  readonly name: string;
  readonly ops: readonly Operation[];
  readonly reason: string;
  readonly notApplicable: boolean;
}

const OPEN_MS = 60_000;
const CLOSE_MS = 15_000;
const STEP_MS = 120_000;

/** Opens polystore, the raw baseline and the peers at one address; failures are recorded. */
async function openSubjects(
  target: BackendTarget,
  address: Address | undefined,
  work: string,
): Promise<{ subjects: Subject[]; failures: OpenFailure[] }> {
  const subjects: Subject[] = [];
  const failures: OpenFailure[] = [];
  const raw = target.raw;
  const makers: {
    role: Subject['role'];
    name: string;
    ops: readonly Operation[];
    make: () => Promise<Subject>;
  }[] = [
    {
      role: 'polystore',
      name: 'polystore',
      ops: OPERATIONS,
      make: async () => polystoreSubject(await openStores(target.storeUrl(address, work))),
    },
    ...(raw === undefined
      ? []
      : [
          {
            role: 'raw' as const,
            name: 'raw driver',
            ops: RAW_REQUIRED,
            make: () => raw(address, work),
          },
        ]),
    ...(target.floor === undefined
      ? []
      : [
          {
            role: 'raw' as const,
            name: 'raw driver floor',
            ops: RAW_REQUIRED,
            make: () => (target.floor as NonNullable<typeof target.floor>)(address, work),
          },
        ]),
    ...target.peers.map((peer) => ({
      role: 'peer' as const,
      name: peer.name,
      ops: peer.ops,
      make: () => peer.open(address ?? { host: '', port: 0 }),
    })),
  ];
  for (const { role, name, ops, make } of makers) {
    try {
      subjects.push(await withDeadline(make(), OPEN_MS, `opening ${name}`));
    } catch (err) {
      failures.push({
        role,
        name,
        ops,
        reason: reasonOf(err),
        notApplicable: err instanceof NotApplicableError,
      });
    }
  }
  return { subjects, failures };
}

async function closeAll(subjects: readonly Subject[]): Promise<void> {
  for (const s of subjects)
    await withDeadline(s.close(), CLOSE_MS, `closing ${s.name}`).catch(() => {});
}

/** How long the scale test of a backend may take before it is given up: its load budget and four steps. */
export function scaleDeadlineMs(config: BenchConfig): number {
  return config.scaleLoadBudgetMs + 4 * STEP_MS;
}

/**
 * Runs one backend: starts its server, opens polystore, the raw baseline and the peers,
 * measures every operation, then counts round trips with clients opened again through a
 * proxy (one set of clients at a time: Keyv's PostgreSQL store keeps one pool per
 * process), runs the scale test and stops the server. A backend whose adapter is missing
 * or fails to open is returned as `missing` with the reason; nothing here throws.
 */
export async function runBackend(
  target: BackendTarget,
  config: BenchConfig,
  workRoot: string,
  log: (line: string) => void,
): Promise<BackendResult> {
  const t0 = performance.now();
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  const work = join(workRoot, target.name);
  mkdirSync(work, { recursive: true });
  globalThis.gc?.();
  const memory = new PeakMemory();
  let server: StartedServer | undefined;
  let proxy: TcpProxy | undefined;
  let open: Subject[] = [];
  const missing = (reason: string): BackendResult => ({
    backend: target.name,
    status: 'missing',
    reason,
    operations: {},
    seconds: seconds(),
  });
  try {
    try {
      server = await target.start(work);
    } catch (err) {
      return missing(`server did not start: ${reasonOf(err)}`);
    }
    const direct = await openSubjects(target, server?.address, work);
    open = direct.subjects;
    const polyFailure = direct.failures.find((f) => f.role === 'polystore');
    if (polyFailure)
      return missing(`polystore adapter missing or failing to open: ${polyFailure.reason}`);
    log(`${target.name}: polystore open${server ? ` on ${server.description}` : ''}`);
    for (const f of direct.failures) log(`${target.name}: ${f.name} failed to open: ${f.reason}`);
    const measured: Partial<Record<Operation, Cell[]>> = {};
    let clock: ServerClock | undefined;
    if (server && target.serverClock) {
      try {
        clock = await target.serverClock(server.address);
      } catch (err) {
        log(`${target.name}: no server time per call: ${reasonOf(err)}`);
      }
    }
    for (const op of MEASURE_ORDER) {
      const cells = await measureOperation(op, direct.subjects, config, target.embedded, clock);
      for (const f of direct.failures) if (f.ops.includes(op)) cells.push(failedCell(f));
      measured[op] = cells;
      const p = cells[0];
      log(
        `${target.name} ${op}: p50 ${p?.latency.ok ? p.latency.value.p50.toFixed(3) : 'n/a'} ms, ${
          p?.throughput.ok ? Math.round(p.throughput.value.opsPerSecond) : 'n/a'
        } ops/s`,
      );
    }
    await clock?.close().catch(() => {});
    // Reported in the order of OPERATIONS.
    const operations: Partial<Record<Operation, Cell[]>> = {};
    for (const op of OPERATIONS) operations[op] = measured[op] ?? [];
    await closeAll(open);
    open = [];
    if (server) {
      proxy = await TcpProxy.start(server.address);
      const proxied = await openSubjects(target, { host: '127.0.0.1', port: proxy.port }, work);
      open = proxied.subjects;
      for (const f of proxied.failures)
        log(`${target.name}: ${f.name} failed to open through the proxy: ${f.reason}`);
      for (const op of OPERATIONS) {
        for (const cell of operations[op] ?? []) {
          const subject = proxied.subjects.find((s) => s.name === cell.subject);
          const prepare = subject?.ops[op];
          if (cell.notApplicable !== undefined) continue;
          const reason = proxied.failures.find(
            (f) => f.name === cell.subject || (f.role === 'raw' && cell.role === 'raw'),
          )?.reason;
          cell.roundTrips = prepare
            ? await withDeadline(
                prepare().then((fn) =>
                  countRoundTrips(fn, proxy as TcpProxy, config.roundTripCalls),
                ),
                STEP_MS,
                `round trips of ${cell.subject} ${op}`,
              ).catch((err: unknown) => failed(reasonOf(err)))
            : failed(reason ?? 'no client through the proxy');
        }
      }
      await closeAll(open);
      open = [];
      log(`${target.name}: round trips counted`);
    }
    let scale: Outcome<ScaleResult>;
    try {
      scale = {
        ok: true,
        value: await withDeadline(
          scaleTest(
            target.name,
            scaleUrls(target.name, target.storeUrl(server?.address, work), work),
            config,
            log,
          ),
          scaleDeadlineMs(config),
          'scale test',
        ),
      };
    } catch (err) {
      scale = failed(reasonOf(err));
    }
    return {
      backend: target.name,
      status: 'measured',
      ...(server ? { server: server.description } : {}),
      operations,
      memory: memory.stop(),
      scale,
      seconds: seconds(),
    };
  } finally {
    memory.stop();
    await closeAll(open);
    await proxy?.close().catch(() => {});
    await server?.stop().catch(() => {});
  }
}

/** The cell of a subject that did not open. */
function failedCell(f: OpenFailure): Cell {
  const reason = failed(f.reason);
  return {
    subject: f.name,
    role: f.role,
    ...(f.notApplicable ? { notApplicable: f.reason } : {}),
    latency: reason,
    throughput: reason,
    roundTrips: reason,
  };
}

/** Measures one operation on every subject that implements it (round trips come later). */
async function measureOperation(
  op: Operation,
  subjects: readonly Subject[],
  config: BenchConfig,
  embedded: boolean,
  clock: ServerClock | undefined,
): Promise<Cell[]> {
  const prepared: { subject: Subject; fn: NamedFn | undefined; error?: string }[] = [];
  for (const subject of subjects) {
    const prepare = subject.ops[op];
    if (prepare === undefined) continue;
    try {
      const fn = await withDeadline(prepare(), STEP_MS, `preparing ${subject.name} ${op}`);
      prepared.push({ subject, fn: { name: subject.name, fn } });
    } catch (err) {
      prepared.push({ subject, fn: undefined, error: reasonOf(err) });
    }
  }
  const fns = prepared.flatMap((p) => (p.fn ? [p.fn] : []));
  const m = config.measure;
  const budget = fns.length * m.rounds * 4 * (m.timeMs + m.warmupMs) + STEP_MS;
  const timedOut = (err: unknown) => new Map(fns.map((f) => [f.name, failed(reasonOf(err))]));
  const { latency, throughput } = await withDeadline(
    measureRounds(fns, m, clock),
    budget,
    `rounds of ${op}`,
  ).catch((err: unknown) => ({ latency: timedOut(err), throughput: timedOut(err) }));
  return prepared.map((p) => {
    const name = p.subject.name;
    const note = p.subject.notes?.[op];
    return {
      subject: name,
      role: p.subject.role,
      ...(p.subject.floor ? { floor: true } : {}),
      ...(p.subject.unequal?.[op] === undefined ? {} : { unequal: p.subject.unequal[op] }),
      ...(p.subject.statements?.[op] === undefined ? {} : { statement: p.subject.statements[op] }),
      ...(note === undefined ? {} : { note }),
      latency: p.error ? failed(p.error) : (latency.get(name) ?? failed('not measured')),
      throughput: p.error ? failed(p.error) : (throughput.get(name) ?? failed('not measured')),
      roundTrips: embedded ? null : failed('not counted'),
    };
  });
}
