export {
  allocatedRecord,
  checkRequestedAddress,
  isUsableAddress,
  lowestFreeAddress,
} from './address.js';
export {
  type Capabilities,
  defineCapabilities,
  FEATURE_NAMES,
  type FeatureName,
} from './capabilities.js';
export { type Clock, ManualClock, monotonicClock, systemClock } from './clock.js';
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
  cursorKeyOf,
  MIN_CURSOR_KEY_BYTES,
} from './cursor-key.js';
export type {
  AddressAllocator,
  AllocateInput,
  Backend,
  DeleteChange,
  ResourceDriver,
  StoredRecord,
  UpdateChange,
  WriteOutcome,
} from './driver.js';
export {
  ConfigError,
  ConflictError,
  type ConflictReason,
  DuplicateError,
  ExhaustedError,
  errorClasses,
  type FieldIssue,
  ForbiddenError,
  IncompatibleVersionError,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  NotSupportedError,
  PolystoreError,
  UnavailableError,
} from './errors.js';
export { type IdGenerator, sequentialIds, uuidv7Generator } from './id-generator.js';
export { deepCopy, deepEqual } from './objects/deep-equal.js';
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
  type OpenedBackend,
  openBackend,
} from './open-backend.js';
export { DEFAULT_STORE_URL, type OpenStoresOptions, openStores } from './open-stores.js';
export {
  type DataShape,
  findPlainDataIssue,
  PLAIN_DATA_LIMITS,
  type PlainDataIssue,
  type PlainDataLimits,
} from './plain-data.js';
export { type CursorBinding, decodeCursor, encodeCursor } from './query/cursor.js';
export { compareValues, isAfter, matchesWhere, recordComparator } from './query/evaluate.js';
export {
  type After,
  assertPlainQuery,
  type Condition,
  DEFAULT_LIMIT,
  type Direction,
  type FilterValue,
  type ListQuery,
  MAX_CURSOR,
  MAX_LIMIT,
  type NormalOrder,
  normaliseLimit,
  normaliseOrder,
  normaliseWhere,
  type Operator,
  type OrderBy,
  type Predicate,
  type Where,
  whereShape,
} from './query/query.js';
export { redactUrl } from './redact.js';
export {
  type Adapter,
  type AdapterOpenOptions,
  AdapterRegistry,
  defaultRegistry,
  parseStoreUrl,
} from './registry.js';
export { CoreResourceStore, type StoreDeps, StoreKernel, sameValue } from './resource-store.js';
export {
  type AllocateRequest,
  type FixedIp,
  type FixedIpStore,
  fixedIpResource,
} from './resources/fixed-ip.js';
export { BUILTIN_RESOURCES } from './resources/index.js';
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
export { type Network, type NetworkStore, networkResource } from './resources/network.js';
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
  isOrderedKind,
  isScalarKind,
  type ObjectValue,
} from './schema/field.js';
export {
  backportFields,
  buildHistory,
  type EnumValuesChange,
  type FieldTransform,
  type HistoryEntry,
  type HistorySource,
  type HistoryValue,
  historyEntry,
  type IndexElement,
  isOlder,
  type ResourceHistory,
  sameMajor,
  upgradeFields,
  type VersionElements,
} from './schema/history.js';
export {
  readAtCodeVersion,
  recordForVersion,
  type VersionedWrite,
  versionedWrite,
} from './schema/history-records.js';
export {
  canonicalJson,
  compareSnapshots,
  type FieldSnapshot,
  type ObjectSnapshot,
  type ObjectSnapshotSource,
  type ResourceSnapshot,
  type SnapshotProblem,
  type SnapshotValue,
  snapshotResource,
  type VersionSnapshot,
  wireKeys,
} from './schema/history-snapshot.js';
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
export {
  assertPlainInput,
  checkValue,
  isUuid,
  plainDataIssue,
  shapeOf,
  validateCreate,
  validateExpected,
  validateId,
  validatePatch,
  zodFor,
} from './schema/validate.js';
export {
  canonicalFieldValue,
  codePointLength,
  compareCodePoints,
  deepFreeze,
  isPlainObject,
  normaliseCidr,
  normaliseDatetime,
  normaliseIp,
  sortKeysByCodePoint,
} from './schema/values.js';
export {
  inReadScope,
  inWriteScope,
  type ReadScope,
  readScope,
  type WriteScope,
  writeScope,
} from './scope.js';
export {
  type DeleteOptions,
  type ExpectedValues,
  type ListOptions,
  type Page,
  type PurgeOptions,
  RESOURCE_STORE_METHODS,
  type ResourceStore,
  type UpdateOptions,
} from './store.js';
export {
  createStores,
  resourcesOf,
  STORE_METHODS,
  STORE_NAMES,
  type Stores,
  type StoresOptions,
} from './stores.js';
