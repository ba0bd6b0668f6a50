/**
 * The physical elements of a resource (fields, indexes, unique constraints) as the
 * evolution SPI hands them to a backend: what one version needs, and what to add
 * (`expand`) or drop (`contract`) between two versions. Derived from
 * {@link historyOf} only, so every adapter builds and drops the same things.
 */
import { type Field, f } from './field.js';
import type { IndexElement, VersionElements } from './history.js';
import { type AnyResource, historyOf } from './resource.js';

/** One field of a version, with its declaration (kind, nullability, default). */
export interface FieldElement {
  /** The field name. */
  readonly name: string;
  /** The field's declaration at that version. */
  readonly field: Field;
}

/**
 * A set of physical elements of one resource: what `expand` adds, `contract` drops and
 * `appliedElements` reports. Indexes are identified by field and kind (an index whose
 * kind changes is dropped and added), unique constraints by their ordered field list.
 */
export interface SchemaElements {
  /** Fields (columns, document fields). */
  readonly fields: readonly FieldElement[];
  /** Indexes, one per field and kind. */
  readonly indexes: readonly IndexElement[];
  /** Unique constraints among live records, each an ordered list of field names. */
  readonly uniques: readonly (readonly string[])[];
  /**
   * In what `appliedElements` reports, and what `expand` is asked to record: fields that
   * exist but are **write-only**: records written before them may lack them until a
   * backfill rewrote those records, so a query on them (`where`, `orderBy`) could see
   * another value than `get` shows. Core refuses such queries with `InvalidQueryError`
   * until `publish` makes the fields public. Absent: none.
   */
  readonly pending?: readonly string[];
}

/** What changes physically between two versions of a resource. */
export interface ElementsChange {
  /** Elements of the target version that the source version lacks: added before records move. */
  readonly expand: SchemaElements;
  /** Elements of the source version that the target version lacks: dropped once no record or process needs them. */
  readonly contract: SchemaElements;
}

/** No elements at all. */
export const NO_ELEMENTS: SchemaElements = Object.freeze({
  fields: Object.freeze([]),
  indexes: Object.freeze([]),
  uniques: Object.freeze([]),
});

/** The identity of an index element (`field:kind`), for comparing sets of indexes. */
export function indexKey(index: IndexElement): string {
  return `${index.field}:${index.kind}`;
}

/** The identity of a unique constraint (its fields joined by `,`). */
export function uniqueKey(fields: readonly string[]): string {
  return fields.join(',');
}

/** Whether a set of elements is empty. */
export function isEmptyElements(elements: SchemaElements): boolean {
  return (
    elements.fields.length === 0 && elements.indexes.length === 0 && elements.uniques.length === 0
  );
}

function versionOf(resource: AnyResource, version: string): VersionElements {
  const v = historyOf(resource).at(version);
  if (!v) {
    throw new TypeError(
      `${resource.name}: no version ${version} in its history (${historyOf(resource)
        .versions.map((x) => x.version)
        .join(', ')})`,
    );
  }
  return v;
}

function toElements(v: VersionElements): SchemaElements {
  return Object.freeze({
    fields: Object.freeze(
      v.fieldNames.map((name) => Object.freeze({ name, field: v.fields[name]! })),
    ),
    indexes: v.indexes,
    uniques: v.uniques,
  });
}

/**
 * Every physical element of one version of a resource: what a brand-new, empty store of
 * that version needs. Throws `TypeError` if the history has no such version.
 *
 * @example
 * ```ts
 * elementsOf(gadgetResource, '1.1').uniques; // [['label', 'size']]
 * ```
 */
export function elementsOf(
  resource: AnyResource,
  version: string = resource.version,
): SchemaElements {
  return toElements(versionOf(resource, version));
}

/** The elements of `a` that `b` lacks (with the write-only marks of `a`'s remaining fields). */
export function elementsMinus(a: SchemaElements, b: SchemaElements): SchemaElements {
  const fields = new Set(b.fields.map((f) => f.name));
  const indexes = new Set(b.indexes.map(indexKey));
  const uniques = new Set(b.uniques.map(uniqueKey));
  const kept = Object.freeze(a.fields.filter((f) => !fields.has(f.name)));
  const minus = Object.freeze({
    fields: kept,
    indexes: Object.freeze(a.indexes.filter((i) => !indexes.has(indexKey(i)))),
    uniques: Object.freeze(a.uniques.filter((u) => !uniques.has(uniqueKey(u)))),
  });
  // The write-only marks of the fields that remain stay with them.
  return withPending(
    minus,
    pendingAfter(
      kept.map((x) => x.name),
      [a.pending],
    ),
  );
}

/** Each element in words, for messages: `field color`, `index color (equality)`, `unique (label, projectId)`. */
export function describeElements(elements: SchemaElements): string[] {
  return [
    ...elements.fields.map((f) => `field ${f.name}`),
    ...elements.indexes.map((i) => `index ${i.field} (${i.kind})`),
    ...elements.uniques.map((u) => `unique (${u.join(', ')})`),
  ];
}

