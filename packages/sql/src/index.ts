export { type OpenSqlStoresOptions, openSqlStores, sqlAdapter } from './sql-adapter.js';
export type { SqlOptions } from './sql-options.js';
