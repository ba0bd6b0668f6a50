import type { HistoryOp } from './history.js';

/** Options of {@link syntheticCounterHistory}. */
export interface SyntheticHistoryOptions {
  /** Concurrent clients (processes). */
  readonly clients: number;
  /** Ops each client runs, one after another. */
  readonly opsPerClient: number;
  /** Seed of the pseudo-random times. */
  readonly seed: number;
  /**
   * Turn one conflicting write in the middle of the history into a second winner of the same
   * revision (a lost update): the history is then certainly not linearizable.
   */
  readonly violation?: boolean;
  /** Share of ops (0..1) whose reply is lost (`info`, never returned). */
  readonly infoRate?: number;
  /** Longest time from call to effect and from effect to return (default 40): wider overlaps. */
  readonly spread?: number;
}

/**
 * A history of a counter incremented with CAS retries, as the concurrency group's counter race
 * makes: each client reads, then writes `value + 1` expecting the revision it read, and so on.
 * Times are pseudo-random; every op takes effect at a point inside its interval, so the
 * history is linearizable against `casRegisterFrom({ revision: 1, value: 0 })` unless
 * `violation` is set. For the checker's benchmark and tests.
 *
 * @example
 * ```ts
 * const ops = syntheticCounterHistory({ clients: 8, opsPerClient: 200, seed: 1, violation: true });
 * checkHistory(ops, casRegisterFrom({ revision: 1, value: 0 })); // → violation
 * ```
 */
export function syntheticCounterHistory(options: SyntheticHistoryOptions): HistoryOp[] {
  let x = options.seed >>> 0 || 1;
  const rand = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
  const spread = options.spread ?? 40;
  const plan: { client: number; nth: number; call: number; at: number; ret: number }[] = [];
  for (let c = 0; c < options.clients; c++) {
    let t = Math.floor(rand() * 50);
    for (let nth = 0; nth < options.opsPerClient; nth++) {
      const call = t;
      const at = call + 1 + Math.floor(rand() * spread);
      const ret = at + 1 + Math.floor(rand() * spread);
      plan.push({ client: c, nth, call, at, ret });
      t = ret + 1 + Math.floor(rand() * 10);
    }
  }
  // Apply the ops in the order they take effect, as a real register would.
  plan.sort((a, b) => a.at - b.at || a.client - b.client);
  let revision = 1;
  let value = 0;
  const lastRead = new Map<number, { revision: number; value: number }>();
  const ops: HistoryOp[] = plan.map((p) => {
    const base = { process: p.client, key: 'counter', call: BigInt(p.call), ret: BigInt(p.ret) };
    if (p.nth % 2 === 0) {
      lastRead.set(p.client, { revision, value });
      return {
        ...base,
        input: { op: 'read' },
        output: { revision, value },
        status: 'ok' as const,
      };
    }
    const seen = lastRead.get(p.client) ?? { revision: 1, value: 0 };
    const input = { op: 'cas', expectedRevision: seen.revision, value: seen.value + 1 };
    if (seen.revision !== revision)
      return { ...base, input, output: { conflict: revision }, status: 'fail' as const };
    revision += 1;
    value = seen.value + 1;
    return { ...base, input, output: { revision, value }, status: 'ok' as const };
  });
  let winner: HistoryOp | undefined;
  let rival: HistoryOp | undefined;
  if (options.violation) {
    // A conflict on revision r means another write won r: make this one win it too.
    const conflicts = ops.filter((o) => o.status === 'fail');
    winner = conflicts[Math.floor(conflicts.length / 2)];
    if (winner === undefined)
      throw new RangeError('the history has no conflict to turn into a second winner');
    const input = winner.input as { expectedRevision: number; value: number };
    rival = ops.find(
      (o) =>
        o.status === 'ok' &&
        (o.input as { expectedRevision?: number }).expectedRevision === input.expectedRevision,
    );
    winner.output = { revision: input.expectedRevision + 1, value: input.value };
    winner.status = 'ok';
  }
  const infoRate = options.infoRate ?? 0;
  for (const o of ops) {
    // The two winners stay definite, or a lost reply could legitimately hide the lost update.
    if (o === winner || o === rival || rand() >= infoRate) continue;
    o.status = 'info';
    o.output = undefined;
    o.ret = undefined;
  }
  ops.sort((a, b) => (a.call < b.call ? -1 : a.call > b.call ? 1 : 0));
  return ops;
}
