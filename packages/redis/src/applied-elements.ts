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

/** The elements a schema key's JSON records, as `resource`'s code sees them. */
export function decodeElements(text: string, resource: AnyResource): SchemaElements {
  const stored = JSON.parse(text) as StoredElements;
  return elementsFromNames(
    {
      fields: listOf(stored.fields),
      indexes: listOf(stored.indexes),
      uniques: listOf(stored.uniques),
      pending: listOf(stored.pending),
    },
    resource,
  );
}
