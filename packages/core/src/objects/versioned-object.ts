import type { RequestContext } from '../context.js';
import { type FieldIssue, IncompatibleVersionError, InvalidInputError } from '../errors.js';
import type { Field, FieldValue } from '../schema/field.js';
import { backportFields, isOlder } from '../schema/history.js';
import {
  type AnyResource,
  type CreateOf,
  type FieldsOf,
  historyOf,
  type RecordMeta,
  type RecordOf,
  SYSTEM_FIELDS,
} from '../schema/resource.js';
import { checkValue } from '../schema/validate.js';
import { compareCodePoints, deepFreeze, isPlainObject } from '../schema/values.js';
import type { ListOptions, Page, ResourceStore, UpdateOptions } from '../store.js';
import type { Stores } from '../stores.js';
import { deepCopy, deepEqual } from './deep-equal.js';

/** Where an object class reads and writes: the Stores bag, or the one store of its resource. */
export type StoreSource<R extends AnyResource> = Stores | ResourceStore<R>;

/** "Which version of each object this side speaks": `namespace.name` -> version. A plain object. */
export type VersionManifest = Readonly<Record<string, string>>;

/**
 * The versioned wire form of an object: canonical JSON with a fixed key order
 * (`name, version, namespace, data, changes`; `data` has the system fields, then the
 * version's fields in declaration order; dict keys sorted by code point).
 */
export interface ObjectPrimitive {
  /** The object name (its resource's name), e.g. `instance`. */
  readonly name: string;
  /** The object version of `data`. */
  readonly version: string;
  /** The registry namespace of the class, e.g. `compute`. */
  readonly namespace: string;
  /** Every field that exists at `version`, plus the record's system fields. */
  readonly data: Readonly<Record<string, unknown>>;
  /** The fields changed since the object was read (and not saved), in field order. */
  readonly changes: readonly string[];
}

/** Options of {@link VersionedObject.save}. */
export interface SaveOptions<R extends AnyResource> {
  /** Save only if each named field holds one of these values in the store (compare-and-swap). */
  readonly expected?: UpdateOptions<RecordOf<R>>['expected'];
  /**
   * The object version to write the record at (a release pin; default the class's). A
   * changed field that the pinned version lacks is refused; the record's version never goes down.
   */
  readonly writeVersion?: string;
}

/** The mutable fields of an object of resource `R`, typed from its schema. */
export type ObjectFields<R extends AnyResource> = {
  -readonly [K in keyof FieldsOf<R>]: FieldValue<FieldsOf<R>[K]>;
};

/** An object of resource `R` with domain methods `M`. */
export type ObjectOf<R extends AnyResource, M = unknown> = VersionedObject<R> &
  ObjectFields<R> &
  Readonly<RecordMeta> &
  M;

/** @internal The per-object state, behind a symbol so proxies and subclasses reach it. */
export const STATE = Symbol('polystore.object');

/** @internal What each object keeps. */
export interface ObjectState {
  readonly resource: AnyResource;
  readonly namespace: string;
  /** The record as last read or written (frozen). */
  base: Readonly<Record<string, unknown>>;
  /** The working values of the resource's fields (mutable copies). */
  values: Record<string, unknown>;
  /** Fields marked changed by a primitive, whatever their value. */
  forced: Set<string>;
}

function storeOf<R extends AnyResource>(source: StoreSource<R>, resource: R): ResourceStore<R> {
  const s = source as Partial<Stores>;
  if (typeof s.store === 'function' && typeof s.close === 'function' && 'backend' in s)
    return s.store(resource);
  return source as ResourceStore<R>;
}

/** A value in canonical form: dict keys sorted by code point, object keys in shape order. */
export function wireValue(field: Field, value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  switch (field.kind) {
    case 'list':
      return (value as unknown[]).map((v) => wireValue(field.of!, v));
    case 'dict': {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(value).sort(compareCodePoints))
        out[k] = wireValue(field.of!, (value as Record<string, unknown>)[k]);
      return out;
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, sub] of Object.entries(field.shape!))
        out[k] = wireValue(sub, (value as Record<string, unknown>)[k]);
      return out;
    }
    default:
      return value;
  }
}

