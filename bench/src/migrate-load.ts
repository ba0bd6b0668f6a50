/**
 * The concurrent load of the migrate benchmark, in a process of its own (so its client work
 * and the runner's do not share one event loop): a release-M fleet member whose clients each
 * do, one call at a time, a `get` then an `update` of a random widget, timing every call by
 * phase (`before` the migrate, `during` it). Driven over IPC by migrate-bench.ts:
 *
 *   child → parent  { type: 'ready' }                 joined the fleet, warmed up
 *   parent → child  { type: 'phase', phase }          samples from now on count for `phase`
 *   parent → child  { type: 'stop' }                  → { type: 'result', result: LoadResult }
 *
 * argv: store URL, clients, widgets loaded (ids 0 … n-1), heartbeat ms.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createContext } from '@polystore/core';
import { joinFleet } from '@polystore/migrate';
import { widgetM } from '@polystore/testing/upgrade-fixtures';
import { MIGRATE_PROJECT, widgetId } from './migrate-loader.js';
import { quantile } from './rounds.js';

/** A phase of the load: before the migrate, during it (after it is not counted). */
export type LoadPhase = 'warmup' | 'before' | 'during' | 'after';

/** Latencies of one operation in one phase. */
export interface OpLatency {
  readonly calls: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What the load saw in one phase. */
export interface PhaseLoad {
  readonly seconds: number;
  readonly get: OpLatency | null;
  readonly update: OpLatency | null;
  /** Failed calls by error name (a conflict with the runner, a fenced write, …). */
  readonly errors: Readonly<Record<string, number>>;
}

/** The load's report to the parent. */
export interface LoadResult {
  readonly clients: number;
  readonly before: PhaseLoad;
  readonly during: PhaseLoad;
}

/** A message from the parent. */
export type LoadCommand = { type: 'phase'; phase: LoadPhase } | { type: 'stop' };

/** A message to the parent. */
export type LoadReply = { type: 'ready' } | { type: 'result'; result: LoadResult };

function summary(samples: number[]): OpLatency | null {
  if (samples.length === 0) return null;
  const s = samples.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    calls: s.length,
    p50Ms: r(quantile(s, 0.5)),
    p99Ms: r(quantile(s, 0.99)),
    maxMs: r(s.at(-1)!),
  };
}

async function main(): Promise<void> {
  const [url, clientsArg, nArg, heartbeatArg] = process.argv.slice(2);
  if (!url || !clientsArg || !nArg || !heartbeatArg || !process.send)
    throw new Error('migrate-load: run by migrate-bench.ts (url clients n heartbeatMs, with IPC)');
  const clients = Number(clientsArg);
  const n = Number(nArg);
  const send = (m: LoadReply) => process.send!(m);
  const member = await joinFleet(url, {
    service: 'bench-load',
    release: '1.1.0',
    resources: [widgetM],
    heartbeatMs: Number(heartbeatArg),
  });
  const widgets = member.stores.store(widgetM);
  const ctx = createContext({ projectId: MIGRATE_PROJECT, userId: 'bench' });

  let phase: LoadPhase = 'warmup';
  const started = new Map<LoadPhase, number>([['warmup', performance.now()]]);
  const ended = new Map<LoadPhase, number>();
  const samples = new Map<string, number[]>();
  const errors = new Map<LoadPhase, Record<string, number>>();
  const record = (op: string, ms: number) => {
    const key = `${phase}:${op}`;
    const list = samples.get(key) ?? [];
    if (list.length === 0) samples.set(key, list);
    list.push(ms);
  };
  let stopping = false;
  const timed = async (op: string, fn: () => Promise<unknown>) => {
    const at = phase;
    const t0 = performance.now();
    try {
      await fn();
      if (phase === at) record(op, performance.now() - t0);
    } catch (err) {
      const name = err instanceof Error ? err.name : 'Error';
      const counts = errors.get(at) ?? {};
      counts[name] = (counts[name] ?? 0) + 1;
      errors.set(at, counts);
      // A refused call (fenced, unavailable) returns at once: do not spin.
      await sleep(5);
    }
  };
  const client = async () => {
    while (!stopping) {
      const id = widgetId(Math.floor(Math.random() * n));
      await timed('get', () => widgets.get(ctx, id));
      await timed('update', () =>
        widgets.update(ctx, id, { size: Math.floor(Math.random() * 100) }),
      );
    }
  };
  const loops = Array.from({ length: clients }, client);

  const phaseLoad = (p: LoadPhase): PhaseLoad => {
    const from = started.get(p);
    const to = ended.get(p) ?? performance.now();
    return {
      seconds: from === undefined ? 0 : Math.round((to - from) / 100) / 10,
      get: summary(samples.get(`${p}:get`) ?? []),
      update: summary(samples.get(`${p}:update`) ?? []),
      errors: errors.get(p) ?? {},
    };
  };

  process.on('message', async (m: LoadCommand) => {
    if (m.type === 'phase') {
      ended.set(phase, performance.now());
      phase = m.phase;
      started.set(phase, performance.now());
      return;
    }
    ended.set(phase, performance.now());
    stopping = true;
    await Promise.all(loops);
    const result: LoadResult = {
      clients,
      before: phaseLoad('before'),
      during: phaseLoad('during'),
    };
    await member.close();
    process.removeAllListeners('disconnect');
    send({ type: 'result', result });
    process.disconnect();
  });
  // The parent gone (killed, crashed): nothing will ever ask for the result.
  process.on('disconnect', () => process.exit(0));
  // Warm up (connections, plans, JIT) before the parent starts counting.
  await sleep(1000);
  send({ type: 'ready' });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
