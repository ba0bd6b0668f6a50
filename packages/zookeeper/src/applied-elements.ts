import { type AnyResource, f, historyOf } from '@polystore/core';
import {
  type FieldElement,
  type IndexElement,
  indexKey,
  type SchemaElements,
  uniqueKey,
} from '@polystore/core/adapter';

/**
 * How the applied elements of a resource are stored: the data of one znode per resource
 * (`<chroot>/<resource>/schema`, see {@link ResourceLayout.schema}) holding this JSON.
 * Fields are kept by name only (a declaration holds functions and patterns); the reader
 * takes each field's declaration from its own resource's history.
 */
interface StoredElements {
  readonly fields: readonly string[];
  readonly indexes: readonly IndexElement[];
  readonly uniques: readonly (readonly string[])[];
}

/** The znode data of a set of elements. */
export function encodeElements(elements: SchemaElements): Buffer {
  const stored: StoredElements = {
    fields: elements.fields.map((x) => x.name),
    indexes: elements.indexes.map((i) => ({ field: i.field, kind: i.kind })),
    uniques: elements.uniques,
  };
  return Buffer.from(JSON.stringify(stored), 'utf8');
}

/**
 * The elements a schema znode's data records. A field's declaration is the newest one in
 * the history of `resource`; a field that history never declared (recorded by another
 * definition) is described as a nullable string.
 */
export function decodeElements(data: Buffer, resource: AnyResource): SchemaElements {
  const stored = JSON.parse(data.toString('utf8')) as Partial<StoredElements>;
  const versions = [...historyOf(resource).versions].reverse();
  const fields = (stored.fields ?? []).map((name): FieldElement => {
    const field =
      versions.find((v) => v.fields[name] !== undefined)?.fields[name] ??
      f.string().nullable().describe('recorded by another definition');
    return Object.freeze({ name, field });
  });
  return Object.freeze({
    fields: Object.freeze(fields),
    indexes: Object.freeze(
      (stored.indexes ?? []).map((i) => Object.freeze({ field: i.field, kind: i.kind })),
    ),
    uniques: Object.freeze((stored.uniques ?? []).map((u) => Object.freeze([...u]))),
  });
}

/** `applied` with the elements of `added` it lacks, in order. */
export function withElements(applied: SchemaElements, added: SchemaElements): SchemaElements {
  const fields = new Set(applied.fields.map((x) => x.name));
  const indexes = new Set(applied.indexes.map(indexKey));
  const uniques = new Set(applied.uniques.map(uniqueKey));
  return {
    fields: [...applied.fields, ...added.fields.filter((x) => !fields.has(x.name))],
    indexes: [...applied.indexes, ...added.indexes.filter((i) => !indexes.has(indexKey(i)))],
    uniques: [...applied.uniques, ...added.uniques.filter((u) => !uniques.has(uniqueKey(u)))],
  };
}
