export { memoryAdapter, type OpenMemoryStoresOptions, openMemoryStores } from './memory-adapter.js';
export type { MemoryOptions } from './memory-options.js';
