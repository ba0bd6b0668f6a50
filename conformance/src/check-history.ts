import type { HistoryOp } from './history.js';

/** A sequential specification: the model a history must be linearizable against. */
export interface SequentialSpec<S> {
  /** Name for reports and exports. */
  readonly name: string;
  /** The state of a key before any op. */
  init(key: string): S;
  /**
   * Applies an op to a state. `output` is `undefined` for an indeterminate op, which must
   * then be applied as if it took effect (not taking effect is covered by ordering it last).
   */
  step(state: S, input: unknown, output: unknown): { readonly ok: boolean; readonly state: S };
  /** A canonical string of a state, for memoization. */
  hash(state: S): string;
}

/** The verdict of {@link checkHistory}. */
export type CheckResult =
  | { readonly result: 'ok'; readonly keys: number; readonly ops: number }
  | {
      readonly result: 'violation';
      readonly key: string;
      readonly ops: readonly HistoryOp[];
      readonly explanation: string;
    }
  | { readonly result: 'unknown'; readonly key: string; readonly explanation: string };

/** Options of {@link checkHistory}. */
export interface CheckOptions {
  /** Time limit for the whole history, in ms (default 10 000); running out is `unknown`. */
  readonly timeoutMs?: number;
}

interface Entry {
  readonly op: number;
  readonly isCall: boolean;
  readonly time: bigint;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

const INFINITY = 1n << 126n;

/**
 * Checks one key's ops for linearizability: Wing & Gong's search with Lowe's memoization
 * of (linearized set, state), as Porcupine does. `undefined` means the time ran out.
 */
function checkKey<S>(
  spec: SequentialSpec<S>,
  key: string,
  ops: readonly HistoryOp[],
  deadline: number,
): boolean | undefined {
  const events: Entry[] = [];
  ops.forEach((op, i) => {
    const call: Entry = {
      op: i,
      isCall: true,
      time: op.call,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const ret: Entry = {
      op: i,
      isCall: false,
      time: op.ret ?? INFINITY,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    call.match = ret;
    events.push(call, ret);
  });
  // Calls before returns at equal times: the permissive reading of a tie.
  events.sort((a, b) =>
    a.time < b.time ? -1 : a.time > b.time ? 1 : a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1,
  );
  const head: Entry = {
    op: -1,
    isCall: false,
    time: -1n,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  const lift = (e: Entry) => {
    e.prev!.next = e.next;
    if (e.next) e.next.prev = e.prev;
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Entry) => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    if (e.next) e.next.prev = e;
  };
  const linearized = new Uint8Array(ops.length);
  const cache = new Set<string>();
  const stack: { entry: Entry; state: S }[] = [];
  let state = spec.init(key);
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if (steps++ % 1024 === 0 && Date.now() >= deadline) return undefined;
    if (entry === undefined) return false;
    if (entry.isCall) {
      const op = ops[entry.op]!;
      const r = spec.step(state, op.input, op.status === 'info' ? undefined : op.output);
      let advanced = false;
      if (r.ok) {
        linearized[entry.op] = 1;
        const memo = `${linearized.join('')}|${spec.hash(r.state)}`;
        if (!cache.has(memo)) {
          cache.add(memo);
          stack.push({ entry, state });
          state = r.state;
          lift(entry);
          entry = head.next;
          advanced = true;
        } else {
          linearized[entry.op] = 0;
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      const top = stack.pop();
      if (!top) return false;
      state = top.state;
      linearized[top.entry.op] = 0;
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return true;
}

/**
 * Checks a concurrent history for linearizability against a sequential spec, key by key
 * (P-compositionality). A time-out is `unknown`, which callers must count as a failure.
 *
 * @example
 * ```ts
 * const verdict = checkHistory(history.ops, casRegister, { timeoutMs: 5000 });
 * if (verdict.result !== 'ok') throw new Error(verdict.explanation);
 * ```
 */
export function checkHistory<S>(
  ops: readonly HistoryOp[],
  spec: SequentialSpec<S>,
  options: CheckOptions = {},
): CheckResult {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of ops) {
    if (op.status === 'pending') continue;
    const list = byKey.get(op.key) ?? [];
    byKey.set(op.key, list);
    list.push(op);
  }
  for (const [key, list] of byKey) {
    const verdict = checkKey(spec, key, list, deadline);
    if (verdict === undefined) {
      return {
        result: 'unknown',
        key,
        explanation: `${spec.name}: the checker ran out of time on key ${key} (${list.length} ops)`,
      };
    }
    if (!verdict) {
      return {
        result: 'violation',
        key,
        ops: list,
        explanation: `${spec.name}: key ${key} is not linearizable\n${timeline(list)}`,
      };
    }
  }
  return { result: 'ok', keys: byKey.size, ops: ops.length };
}

/** The ops of one key as a timeline, one line per op, times in µs from the first call. */
export function timeline(ops: readonly HistoryOp[]): string {
  const t0 = firstCall(ops);
  const us = (t: bigint | undefined) => (t === undefined ? '∞' : String((t - t0) / 1000n));
  return [...ops]
    .sort((a, b) => (a.call < b.call ? -1 : 1))
    .map(
      (o) =>
        `  c${o.process} [${us(o.call)} µs .. ${us(o.ret)} µs] ${JSON.stringify(o.input)} → ${o.status} ${JSON.stringify(o.output) ?? ''}`,
    )
    .join('\n');
}

/**
 * Exports a history as Porcupine-compatible JSON: one partition per key, each op with
 * `clientId`, `input`, `call`, `output`, `return` (ns from the first call; `null` return
 * for an indeterminate op, which Porcupine treats as returning at the end).
 */
export function exportHistory(
  ops: readonly HistoryOp[],
  format: 'porcupine' = 'porcupine',
  model = 'unknown',
): string {
  if (format !== 'porcupine') throw new TypeError(`unknown history format ${String(format)}`);
  const t0 = firstCall(ops);
  const partitions = new Map<string, unknown[]>();
  for (const o of ops) {
    if (o.status === 'pending') continue;
    const p = partitions.get(o.key) ?? [];
    partitions.set(o.key, p);
    p.push({
      clientId: o.process,
      input: o.input,
      call: Number(o.call - t0),
      output: o.status === 'info' ? null : o.output,
      return: o.ret === undefined ? null : Number(o.ret - t0),
    });
  }
  return JSON.stringify(
    { model, partitions: [...partitions].map(([key, operations]) => ({ key, operations })) },
    null,
    2,
  );
}

/** The earliest call time of a history (bigints, so no `Math.min`). */
function firstCall(ops: readonly HistoryOp[]): bigint {
  let t = ops[0]?.call ?? 0n;
  for (const o of ops) if (o.call < t) t = o.call;
  return t;
}
