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
export { ConformanceFailure, type FailureDetails } from './conformance-failure.js';
export type {
  Budget,
  ConformanceOptions,
  FaultOptions,
  OpenDeps,
  OpenStoresFn,
  ServerControl,
} from './conformance-options.js';
export { CONTEXTS, type ContextName } from './contexts.js';
export { Coverage, type CoverageSummary, coverageLine } from './coverage.js';
export { describeConformance } from './describe-conformance.js';
export { FEATURES } from './features.js';
export { formatReport } from './format-report.js';
export { GROUP_NAMES, type GroupName } from './group.js';
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
export { listAllPages } from './list-all-pages.js';
export { type ModelRunOptions, runModelBased } from './model-run.js';
export type { Op } from './op.js';
export type { ErrorSummary, Outcome } from './outcome.js';
export { decodeReplayToken, encodeReplayToken, type ReplayToken } from './replay-token.js';
export type { ConformanceReport, GroupReport } from './report.js';
export { runConformance } from './run-conformance.js';
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
