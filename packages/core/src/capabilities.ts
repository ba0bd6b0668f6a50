/**
 * An adapter's capability manifest: non-functional limits and optional features. It is
 * frozen at open and must not change. Capabilities may change performance, never the
 * observable API; a feature declared off is refused with `NotSupportedError`.
 */
export interface Capabilities {
  /** Largest serialised record, in bytes, the backend accepts (larger is `InvalidInputError`). */
  readonly maxRecordBytes: number;
  /** How reads relate to writes from other clients. */
  readonly reads: 'linearizable' | 'sequential';
  /** Whether `list`/`count`/`get` run on the server in one round trip. */
  readonly serverSideQueries: boolean;
  /**
   * Which writers a conditional write (an update by revision or expected values, a
   * delete, a release, a heartbeat) is atomic against. `processes`, the default when
   * absent: every client of the store, in any process. `process`: only the clients of one
   * process; writers in other processes may lose each other's updates.
   */
  readonly atomicWrites?: 'processes' | 'process';
  /**
   * How a process left behind by a live upgrade is kept from writing. `atomic`: the
   * backend itself refuses a write below the fleet's pin (`setWriteFloor`) in the same
   * atomic step as the write, besides each process refusing its own writes once its lease
   * lapsed. `process`, the default when absent: only the latter (self-fencing by lease);
   * a process paused between its lease check and its write can still land one write at
   * an older version, which migrate's final count and contract's gate then see.
   */
  readonly fencing?: 'atomic' | 'process';
  /** Optional features, by name; `false` means refused with `NotSupportedError`. */
  readonly features: Readonly<Record<string, boolean>>;
}

/**
 * The optional features an adapter may declare off in `features`, spelled once for
 * adapters and the conformance suite: `in` filters, range filters, descending order,
 * expected-value updates, and `purge`.
 */
export const FEATURE_NAMES = [
  'query.in',
  'query.range',
  'query.orderDesc',
  'update.expected',
  'purge',
] as const;

/** The name of an optional feature. */
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** Builds a frozen capability manifest. */
export function defineCapabilities(c: Capabilities): Capabilities {
  return Object.freeze({ ...c, features: Object.freeze({ ...c.features }) });
}