/**
 * The base of every object class made by {@link defineObject}: typed, strict fields;
 * change tracking by diff against the record read (so in-place edits of nested lists,
 * dicts and objects are seen); `save()` with compare-and-swap; the versioned wire form.
 */
export class VersionedObject<R extends AnyResource = AnyResource> {
  /** @internal */
  declare readonly [STATE]: ObjectState;

  /** @internal Use the class's static `get`/`list`/`create`/`fromRecord`, or `fromPrimitive`. */
  constructor(resource: R, namespace: string, record: RecordOf<R>) {
    Object.defineProperty(this, STATE, {
      value: { resource, namespace, base: record, values: {}, forced: new Set() },
    });
    this[STATE].values = fieldValues(resource, record);
  }

  /** The fields whose value differs from the record read (or that a primitive marked changed), in field order. */
  changedFields(): string[] {
    const st = this[STATE];
    const out: string[] = [];
    for (const name of st.resource.fieldNames) {
      if (st.forced.has(name) || !deepEqual(st.values[name], st.base[name])) out.push(name);
    }
    return out;
  }

  /** Whether any field changed since the object was read or saved. */
  isDirty(): boolean {
    return this.changedFields().length > 0;
  }

  /**
   * Writes the changed fields, and only those, with the revision read: a concurrent
   * write makes it fail with `ConflictError` (carrying the current revision) instead of
   * being overwritten. On success the object takes the record written; on failure it
   * keeps its changes. Nothing changed and no `expected` values: no write.
   */
  async save(
    ctx: RequestContext,
    source: StoreSource<R>,
    options: SaveOptions<R> = {},
  ): Promise<this> {
    const st = this[STATE];
    const changed = this.changedFields();
    if (changed.length === 0 && options.expected === undefined) return this;
    const patch: Record<string, unknown> = {};
    for (const name of changed) patch[name] = st.values[name];
    const update: { expectedRevision: number; expected?: unknown; writeVersion?: string } = {
      expectedRevision: st.base.revision as number,
    };
    if (options.expected !== undefined) update.expected = options.expected;
    if (options.writeVersion !== undefined) update.writeVersion = options.writeVersion;
    const record = await storeOf(source, st.resource as R).update(
      ctx,
      st.base.id as string,
      patch as never,
      update as UpdateOptions<RecordOf<R>>,
    );
    take(this, record);
    return this;
  }

  /**
   * Deletes the record (soft delete where the resource has it) if it is still at the
   * revision read (`ConflictError` otherwise), and takes its last state. Unsaved changes
   * are not written.
   */
  async delete(ctx: RequestContext, source: StoreSource<R>): Promise<this> {
    const st = this[STATE];
    const record = await storeOf(source, st.resource as R).delete(ctx, st.base.id as string, {
      expectedRevision: st.base.revision as number,
    });
    take(this, record);
    return this;
  }

  /**
   * Reads the record again. Unchanged fields take the stored values; changed ones keep
   * the local values, so a save after a conflict writes them over the new revision.
   */
  async refresh(ctx: RequestContext, source: StoreSource<R>): Promise<this> {
    const st = this[STATE];
    const local: Record<string, unknown> = {};
    for (const name of this.changedFields()) local[name] = st.values[name];
    const record = await storeOf(source, st.resource as R).get(ctx, st.base.id as string);
    const forced = st.forced;
    take(this, record);
    Object.assign(st.values, local);
    st.forced = new Set([...forced].filter((n) => n in local));
    return this;
  }

  /** Discards every change: the fields take the values of the record read. */
  reset(): this {
    const st = this[STATE];
    st.values = fieldValues(st.resource, st.base);
    st.forced = new Set();
    return this;
  }

