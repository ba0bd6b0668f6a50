import type { HistoryOp } from './history.js';
import type { SequentialSpec, SpecOutcome } from './sequential-spec.js';

export type { SequentialSpec, SpecOutcome, StepResult } from './sequential-spec.js';

/** The verdict of {@link checkHistory}. */
export type CheckResult =
  | { readonly result: 'ok'; readonly keys: number; readonly ops: number }
  | {
      readonly result: 'violation';
      readonly key: string;
      /** Every op of the key that is not linearizable. */
      readonly ops: readonly HistoryOp[];
      /** The op whose return no linearization of the ops before it gets past. */
      readonly stuckAt: HistoryOp | undefined;
      readonly explanation: string;
    }
  | { readonly result: 'unknown'; readonly key: string; readonly explanation: string };

/** Options of {@link checkHistory}. */
export interface CheckOptions {
  /** Time limit for the whole history, in ms (default 10 000); running out is `unknown`. */
  readonly timeoutMs?: number;
}

/**
 * What the checker knows of an op: `info` and `pending` ops (and any op without a status
 * the checker knows) are indeterminate: they may have taken effect at any time after their
 * call, or never.
 */
export function outcomeOf(op: HistoryOp): SpecOutcome {
  return op.status === 'ok' || op.status === 'fail'
    ? { status: op.status, output: op.output }
    : { status: 'unknown' };
}

/** An event of the search's doubly linked list: an op's call or its return. */
interface Entry {
  readonly op: number;
  readonly isCall: boolean;
  readonly time: bigint;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** Far beyond any `hrtime`: the return of an op that never returned. */
const NEVER = 1n << 126n;

type KeyVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly stuckAt: number | undefined; readonly depth: number }
  | undefined;

