import { type AnyResource, f, historyOf } from '@polystore/core';
import type { FieldElement, IndexElement, SchemaElements } from '@polystore/core/adapter';

/**
 * How the applied elements of a resource are stored: one string key per resource
 * (`<prefix>{<namespace>}:<resource>:schema`, see {@link ResourceLayout.schemaKey}) holding
 * this JSON. Fields are kept by name only (a declaration holds functions and patterns); the
 * reader takes each field's declaration from its own resource's history.
 */
interface StoredElements {
  readonly fields?: readonly string[] | Record<string, never>;
  readonly indexes?: readonly IndexElement[] | Record<string, never>;
  readonly uniques?: readonly (readonly string[])[] | Record<string, never>;
}

/** The JSON text of a set of elements, as the scripts read and the schema key holds it. */
export function encodeElements(elements: SchemaElements): string {
  return JSON.stringify({
    fields: elements.fields.map((x) => x.name),
    indexes: elements.indexes.map((i) => ({ field: i.field, kind: i.kind })),
    uniques: elements.uniques,
  });
}

/** A list the Lua side wrote: cjson writes an empty array as `{}`. */
function listOf<T>(value: readonly T[] | Record<string, never> | undefined): readonly T[] {
  return Array.isArray(value) ? value : [];
}

/**
 * The elements a schema key's JSON records. A field's declaration is the newest one in the
 * history of `resource`; a field that history never declared (recorded by another
 * definition) is described as a nullable string.
 */
export function decodeElements(text: string, resource: AnyResource): SchemaElements {
  const stored = JSON.parse(text) as StoredElements;
  const versions = [...historyOf(resource).versions].reverse();
  const fields = listOf(stored.fields).map((name): FieldElement => {
    const field =
      versions.find((v) => v.fields[name] !== undefined)?.fields[name] ??
      f.string().nullable().describe('recorded by another definition');
    return Object.freeze({ name, field });
  });
  return Object.freeze({
    fields: Object.freeze(fields),
    indexes: Object.freeze(
      listOf(stored.indexes).map((i) => Object.freeze({ field: i.field, kind: i.kind })),
    ),
    uniques: Object.freeze(listOf(stored.uniques).map((u) => Object.freeze([...u]))),
  });
}