  /** The object as a frozen record: its system fields and the current field values. */
  toRecord(): RecordOf<R> {
    const st = this[STATE];
    const out: Record<string, unknown> = { id: st.base.id, projectId: st.base.projectId };
    for (const name of st.resource.fieldNames) out[name] = deepCopy(st.values[name]);
    for (const name of SYSTEM_FIELDS) if (!(name in out)) out[name] = st.base[name];
    return deepFreeze(out) as RecordOf<R>;
  }

  /** `JSON.stringify(object)` gives its record (the wire form is {@link toPrimitive}). */
  toJSON(): RecordOf<R> {
    return this.toRecord();
  }

  /**
   * The versioned wire form at `target` (a version, or a peer's manifest; default the
   * class's version). An older target gets the backport the history generates: fields
   * added later dropped, enum values added later mapped down or refused, changed fields
   * through their `down`. A target newer than the class, of another major or unknown to
   * the history is `IncompatibleVersionError`.
   */
  toPrimitive(target?: string | VersionManifest): ObjectPrimitive {
    const st = this[STATE];
    const resource = st.resource;
    const qualified = `${st.namespace}.${resource.name}`;
    let version = resource.version;
    if (typeof target === 'string') version = target;
    else if (target !== undefined) {
      const v = target[qualified];
      if (v === undefined)
        throw new IncompatibleVersionError(
          qualified,
          resource.version,
          'none (not in the manifest)',
        );
      version = v;
    }
    const history = historyOf(resource);
    const at = history.at(version);
    if (!at || isOlder(resource.version, version))
      throw new IncompatibleVersionError(qualified, version, resource.version);
    const fields: Record<string, unknown> = {};
    for (const name of resource.fieldNames)
      fields[name] = wireValue(resource.fields[name]!, deepCopy(st.values[name]));
    const down =
      version === resource.version
        ? fields
        : backportFields(qualified, history, fields, resource.version, version);
    const data: Record<string, unknown> = {};
    for (const name of SYSTEM_FIELDS) data[name] = st.base[name] ?? null;
    for (const name of at.fieldNames) data[name] = down[name];
    const changed = new Set(this.changedFields());
    return {
      name: resource.name,
      version,
      namespace: st.namespace,
      data,
      changes: at.fieldNames.filter((n) => changed.has(n)),
    };
  }
}

/** Takes a record written or read as the object's new base; clears the changes. */
// A function, not a #private method: objects are proxies, and a proxy has no private slots.
function take(obj: VersionedObject, record: Readonly<Record<string, unknown>>): void {
  const st = obj[STATE];
  st.base = record;
  st.values = fieldValues(st.resource, record);
  st.forced = new Set();
}

function fieldValues(
  resource: AnyResource,
  record: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of resource.fieldNames) out[name] = deepCopy(record[name]);
  return out;
}

/** @internal Assigns one field strictly: right type, known, mutable; else `InvalidInputError` naming it. */
export function assignField(obj: VersionedObject, name: string, value: unknown): void {
  const st = obj[STATE];
  const field = st.resource.fields[name]!;
  if (field.isImmutable) {
    throw new InvalidInputError(st.resource.name, [
      { field: name, message: 'is immutable: it is set on create only' },
    ]);
  }
  const issues: FieldIssue[] = [];
  const normal = checkValue(field, value, name, issues);
  if (issues.length > 0) throw new InvalidInputError(st.resource.name, issues);
  // A copy: later edits of the caller's value must not change the object behind its back.
  st.values[name] = deepCopy(normal);
}

/** @internal Builds the state of an object from a validated record and changed-field list. */
export function markChanged(obj: VersionedObject, changes: readonly string[]): void {
  const st = obj[STATE];
  st.forced = new Set(changes.filter((c) => Object.hasOwn(st.resource.fields, c)));
}

/** @internal Refuses a value that is not a plain object. */
export function requirePlainObject(what: string, value: unknown): Record<string, unknown> {
  if (!isPlainObject(value))
    throw new InvalidInputError('object', [{ field: what, message: 'must be a plain object' }]);
  return value;
}

/** @internal Re-exported for the class statics. */
export type { CreateOf, ListOptions, Page };
/** @internal The store of a source. */
export { storeOf };