/** Fixed pseudo-random 32-bit words (xorshift32) for the Zobrist hash of linearized sets. */
function zobrist(n: number, seed: number): Int32Array {
  const out = new Int32Array(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

function entry(op: number, isCall: boolean, time: bigint): Entry {
  return { op, isCall, time, match: undefined, prev: undefined, next: undefined };
}

/**
 * Checks one key's ops: Wing & Gong's search with Lowe's just-in-time linearization and
 * memo cache, as Porcupine does. The search walks the calls in time order; at each call it
 * tries to linearize that op now (lifting its call and return out of the list); at a return
 * it backtracks, because that op should have been linearized before. A configuration
 * (linearized set, state) seen before is never explored twice: the set is a bitset keyed by
 * a 64-bit Zobrist hash and compared exactly, so a hash collision costs time, never a wrong
 * verdict. The search only reaches configurations of linearizable prefixes, so it stops at
 * the first prefix that has none. `undefined` means the time ran out.
 */
function checkKey<S>(
  spec: SequentialSpec<S>,
  key: string,
  ops: readonly HistoryOp[],
  deadline: number,
): KeyVerdict {
  const n = ops.length;
  const outcomes = ops.map(outcomeOf);
  const determinate = outcomes.map((o) => o.status !== 'unknown');
  // Indeterminate ops never have to be linearized: "never took effect" is always allowed.
  let remaining = determinate.filter(Boolean).length;
  if (remaining === 0) return { ok: true };

  const events: Entry[] = [];
  ops.forEach((op, i) => {
    const call = entry(i, true, op.call);
    // An indeterminate op's effect may land at any time after its call, so it never returns;
    // a return stamped before its call (a broken clock) is read as returning at the call.
    const end = determinate[i] && op.ret !== undefined ? op.ret : NEVER;
    const ret = entry(i, false, end < op.call ? op.call : end);
    call.match = ret;
    ret.match = call;
    events.push(call, ret);
  });
  // Calls before returns at equal times: ops that touch at one instant are concurrent, the
  // permissive reading of a tie (`a` precedes `b` only when `a.ret < b.call`).
  events.sort((a, b) =>
    a.time < b.time
      ? -1
      : a.time > b.time
        ? 1
        : a.isCall !== b.isCall
          ? a.isCall
            ? -1
            : 1
          : a.op - b.op,
  );
  const head = entry(-1, false, -1n);
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  const lift = (call: Entry) => {
    for (const e of [call, call.match!]) {
      e.prev!.next = e.next;
      if (e.next) e.next.prev = e.prev;
    }
  };
  const unlift = (call: Entry) => {
    for (const e of [call.match!, call]) {
      e.prev!.next = e;
      if (e.next) e.next.prev = e;
    }
  };

  const words = Math.ceil(n / 32);
  const bits = new Uint32Array(words);
  const z1 = zobrist(n, 0x9e3779b9);
  const z2 = zobrist(n, 0x85ebca6b);
  let h1 = 0;
  let h2 = 0;
  const flip = (i: number) => {
    bits[i >>> 5]! ^= 1 << (i & 31);
    h1 ^= z1[i]!;
    h2 ^= z2[i]!;
  };
  const cache = new Map<string, Uint32Array[]>();
  /** Adds the current configuration to the cache; false if it was there already. */
  const remember = (stateHash: string): boolean => {
    const k = `${h1}:${h2}:${stateHash}`;
    const seen = cache.get(k);
    if (seen === undefined) {
      cache.set(k, [bits.slice()]);
      return true;
    }
    for (const s of seen) if (s.every((w, j) => w === bits[j])) return false;
    seen.push(bits.slice());
    return true;
  };

  /** A frame per linearized op; `forced` ones had no alternative worth trying (see below). */
  const stack: { entry: Entry; state: S; stateHash: string; forced: boolean }[] = [];
  let state = spec.init(key);
  let stateHash = spec.hash(state);
  let cursor = head.next;
  let steps = 0;
  let depth = -1;
  let stuckAt: number | undefined;
  for (;;) {
    if ((steps++ & 1023) === 0 && Date.now() >= deadline) return undefined;
    if (cursor?.isCall) {
      const i = cursor.op;
      const input = ops[i]!.input;
      let next: { state: S; hash: string; forced: boolean } | undefined;
      const spent = spec.spent?.(state, input, outcomes[i]!) === true;
      if (spent && !determinate[i]) {
        // It can never take effect any more: settle it as "never happened", which keeps
        // configurations that differ only in such ops from being explored twice.
        next = { state, hash: stateHash, forced: true };
      } else {
        const r = spec.step(state, input, outcomes[i]!);
        const hash = r.ok ? spec.hash(r.state) : '';
        // A spent definite op that is possible now is linearized now and only now: any order
        // that places it later works as well with it here (now is inside its interval, and
        // it changes nothing anyone sees). An indeterminate op that changes nothing now is
        // left for later (or never): linearizing it here only adds configurations.
        if (r.ok && (determinate[i] || hash !== stateHash))
          next = { state: r.state, hash, forced: spent };
      }
      if (next !== undefined) {
        flip(i);
        if (remember(next.hash)) {
          stack.push({ entry: cursor, state, stateHash, forced: next.forced });
          state = next.state;
          stateHash = next.hash;
          lift(cursor);
          if (determinate[i] && --remaining === 0) return { ok: true };
          cursor = head.next;
          continue;
        }
        flip(i);
        if (next.forced) {
          // Explored before and failed: so does this configuration, as it had no better move.
          cursor = undefined;
          continue;
        }
      }
      cursor = cursor.next;
      continue;
    }
    // A return (or a dead end): the op it belongs to had to be linearized before it.
    if (cursor !== undefined && stack.length > depth) {
      depth = stack.length;
      stuckAt = cursor.op;
    }
    const top = stack.pop();
    if (top === undefined) return { ok: false, stuckAt, depth };
    const i = top.entry.op;
    state = top.state;
    stateHash = top.stateHash;
    flip(i);
    unlift(top.entry);
    if (determinate[i]) remaining += 1;
    // After a forced move failed, its configuration has no other way out either.
    cursor = top.forced ? undefined : top.entry.next;
  }
}

/**
 * Checks a concurrent history for linearizability against a sequential spec, key by key
 * (P-compositionality). Definite outcomes (`ok`, `fail`) are checked against the spec; `info`
 * and `pending` ops may or may not have taken effect. A time-out is `unknown`, which callers
 * must count as a failure.
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
    if (!verdict.ok) {
      const stuck = verdict.stuckAt === undefined ? undefined : list[verdict.stuckAt];
      const where = stuck
        ? `no order of the ops before it lets c${stuck.process} ${JSON.stringify(stuck.input)} → ${stuck.status} ${JSON.stringify(stuck.output) ?? ''} return (at most ${verdict.depth} ops linearize before it)`
        : 'no order fits';
      return {
        result: 'violation',
        key,
        ops: list,
        stuckAt: stuck,
        explanation: `${spec.name}: key ${key} is not linearizable: ${where}\n${timeline(list, stuck)}`,
      };
    }
  }
  return { result: 'ok', keys: byKey.size, ops: ops.length };
}

/**
 * The ops of one key as a timeline, one line per op, times in µs from the first call; `mark`
 * is flagged with `◀`. Past `limit` ops only the ones around `mark` (or the first ones) are
 * shown: the whole history belongs in an export, not in a report line.
 */
export function timeline(ops: readonly HistoryOp[], mark?: HistoryOp, limit = 60): string {
  const t0 = firstCall(ops);
  const us = (t: bigint | undefined) => (t === undefined ? '∞' : String((t - t0) / 1000n));
  const sorted = [...ops].sort((a, b) => (a.call < b.call ? -1 : a.call > b.call ? 1 : 0));
  const at = mark === undefined ? 0 : Math.max(0, sorted.indexOf(mark) - Math.floor(limit / 2));
  const from = Math.min(at, Math.max(0, sorted.length - limit));
  const shown = sorted.slice(from, from + limit);
  const lines = shown.map(
    (o) =>
      `  c${o.process} [${us(o.call)} µs .. ${us(o.ret)} µs] ${JSON.stringify(o.input)} → ${o.status}${o.output === undefined ? '' : ` ${JSON.stringify(o.output)}`}${o === mark ? '  ◀' : ''}`,
  );
  if (from > 0) lines.unshift(`  … ${from} earlier ops`);
  const after = sorted.length - from - shown.length;
  if (after > 0) lines.push(`  … ${after} later ops`);
  return lines.join('\n');
}

/** The earliest call time of a history (bigints, so no `Math.min`). */
export function firstCall(ops: readonly HistoryOp[]): bigint {
  let t = ops[0]?.call ?? 0n;
  for (const o of ops) if (o.call < t) t = o.call;
  return t;
}
