export { memoryAdapter, openMemoryStores } from './memory-adapter.js';
export { MEMORY_CAPABILITIES, MemoryBackend } from './memory-backend.js';
export type { MemoryOptions } from './memory-options.js';
export { MemoryResourceDriver } from './memory-resource-driver.js';
export { MemoryDatabase, type MemoryTable } from './memory-table.js';
