/**
 * `@polystore/conformance/internal`: the suite's building blocks (the history checker and
 * its specs, the model-based runner, shape checks, generators, coverage), for the CLI, the
 * bench and the suite's own tests. No stability promise: adapter authors use the main
 * entry (`describeConformance`, `runConformance` and their option types).
 */
export {
  arbitraryFor,
  createValuesArb,
  type FieldArbitraryOptions,
  patchArb,
} from './arbitrary-for-field.js';
export { type ResolvedBudget, resolveBudget } from './budget.js';
export {
  type CheckOptions,
  type CheckResult,
  checkHistory,
  outcomeOf,
  type SequentialSpec,
  type SpecOutcome,
  type StepResult,
  timeline,
} from './check-history.js';
export { checkShape, type ShapeReport, STORE_METHODS } from './check-shape.js';
export { ConformanceFailure } from './conformance-failure.js';
export { faultsFor, namespacedUrl } from './conformance-options-for.js';
export { CONTEXTS, type ContextName } from './contexts.js';
export { Coverage, coverageLine } from './coverage.js';
export {
  History,
  type HistoryOp,
  OpTimeout,
  type RunOptions,
  type RunOutcome,
} from './history.js';
export {
  type ExportedHistory,
  type ExportedOp,
  exportHistory,
  HISTORY_FORMAT,
  importHistory,
} from './history-export.js';
export { HOSTILE_KEYS, HOSTILE_STRINGS, INVALID_KEYS, INVALID_STRINGS } from './hostile-strings.js';
export { type ModelRunOptions, runModelBased } from './model-run.js';
export type { Op } from './op.js';
export type { ErrorSummary, Outcome } from './outcome.js';
export { decodeReplayToken, encodeReplayToken, type ReplayToken } from './replay-token.js';
export { Session } from './session.js';
export {
  addressPool,
  anyHistory,
  casRegister,
  casRegisterFrom,
  type RegisterInput,
  type RegisterOutput,
  type RegisterState,
  specFromExport,
  uniqueKey,
} from './specs.js';
export {
  type SyntheticHistoryOptions,
  syntheticCounterHistory,
} from './synthetic-history.js';
