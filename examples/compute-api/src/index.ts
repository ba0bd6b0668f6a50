export { computeObjects, Instance, type InstanceObject } from './compute-objects.js';
export {
  type BootRequest,
  type BootResult,
  ComputeService,
  type DeleteResult,
  type FixedIpFilter,
  type Flavor,
  type InstanceFilter,
  type NetworkRequest,
  type PageRequest,
  type TaskState,
  type VmState,
} from './compute-service.js';
export { type AppOptions, createApp, PROJECT_HEADER, USER_HEADER } from './create-app.js';
export {
  COMPUTE_ADAPTERS,
  FALLBACK_STORE_URL,
  type OpenComputeStoresOptions,
  type OpenedComputeStores,
  openComputeStores,
} from './open-compute-stores.js';
export { type Problem, type ProblemBody, RETRY_AFTER_SECONDS, toProblem } from './problem.js';
export { type RunningServer, type StartServerOptions, startServer } from './start-server.js';
