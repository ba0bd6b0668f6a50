export { type IndexSpec, MongoLayout, type StoredDocument } from './layout.js';
export { mongoAdapter, openMongoStores } from './mongo-adapter.js';
export { MongoAddressAllocator } from './mongo-address-allocator.js';
export { MONGO_CAPABILITIES, MONGO_UNCLAIMED_CAPABILITIES, MongoBackend } from './mongo-backend.js';
export { MONGO_DEFAULTS, type MongoOptions } from './mongo-options.js';
export { MongoResourceDriver } from './mongo-resource-driver.js';
export {
  type ClaimDocument,
  type HeldClaim,
  RecordClaims,
  type RecordClaimsOptions,
} from './record-claims.js';
