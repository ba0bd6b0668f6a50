export {
  type Capabilities,
  FEATURE_NAMES,
  type FeatureName,
} from './capabilities.js';
export {
  type Clock,
  ManualClock,
  monotonicClock,
  systemClock,
} from './clock.js';
export {
  adminContext,
  assertContext,
  createContext,
  type ReadDeleted,
  type RequestContext,
  withReadDeleted,
} from './context.js';
export {
  CursorKey,
  type CursorKeyOption,
  MIN_CURSOR_KEY_BYTES,
} from './cursor-key.js';
export {
  ConfigError,
  ConflictError,
  type ConflictReason,
  DuplicateError,
  ExhaustedError,
  errorClasses,
  FencedError,
  type FieldIssue,
  ForbiddenError,
  IncompatibleVersionError,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  NotSupportedError,
  PolystoreError,
  SchemaBehindError,
  UnavailableError,
  UniqueViolationError,
  WriteBelowPinError,
} from './errors.js';
export {
  type IdGenerator,
  sequentialIds,
  uuidv7Generator,
} from './id-generator.js';
export {
  type AnyObjectClass,
  type DefineObjectOptions,
  defineObject,
  type ObjectClass,
} from './objects/define-object.js';
export {
  fromPrimitive,
  ObjectRegistry,
  type RegisteredVersion,
} from './objects/object-registry.js';
export {
  type ObjectFields,
  type ObjectOf,
  type ObjectPrimitive,
  type SaveOptions,
  type StoreSource,
  VersionedObject,
  type VersionManifest,
  wireValue,
} from './objects/versioned-object.js';
export {
  DEFAULT_STORE_URL,
  type OpenStoresOptions,
  openStores,
} from './open-stores.js';
export {
  PLAIN_DATA_LIMITS,
  type PlainDataLimits,
} from './plain-data.js';
export {
  type Condition,
  DEFAULT_LIMIT,
  type Direction,
  type FilterValue,
  MAX_CURSOR,
  MAX_LIMIT,
  type Operator,
  type OrderBy,
  type Where,
} from './query/query.js';
export { redactUrl } from './redact.js';
export {
  type Adapter,
  AdapterRegistry,
  defaultRegistry,
} from './registry.js';
export type { WritePolicy } from './resource-store.js';
export {
  type AllocateRequest,
  type FixedIp,
  type FixedIpStore,
  fixedIpResource,
} from './resources/fixed-ip.js';
export { computeResources } from './resources/index.js';
export {
  type Instance,
  type InstanceStore,
  instanceResource,
  TASK_STATES,
  VM_STATES,
} from './resources/instance.js';
export {
  IN_PROGRESS_STATUSES,
  MIGRATION_STATUSES,
  type Migration,
  type MigrationStore,
  migrationResource,
} from './resources/migration.js';
export {
  type Network,
  type NetworkStore,
  networkResource,
} from './resources/network.js';
export {
  type HeartbeatRequest,
  type Service,
  type ServiceStore,
  serviceResource,
} from './resources/service.js';
export {
  DEFAULT_STRING_MAX,
  type Field,
  type FieldKind,
  type FieldValue,
  f,
  type IndexKind,
  type InputOf,
  type ObjectValue,
} from './schema/field.js';
export type {
  EnumValuesChange,
  FieldTransform,
  HistoryEntry,
  HistoryValue,
} from './schema/history.js';
export {
  type AnyResource,
  type CreateOf,
  compareVersions,
  defineResource,
  type FieldsOf,
  historyOf,
  type PatchOf,
  parseVersion,
  type RecordMeta,
  type RecordOf,
  type Resource,
  type ResourceRecord,
  type ResourceScope,
  type ResourceSpec,
  SYSTEM_FIELDS,
  type SystemFieldName,
} from './schema/resource.js';
export { isUuid } from './schema/validate.js';
export { isPlainObject } from './schema/values.js';
export type {
  DeleteOptions,
  ExpectedValues,
  ListOptions,
  Page,
  PurgeOptions,
  ResourceStore,
  UpdateOptions,
} from './store.js';
export type {
  Stores,
  StoresOptions,
} from './stores.js';
