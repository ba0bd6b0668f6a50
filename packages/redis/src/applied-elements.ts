import type { AnyResource } from '@polystore/core';
import {
  type ElementNames,
  elementNames,
  elementsFromNames,
  type SchemaElements,
} from '@polystore/core/adapter';

/**
 * How the applied elements of a resource are stored: one string key per resource
 * (`<prefix>{<namespace>}:<plural>:schema`, see {@link ResourceLayout.schemaKey}) holding
 * core's {@link ElementNames} as JSON. The reader takes each field's declaration from its
 * own resource's history.
 */
type StoredElements = {
  readonly [K in keyof ElementNames]?: ElementNames[K] | Record<string, never>;
};

/** The JSON text of a set of elements, as the scripts read and the schema key holds it. */
export function encodeElements(elements: SchemaElements): string {
  return JSON.stringify(elementNames(elements));
}

/** A list the Lua side wrote: cjson writes an empty array as `{}`. */
function listOf<T>(value: readonly T[] | Record<string, never> | undefined): readonly T[] {
  return Array.isArray(value) ? value : [];
}

/**
 * The elements a schema key's JSON records, as `resource`'s code sees them. Those of a
 * contract in progress (its `contract` entry, see contract.lua) count as applied until its
 * last step: writes no longer keep them, but their keys and values are not all gone, and a
 * contract cut short must be seen as not done so that it is called again.
 */
export function decodeElements(text: string, resource: AnyResource): SchemaElements {
  const stored = JSON.parse(text) as StoredElements & { readonly contract?: StoredElements };
  const c = stored.contract;
  return elementsFromNames(
    {
      fields: [...listOf(stored.fields), ...listOf(c?.fields)],
      indexes: [...listOf(stored.indexes), ...listOf(c?.indexes)],
      uniques: [...listOf(stored.uniques), ...listOf(c?.uniques)],
      pending: listOf(stored.pending),
    },
    resource,
  );
}
