import type { Backend } from '@polystore/core/adapter';

/**
 * What a backend tells about itself for `polystore doctor`, as its `describe` hook says it
 * (the adapter knows what is worth showing and what is secret); nothing when it has none.
 */
export function describeBackend(backend: Backend): [string, string][] {
  return Object.entries(backend.describe?.() ?? {}).map(([key, value]) => [key, String(value)]);
}
