/**
 * `@polystore/memory/internal`: the memory adapter's internals, for the conformance suite's
 * mutants (deliberately broken backends built on the reference model) and polystore's own
 * tests. NOT API: anything here may change or go away in any release, without notice.
 * Services and adapters import `@polystore/memory` (or `@polystore/core/adapter`) instead.
 *
 * @example
 * ```ts
 * import { MemoryBackend, MemoryDatabase } from '@polystore/memory/internal';
 * const backend = new MemoryBackend(new MemoryDatabase());
 * ```
 *
 * @packageDocumentation
 */
export { tableName } from './layout.js';
export { MEMORY_CAPABILITIES, MemoryBackend, type MemoryBackendOptions } from './memory-backend.js';
export { MemoryDatabase, type MemoryTable } from './memory-database.js';
export {
  type ElementKey,
  entryValue,
  indexEntryKey,
  MemorySchema,
  uniqueEntryKey,
} from './memory-schema.js';
