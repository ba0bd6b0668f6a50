/**
 * `@polystore/mongo`: the MongoDB (and FerretDB) adapter of polystore.
 *
 * @example
 * ```ts
 * import { openMongoStores } from '@polystore/mongo';
 * const stores = await openMongoStores('mongodb://127.0.0.1:27017/app', { adapter: { prefix: 'ps_' } });
 * ```
 *
 * @packageDocumentation
 */
export {
  mongoAdapter,
  type OpenMongoStoresOptions,
  openMongoStores,
} from './mongo-adapter.js';
export type { MongoOptions } from './mongo-options.js';
