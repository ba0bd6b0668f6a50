/** One operation of a concurrent history, Jepsen style. */
export interface HistoryOp {
  /** The client (process) that ran it. */
  readonly process: number;
  /** The key it touched: histories are checked per key. */
  readonly key: string;
  /** What was asked. */
  readonly input: unknown;
  /** What came back; `undefined` while unknown. */
  output: unknown;
  /** When it was invoked (`process.hrtime.bigint()`). */
  readonly call: bigint;
  /** When it returned; `undefined` for an indeterminate op. */
  ret: bigint | undefined;
  /** `ok` and `fail` are definite outcomes; `info` may or may not have taken effect. */
  status: 'ok' | 'fail' | 'info' | 'pending';
}

/**
 * Records a concurrent history: invoke, then ok / fail / info, with monotonic timestamps.
 *
 * @example
 * ```ts
 * const h = new History();
 * await h.run(1, 'vlan:7', { op: 'create' }, () => stores.networks.create(ctx, v), classify);
 * ```
 */
export class History {
  readonly ops: HistoryOp[] = [];

  /** Runs `fn` as one op of `process` on `key`; `classify` turns its outcome into status and output. */
  async run<T>(
    process: number,
    key: string,
    input: unknown,
    fn: () => Promise<T>,
    classify: (outcome: { ok: true; value: T } | { ok: false; error: unknown }) => {
      status: 'ok' | 'fail' | 'info';
      output: unknown;
    },
  ): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
    const op: HistoryOp = {
      process,
      key,
      input,
      output: undefined,
      call: process_hrtime(),
      ret: undefined,
      status: 'pending',
    };
    this.ops.push(op);
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, value: await fn() };
    } catch (error) {
      outcome = { ok: false, error };
    }
    const c = classify(outcome);
    op.status = c.status;
    op.output = c.output;
    op.ret = c.status === 'info' ? undefined : process_hrtime();
    return outcome;
  }
}

function process_hrtime(): bigint {
  return process.hrtime.bigint();
}