/** `a` and then the elements of `b` that `a` lacks: what is applied after an `expand` of `b`. */
export function elementsUnion(a: SchemaElements, b: SchemaElements): SchemaElements {
  const added = elementsMinus(b, a);
  const fields = Object.freeze([...a.fields, ...added.fields]);
  const union = Object.freeze({
    fields,
    indexes: Object.freeze([...a.indexes, ...added.indexes]),
    uniques: Object.freeze([...a.uniques, ...added.uniques]),
  });
  return withPending(
    union,
    pendingAfter(
      fields.map((x) => x.name),
      [a.pending, b.pending],
    ),
  );
}

/**
 * A set of elements as plain data a backend can store (JSON, BSON, a znode): fields by
 * name (a declaration holds functions and patterns), indexes by field and kind, unique
 * constraints by their field lists. {@link elementsFromNames} reads it back.
 */
export interface ElementNames {
  readonly fields: readonly string[];
  readonly indexes: readonly IndexElement[];
  readonly uniques: readonly (readonly string[])[];
  /** The write-only fields (see {@link SchemaElements.pending}); absent when none. */
  readonly pending?: readonly string[];
}

/** The stored form of a set of elements (see {@link ElementNames}). */
export function elementNames(elements: SchemaElements): ElementNames {
  return {
    fields: elements.fields.map((x) => x.name),
    indexes: elements.indexes.map((i) => ({ field: i.field, kind: i.kind })),
    uniques: elements.uniques.map((u) => [...u]),
    ...(elements.pending?.length ? { pending: [...elements.pending] } : {}),
  };
}

/**
 * The declaration `resource`'s code has for a field another process recorded: its own, else
 * the newest one its history knows; `undefined` for a field only a newer definition has.
 */
export function knownField(resource: AnyResource, name: string): Field | undefined {
  const own = resource.fields[name];
  if (own) return own;
  for (const v of [...historyOf(resource).versions].reverse()) {
    const known = v.fields[name];
    if (known) return known;
  }
  return undefined;
}

/**
 * Reads back what {@link elementNames} stored, as `resource`'s code sees it: each field with
 * {@link knownField}'s declaration, or `unknown(name)` for a field this code has never
 * declared (default: a nullable string described as recorded by another definition).
 */
export function elementsFromNames(
  names: Partial<ElementNames>,
  resource: AnyResource,
  unknown: (name: string) => Field = () =>
    f.string().nullable().describe('recorded by another definition') as Field,
): SchemaElements {
  return Object.freeze({
    fields: Object.freeze(
      (names.fields ?? []).map((name) =>
        Object.freeze({ name, field: knownField(resource, name) ?? unknown(name) }),
      ),
    ),
    indexes: Object.freeze(
      (names.indexes ?? []).map((i) => Object.freeze({ field: i.field, kind: i.kind })),
    ),
    uniques: Object.freeze((names.uniques ?? []).map((u) => Object.freeze([...u]))),
    ...(names.pending?.length ? { pending: Object.freeze([...names.pending]) } : {}),
  });
}

/**
 * The write-only fields after some were recorded (`pending`, e.g. what was applied and
 * what an `expand` adds) and some made public (`published`): those of `fields` only, each
 * once. What an adapter stores as the `pending` of its applied elements.
 */
export function pendingAfter(
  fields: readonly string[],
  pending: readonly (readonly string[] | undefined)[],
  published: readonly string[] = [],
): string[] {
  const known = new Set(fields);
  const gone = new Set(published);
  return [...new Set(pending.flatMap((p) => p ?? []))].filter((n) => known.has(n) && !gone.has(n));
}

/** `elements` with `pending` as its write-only fields (none: the key is left out). */
export function withPending(
  elements: SchemaElements,
  pending: readonly string[] | undefined,
): SchemaElements {
  const { pending: _old, ...rest } = elements;
  return Object.freeze(pending?.length ? { ...rest, pending: Object.freeze([...pending]) } : rest);
}

/**
 * The elements to expand and contract when a store moves from version `from` to version
 * `to` of a resource (either direction; `from === to` changes nothing). A field is one
 * element whatever its enum values (those are not physical); an index whose kind changes
 * is contracted under its old kind and expanded under its new one. Throws `TypeError` if
 * either version is not in the history.
 *
 * @example
 * ```ts
 * const { expand, contract } = elementsBetween(gadgetResource, '1.0', '1.1');
 * await backend.expand?.(gadgetResource, expand);   // before records move to 1.1
 * // ... migrate every record ...
 * await backend.contract?.(gadgetResource, contract); // once nothing reads 1.0
 * ```
 */
export function elementsBetween(resource: AnyResource, from: string, to: string): ElementsChange {
  const a = elementsOf(resource, from);
  const b = elementsOf(resource, to);
  return Object.freeze({ expand: elementsMinus(b, a), contract: elementsMinus(a, b) });
}
