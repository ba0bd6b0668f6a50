export type { FailureDetails } from './conformance-failure.js';
export type {
  AdapterConformanceOptions,
  Budget,
  ConformanceOptions,
  EvolutionOptions,
  FaultOptions,
  OpenDeps,
  OpenEvolutionFn,
  OpenedEvolution,
  OpenStoresFn,
  OpenUpgradeFn,
  ServerControl,
  UpgradeOptions,
} from './conformance-options.js';
export { conformanceOptionsFor } from './conformance-options-for.js';
export type { CoverageSummary } from './coverage.js';
export { describeConformance } from './describe-conformance.js';
export { FEATURES } from './features.js';
export { formatReport } from './format-report.js';
export { GROUP_NAMES, type GroupName } from './group.js';
export { listAllPages } from './list-all-pages.js';
export type { ConformanceReport, GroupReport } from './report.js';
export { runConformance } from './run-conformance.js';
