import { firstCall } from './check-history.js';
import type { HistoryOp } from './history.js';
import type { SequentialSpec } from './sequential-spec.js';

/** The format tag of {@link exportHistory}'s JSON. */
export const HISTORY_FORMAT = 'polystore-history/1';

/** One op as exported: Porcupine's `Operation` fields plus what Porcupine leaves implicit. */
export interface ExportedOp {
  /** Porcupine `ClientId`: the process that ran the op. */
  readonly clientId: number;
  /** Porcupine `Input`. */
  readonly input: unknown;
  /** Porcupine `Call`: ns since `t0`. */
  readonly call: number;
  /** Porcupine `Return`: ns since `t0`; `null` when the op never returned (`info`, `pending`). */
  readonly return: number | null;
  /** `ok` | `fail` (definite) | `info` | `pending` (indeterminate). */
  readonly status: HistoryOp['status'];
  /** Porcupine `Output`; left out (not `null`) when nothing came back, so `null` is a real `null`. */
  readonly output?: unknown;
}

/** The whole export: the model to check against and one partition per key. */
export interface ExportedHistory {
  readonly format: typeof HISTORY_FORMAT;
  /** The spec's name (`cas-register`, `unique-key`, `address-pool`, `none`) and parameters. */
  readonly model: { readonly name: string; readonly params: Readonly<Record<string, unknown>> };
  /** The first call's `process.hrtime.bigint()`, as a decimal string: times are relative to it. */
  readonly t0: string;
  readonly partitions: readonly {
    readonly key: string;
    readonly operations: readonly ExportedOp[];
  }[];
}

/**
 * Exports a history with nothing lost: every op (pending ones too) with its status, the
 * output only when one came back, times in ns from `t0`, and the spec's name and parameters
 * so that an outside checker rebuilds the same model. The field-by-field description and a
 * Go reader for Porcupine are in `conformance/tools/porcupine-check/`.
 *
 * @example
 * ```ts
 * writeFileSync('race.history.json', exportHistory(history.ops, casRegister));
 * ```
 */
export function exportHistory(ops: readonly HistoryOp[], spec: SequentialSpec<unknown>): string {
  const t0 = firstCall(ops);
  const partitions = new Map<string, ExportedOp[]>();
  for (const o of ops) {
    const p = partitions.get(o.key) ?? [];
    partitions.set(o.key, p);
    p.push({
      clientId: o.process,
      input: o.input,
      call: Number(o.call - t0),
      return: o.ret === undefined ? null : Number(o.ret - t0),
      status: o.status,
      ...(o.output === undefined ? {} : { output: o.output }),
    });
  }
  const out: ExportedHistory = {
    format: HISTORY_FORMAT,
    model: { name: spec.name, params: spec.params },
    t0: String(t0),
    partitions: [...partitions].map(([key, operations]) => ({ key, operations })),
  };
  return JSON.stringify(out, null, 2);
}

/**
 * Reads an {@link exportHistory} JSON back: the ops (key, times and status as recorded) and
 * the model's name and parameters (`specFromExport` rebuilds the spec). Throws a
 * `TypeError` on another format.
 */
export function importHistory(json: string): {
  readonly ops: HistoryOp[];
  readonly model: ExportedHistory['model'];
} {
  const data = JSON.parse(json) as ExportedHistory;
  if (data?.format !== HISTORY_FORMAT)
    throw new TypeError(`not a ${HISTORY_FORMAT} export (format ${String(data?.format)})`);
  const t0 = BigInt(data.t0);
  const ops: HistoryOp[] = [];
  for (const { key, operations } of data.partitions)
    for (const o of operations)
      ops.push({
        process: o.clientId,
        key,
        input: o.input,
        output: 'output' in o ? o.output : undefined,
        call: t0 + BigInt(o.call),
        ret: o.return === null ? undefined : t0 + BigInt(o.return),
        status: o.status,
      });
  return { ops, model: data.model };
}
