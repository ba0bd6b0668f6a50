export { CliError } from './cli-error.js';
export { type ConformanceCommandOptions, conformance } from './commands/conformance.js';
export { checkResources, doctor, type ResourceCheck } from './commands/doctor.js';
export { type SeedCommandOptions, seed } from './commands/seed.js';
export {
  checkConformanceUrl,
  faultsFor,
  namespacedUrl,
} from './conformance-target.js';
export { describeBackend } from './describe-backend.js';
export { ExitCode, type ExitCodeValue } from './exit-codes.js';
export { type AdapterModule, loadAdapters, type NamespaceUrlFn } from './load-adapters.js';
export { Printer, type Streams } from './printer.js';
export { redactText } from './redact-text.js';
export { type RunCliOptions, runCli } from './run-cli.js';
export {
  DEMO_HOSTS,
  MAX_SEED_INSTANCES,
  type SeedOptions,
  type SeedResult,
  seedCidr,
  seedDemoData,
} from './seed-demo-data.js';
export { openTarget, requireStoreUrl, type StoreTarget } from './store-target.js';
