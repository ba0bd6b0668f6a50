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
  /**
   * `ok` and `fail` are definite outcomes; `info` may or may not have taken effect; `pending`
   * has not returned (yet): the checker treats it as `info`.
   */
  status: 'ok' | 'fail' | 'info' | 'pending';
}

/** How an op ended, as {@link History.run} hands it to `classify`. */
export type RunOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** The client gave up waiting: the op is indeterminate (its call may still land). */
export class OpTimeout extends Error {
  constructor(
    /** The timeout that ran out. */
    readonly ms: number,
    /** The call's real outcome, once it settles (the history keeps the op `info`). */
    readonly late: Promise<RunOutcome<unknown>>,
  ) {
    super(`no reply within ${ms} ms`);
    this.name = 'OpTimeout';
  }
}

/** An outcome, or for a timed-out op the real outcome it settled to later. */
export async function eventually<T>(outcome: RunOutcome<T>): Promise<RunOutcome<T>> {
  return !outcome.ok && outcome.error instanceof OpTimeout
    ? ((await outcome.error.late) as RunOutcome<T>)
    : outcome;
}

/** Options of one {@link History.run}. */
export interface RunOptions {
  /**
   * Waits this long before sending the call, after stamping the invoke: a latency window
   * on the way out (the op is already in flight in the history).
   */
  readonly sendDelayMs?: number;
  /**
   * Gives up after this many ms from the invoke: the op is recorded `info` (a client-side
   * command timeout) and the call keeps running; {@link History.settled} waits for it.
   */
  readonly timeoutMs?: number;
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
  readonly #inFlight = new Set<Promise<unknown>>();

  /**
   * Runs `fn` as one op of `process` on `key`; `classify` turns its outcome into status and
   * output. With `timeoutMs`, a call that outlives it resolves as `{ ok: false, error:
   * OpTimeout }` and is recorded `info` whatever `classify` says.
   */
  async run<T>(
    process: number,
    key: string,
    input: unknown,
    fn: () => Promise<T>,
    classify: (outcome: RunOutcome<T>) => {
      status: 'ok' | 'fail' | 'info';
      output: unknown;
    },
    options: RunOptions = {},
  ): Promise<RunOutcome<T>> {
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
    const call = (async (): Promise<RunOutcome<T>> => {
      if (options.sendDelayMs !== undefined && options.sendDelayMs > 0)
        await sleep(options.sendDelayMs);
      try {
        return { ok: true, value: await fn() };
      } catch (error) {
        return { ok: false, error };
      }
    })();
    this.#inFlight.add(call);
    void call.finally(() => this.#inFlight.delete(call));
    let outcome: RunOutcome<T>;
    if (options.timeoutMs === undefined) outcome = await call;
    else {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<RunOutcome<T>>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, error: new OpTimeout(options.timeoutMs!, call) }),
          options.timeoutMs,
        );
      });
      outcome = await Promise.race([call, timeout]);
      clearTimeout(timer);
    }
    if (!outcome.ok && outcome.error instanceof OpTimeout) {
      op.status = 'info';
      return outcome;
    }
    const c = classify(outcome);
    op.status = c.status;
    op.output = c.status === 'info' ? undefined : c.output;
    op.ret = c.status === 'info' ? undefined : process_hrtime();
    return outcome;
  }

  /** Waits until every call of this history has settled (timed-out ones included). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function process_hrtime(): bigint {
  return process.hrtime.bigint();
}
