export {
  computeObjects,
  Instance,
  type InstanceObject,
  instanceMethods,
} from './compute-objects.js';
export {
  COMPUTE_RELEASE_NAMES,
  COMPUTE_RELEASES,
  type ComputeInstance,
  type ComputeRelease,
  type ComputeReleaseName,
  computeRelease,
  type InstanceClass,
  type InstanceHandle,
  type InstanceValues,
} from './compute-release.js';
export {
  type BootRequest,
  type BootResult,
  ComputeService,
  type ComputeServiceOptions,
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
  computeObjectsV11,
  DEFAULT_AVAILABILITY_ZONE,
  InstanceV11,
  type InstanceV11Object,
  type InstanceV11Record,
  instanceResourceV11,
} from './instance-v11.js';
export {
  COMPUTE_ADAPTERS,
  COMPUTE_SERVICE_NAME,
  type ComputeFleetOptions,
  FALLBACK_STORE_URL,
  type OpenComputeStoresOptions,
  type OpenedComputeStores,
  openComputeStores,
} from './open-compute-stores.js';
export { type Problem, type ProblemBody, RETRY_AFTER_SECONDS, toProblem } from './problem.js';
export { type RunningServer, type StartServerOptions, startServer } from './start-server.js';
