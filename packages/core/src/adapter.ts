/**
 * `@polystore/core/adapter`: the adapter SPI and the helpers adapter authors and tools
 * need: the driver and backend interfaces, scopes, the query and value helpers every
 * adapter must apply identically, the address rules, history derivations and snapshots,
 * `createStores` and `openBackend`. A service needs none of it: it imports
 * `@polystore/core`.
 *
 * @example
 * ```ts
 * import type { Adapter } from '@polystore/core';
 * import { createStores, type Backend } from '@polystore/core/adapter';
 * ```
 *
 * @packageDocumentation
 */
export {
  allocatedRecord,
  checkRequestedAddress,
  chooseAddress,
  isUsableAddress,
  lowestFreeAddress,
  unopenedAllocator,
} from './address.js';
export { defineCapabilities } from './capabilities.js';
export { failedCondition, meetsConditions } from './conditions.js';
export { cursorKeyOf } from './cursor-key.js';
export type {
  AddressAllocator,
  AllocateInput,
  Backend,
  DeleteChange,
  EvolutionBackend,
  EvolutionDriver,
  ResourceDriver,
  StoredRecord,
  UpdateChange,
  VersionPage,
  WriteOutcome,
} from './driver.js';
export { supportsEvolution } from './driver.js';
export { UniqueViolationError } from './errors.js';
export { KeyedQueue } from './keyed-queue.js';
export {
  deepCopy,
  deepEqual,
} from './objects/deep-equal.js';
export {
  checkAppliedElements,
  createCheckedStores,
  type OpenedBackend,
  openBackend,
} from './open-backend.js';
export { type OptionalPeer, type OptionalPeerOptions, optionalPeer } from './optional-peer.js';
export {
  type DataShape,
  findPlainDataIssue,
  type PlainDataIssue,
} from './plain-data.js';
export {
  type CursorBinding,
  decodeCursor,
  encodeCursor,
} from './query/cursor.js';
export {
  compareValues,
  isAfter,
  matchesWhere,
  recordComparator,
} from './query/evaluate.js';
export {
  type After,
  assertPlainQuery,
  type ListQuery,
  type NormalOrder,
  normaliseLimit,
  normaliseOrder,
  normaliseWhere,
  type Predicate,
  whereShape,
} from './query/query.js';
export {
  type AdapterOpenOptions,
  parseStoreUrl,
} from './registry.js';
export { sameValue } from './resource-store.js';
export {
  describeElements,
  type ElementNames,
  type ElementsChange,
  elementNames,
  elementsBetween,
  elementsFromNames,
  elementsMinus,
  elementsOf,
  elementsUnion,
  type FieldElement,
  indexKey,
  isEmptyElements,
  knownField,
  NO_ELEMENTS,
  pendingAfter,
  type SchemaElements,
  uniqueKey,
  withPending,
} from './schema/elements.js';
export {
  type BackfillResult,
  backfillResource,
  type EvolvableBackend,
  type ExpandResult,
  expandResource,
  isEvolvable,
  type ResourceSchemaState,
  rewriteAtCodeVersion,
  schemaStateOf,
} from './schema/evolve-store.js';
export {
  isOrderedKind,
  isScalarKind,
} from './schema/field.js';
export {
  backportFields,
  buildHistory,
  type HistorySource,
  historyEntry,
  type IndexElement,
  isOlder,
  type ResourceHistory,
  sameMajor,
  upgradeFields,
  type VersionElements,
} from './schema/history.js';
export {
  fieldsAtWriteVersion,
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
export { bareKeys, compileFunction } from './schema/literal-builders.js';
export {
  assertPlainInput,
  checkValue,
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
export { RESOURCE_STORE_METHODS } from './store.js';
export {
  assembleStores,
  createStores,
  resourcesOf,
  STORE_METHODS,
  STORE_NAMES,
} from './stores.js';
export { keepTimerList, keptTimerLists } from './timer-lists.js';
export { checkWriteFloor } from './write-floor.js';
