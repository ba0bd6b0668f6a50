export {
  type ColumnKind,
  type ColumnLayout,
  type IndexLayout,
  type TableLayout,
  tableLayout,
} from './layout.js';
export {
  type OpenSqlStoresOptions,
  openSqlBackend,
  openSqlStores,
  sqlAdapter,
} from './sql-adapter.js';
export { SqlAddressAllocator } from './sql-address-allocator.js';
export { SqlBackend } from './sql-backend.js';
export { SQL_CAPABILITIES } from './sql-capabilities.js';
export { type ResolvedSqlOptions, SQL_DEFAULTS, type SqlOptions } from './sql-options.js';
export { SqlResourceDriver } from './sql-resource-driver.js';
