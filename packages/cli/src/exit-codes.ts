/**
 * The exit codes of `polystore`, stable for scripts.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | the command ran and found a failure (a doctor check or a conformance group failed), or an unexpected error |
 * | 2 | usage or configuration error: bad flag, missing or malformed store URL, unknown scheme, adapter not installed |
 * | 3 | the store is unreachable or timed out (`UnavailableError`) |
 * | 4 | schema drift: `schema check` found the code's schemas differ from the committed snapshots (a change without a version bump, a released version changed, or a snapshot missing); `schema status`, or any command opening the store, found it lacks elements the code needs (`SchemaBehindError`: run `schema expand`) |
 */
export const ExitCode = Object.freeze({
  /** Success. */
  ok: 0,
  /** A check failed, or an unexpected error. */
  failure: 1,
  /** Bad usage or configuration. */
  usage: 2,
  /** The store is unreachable. */
  unavailable: 3,
  /** Schema drift: the code differs from the committed snapshots, or the store lacks elements the code needs. */
  schemaDrift: 4,
} as const);

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
