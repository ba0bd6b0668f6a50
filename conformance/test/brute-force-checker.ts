import type { HistoryOp, SequentialSpec, SpecOutcome } from '../src/internal.js';

/**
 * The reference checker for tiny histories: tries every order of the ops that respects
 * real time, with every indeterminate op (`info`, `pending`) either included (it took
 * effect somewhere after its call) or left out (it never did). Nothing clever, so it can be
 * read and believed: `a` must come before `b` only when `a` returned strictly before `b`
 * was called, and an indeterminate op never returned.
 */
export function bruteForceLinearizable<S>(
  ops: readonly HistoryOp[],
  spec: SequentialSpec<S>,
): boolean {
  const definite = (o: HistoryOp) => o.status === 'ok' || o.status === 'fail';
  const outcome = (o: HistoryOp): SpecOutcome =>
    definite(o) ? { status: o.status as 'ok' | 'fail', output: o.output } : { status: 'unknown' };
  const returned = (o: HistoryOp) => (definite(o) ? o.ret : undefined);
  const indeterminate = ops.map((o, i) => (definite(o) ? -1 : i)).filter((i) => i >= 0);
  for (let mask = 0; mask < 1 << indeterminate.length; mask++) {
    const included = ops
      .map((_, i) => i)
      .filter((i) => definite(ops[i]!) || (mask & (1 << indeterminate.indexOf(i))) !== 0);
    if (anyOrder(included, spec.init('k'))) return true;
  }
  return false;

  /** Is there an order of `left`, starting from `state`, that respects real time and the spec? */
  function anyOrder(left: readonly number[], state: S): boolean {
    if (left.length === 0) return true;
    for (const i of left) {
      const op = ops[i]!;
      // `i` may come next only if no other op still to place returned before `i` was called.
      const mustWait = left.some((j) => {
        const r = returned(ops[j]!);
        return j !== i && r !== undefined && r < op.call;
      });
      if (mustWait) continue;
      const r = spec.step(state, op.input, outcome(op));
      if (!r.ok) continue;
      if (
        anyOrder(
          left.filter((j) => j !== i),
          r.state,
        )
      )
        return true;
    }
    return false;
  }
}
