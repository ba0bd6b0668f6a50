import type { AnyResource } from '@polystore/core';

/**
 * The name of the {@link MemoryTable} that holds a resource's records: the resource's
 * plural (`instances`, `fixedIps`, `gadgets`), the storage name every backend uses. Memory
 * has no columns or index structures of its own: a table maps a record id to the frozen
 * record, and queries scan it.
 */
export function tableName(resource: AnyResource): string {
  return resource.plural;
}
