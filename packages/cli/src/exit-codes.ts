/**
 * The exit codes of `polystore`, stable for scripts.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success; `migrate status`: nothing to do, every resource is where the code wants it |
 * | 1 | the command ran and found a failure (a doctor check or a conformance group failed), or an unexpected error |
 * | 2 | usage or configuration error: bad flag, missing or malformed store URL, unknown scheme, adapter not installed |
 * | 3 | the store is unreachable or timed out (`UnavailableError`) |
 * | 4 | schema drift: `schema check` found the code's schemas differ from the committed snapshots (a change without a version bump, a released version changed, or a snapshot missing); `schema status`, or any command opening the store, found it lacks elements the code needs (`SchemaBehindError`: run `schema expand`) |
 * | 10 | `migrate status`: `expand` is next (the store lacks elements the code needs) |
 * | 11 | `migrate status`: `migrate` is next (the pin to move, or records older than the code to convert) |
 * | 12 | `migrate status`: `contract` is next and may run now |
 * | 13 | `migrate status`: the next phase is blocked (a live process runs an older release, another runner holds the lease, ...); `migrate expand\|run\|switch\|contract`: the phase was refused (`UpgradeBlockedError`), its reasons on stderr, nothing changed by the refused step |
 * | 14 | `migrate status`: `switch` is next (backfilled fields to make public) |
 * | 130 | `migrate run` stopped by SIGINT after the current page; the checkpoint is kept, run it again to resume |
 * | 143 | `migrate run` stopped by SIGTERM after the current page; the checkpoint is kept, run it again to resume |
 *
 * 10 to 14 are `@polystore/migrate`'s `MigrateExitCode`, so a script may compare with either.
 */
export const ExitCode = Object.freeze({
  /** Success; for `migrate status`, nothing to do. */
  ok: 0,
  /** A check failed, or an unexpected error. */
  failure: 1,
  /** Bad usage or configuration. */
  usage: 2,
  /** The store is unreachable. */
  unavailable: 3,
  /** Schema drift: the code differs from the committed snapshots, or the store lacks elements the code needs. */
  schemaDrift: 4,
  /** `migrate status`: `expand` is next. */
  expandNeeded: 10,
  /** `migrate status`: `migrate` is next. */
  migrateNeeded: 11,
  /** `migrate status`: `contract` is next and may run. */
  contractReady: 12,
  /** `migrate status`: the next phase is blocked; a `migrate` phase command: the phase was refused. */
  upgradeBlocked: 13,
  /** `migrate status`: `switch` is next. */
  switchNeeded: 14,
  /** `migrate run` stopped by SIGINT (128 + 2), checkpoint kept. */
  interrupted: 130,
  /** `migrate run` stopped by SIGTERM (128 + 15), checkpoint kept. */
  terminated: 143,
} as const);

/** One of the {@link ExitCode} values. */
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];
