/**
 * A resource's version history as data: what each object version added, removed or
 * changed, and everything derived from it once (the physical elements of every version,
 * upgrades of old records, backports for old readers). Adapters, snapshots and the
 * versioned objects all read this one derivation; nothing is inferred twice.
 */
import { IncompatibleVersionError } from '../errors.js';
import type { Field, IndexKind } from './field.js';

/** A transform of one field's value, given the whole record (read-only) at the other version. */
export type FieldTransform = (record: Readonly<Record<string, unknown>>) => unknown;

/** How enum values added at a version travel back to readers of older versions. */
export interface EnumValuesChange {
  /** The values this version adds to the field. */
  readonly added: readonly string[];
  /**
   * For a backport: the older value each new value maps to. A new value with no mapping
   * is refused with `IncompatibleVersionError` (an old reader cannot hold it).
   */
  readonly down?: Readonly<Record<string, string>>;
}

/**
 * What one object version changed, beyond the one-line note. Fields added at a version
 * are declared on the field itself (`.addedIn(version)`), so a field lives in one place.
 */
export interface HistoryEntry {
  /** One line saying what changed ("1.1: added color"). */
  readonly note: string;
  /** Values for records written before a field added at this version existed (instead of its default). */
  readonly up?: Readonly<Record<string, FieldTransform>>;
  /**
   * Fields whose meaning changed at this version: `up` turns an older record's value into
   * this version's, `down` does the reverse for older readers. The only hand-written code
   * a history holds.
   */
  readonly changed?: Readonly<
    Record<string, { readonly up: FieldTransform; readonly down: FieldTransform }>
  >;
  /** Fields removed at this version (a major version only), with their last declaration. */
  readonly removed?: Readonly<Record<string, Field>>;
  /** Indexes added at this version on fields that existed before (field names). */
  readonly addIndexes?: readonly string[];
  /** Indexes dropped at this version: field name and the index kind it had. */
  readonly dropIndexes?: Readonly<Record<string, IndexKind>>;
  /** Unique constraints added at this version over fields that existed before. */
  readonly addUnique?: readonly (readonly string[])[];
  /** Unique constraints dropped at this version. */
  readonly dropUnique?: readonly (readonly string[])[];
  /** Enum values added at this version, per field. */
  readonly enumValues?: Readonly<Record<string, EnumValuesChange>>;
}

/** A history entry: a one-line note, or the note with the declared changes. */
export type HistoryValue = string | HistoryEntry;

/** One index of a version: a field and how it may be queried. */
export interface IndexElement {
  readonly field: string;
  readonly kind: Exclude<IndexKind, 'none'>;
}

/** The physical elements of one object version, derived from the history. */
export interface VersionElements {
  /** The version, `major.minor`. */
  readonly version: string;
  /** Its history note. */
  readonly note: string;
  /** The fields that exist at this version, in declaration order (enum fields with this version's values). */
  readonly fields: Readonly<Record<string, Field>>;
  /** The field names, in order. */
  readonly fieldNames: readonly string[];
  /** The indexes that exist at this version, ordered by field. */
  readonly indexes: readonly IndexElement[];
  /** The unique constraints that exist at this version. */
  readonly uniques: readonly (readonly string[])[];
  /** Fields added at this version, and whether an up-transform fills them for older records. */
  readonly added: readonly { readonly field: string; readonly transform: boolean }[];
  /** Fields removed at this version. */
  readonly removed: readonly string[];
  /** Fields whose meaning changed at this version (hand-written transforms). */
  readonly changed: readonly string[];
  /** Enum values added at this version, per field, with their backport mapping (`null`: refused). */
  readonly enumValues: Readonly<Record<string, Readonly<Record<string, string | null>>>>;
}

/** The whole derived history of a resource, oldest version first. */
export interface ResourceHistory {
  /** Every version, oldest first. */
  readonly versions: readonly VersionElements[];
  /** The elements of one version; `undefined` if the history has no such version. */
  at(version: string): VersionElements | undefined;
}

/** What {@link buildHistory} needs of a resource declaration. */
export interface HistorySource {
  readonly name: string;
  readonly version: string;
  readonly history: Readonly<Record<string, HistoryValue>>;
  readonly fields: Readonly<Record<string, Field>>;
  readonly unique?: readonly (readonly string[])[];
}

const VERSION = /^(\d+)\.(\d+)$/;

function parse(version: string): [number, number] {
  const m = VERSION.exec(version);
  if (!m)
    throw new TypeError(`object version must be "major.minor", got ${JSON.stringify(version)}`);
  return [Number(m[1]), Number(m[2])];
}

function cmp(a: string, b: string): number {
  const [am, an] = parse(a);
  const [bm, bn] = parse(b);
  return am - bm || an - bn;
}

function majorOf(version: string): number {
  return parse(version)[0];
}

function entryOf(value: HistoryValue): HistoryEntry {
  return typeof value === 'string' ? { note: value } : value;
}

const uniqueKey = (u: readonly string[]): string => u.join(',');

interface Span {
  readonly from: string;
  readonly until: string | undefined;
}

const alive = (span: Span, v: string): boolean =>
  cmp(span.from, v) <= 0 && (span.until === undefined || cmp(v, span.until) < 0);

/** A field like `field` but with only the enum values `values`. */
function withValues(field: Field, values: readonly string[]): Field {
  return Object.freeze({ ...field, values: Object.freeze([...values]) });
}

/**
 * Validates a history and derives the elements of every version. Throws `TypeError`
 * naming the resource and the rule broken:
 * - versions must be ascending, each `major.minor`, the last one the current version;
 * - a field's `since` must be a history version;
 * - a field added after the first version must be nullable, have a default or an
 *   up-transform (old records need a value);
 * - fields are removed only at a major version, and never while an index or unique
 *   constraint still uses them;
 * - each named index, unique constraint and enum value must exist where it is named.
 */
export function buildHistory(source: HistorySource): ResourceHistory {
  const name = source.name;
  const fail: (message: string) => never = (message) => {
    throw new TypeError(`${name}: ${message}`);
  };
  const keys = Object.keys(source.history);
  if (keys.length === 0) fail('history is empty');
  for (const v of keys) parse(v);
  for (let i = 1; i < keys.length; i++) {
    if (cmp(keys[i - 1]!, keys[i]!) >= 0)
      fail(`history versions out of order: ${keys[i - 1]} before ${keys[i]}`);
  }
  if (!keys.includes(source.version))
    fail(`history has no entry for the current version ${source.version}`);
  if (keys.at(-1) !== source.version)
    fail(
      `history has versions after the current ${source.version}: ${keys.slice(keys.indexOf(source.version) + 1).join(', ')}`,
    );
  const first = keys[0]!;
  const entries = new Map(keys.map((k) => [k, entryOf(source.history[k]!)]));

  // Lifetimes of every field, index and unique constraint ever declared.
  const fieldSpans = new Map<string, { field: Field; span: Span }>();
  const order: string[] = [];
  for (const [fname, field] of Object.entries(source.fields)) {
    const since = cmp(field.since, first) < 0 ? first : field.since;
    if (!entries.has(field.since) && cmp(field.since, first) >= 0)
      fail(`field ${fname} is added in ${field.since}, which is not a history version`);
    if (cmp(field.since, source.version) > 0)
      fail(`field ${fname} is added in ${field.since}, after the current ${source.version}`);
    fieldSpans.set(fname, { field, span: { from: since, until: undefined } });
    order.push(fname);
  }
  for (const [v, entry] of entries) {
    for (const [fname, field] of Object.entries(entry.removed ?? {})) {
      if (v === first) fail(`field ${fname} is removed in the first version ${v}`);
      if (parse(v)[1] !== 0)
        fail(
          `field ${fname} is removed in ${v}: removing a field needs a major version (${majorOf(v)}.0)`,
        );
      const current = fieldSpans.get(fname);
      if (current && cmp(current.span.from, v) < 0)
        fail(
          `field ${fname} is removed in ${v} but still declared (added in ${current.field.since})`,
        );
      const since = cmp(field.since, first) < 0 ? first : field.since;
      if (cmp(since, v) >= 0)
        fail(`field ${fname} is removed in ${v}, not after it was added (${since})`);
      const key = current ? `${fname}@${v}` : fname;
      fieldSpans.set(key, { field, span: { from: since, until: v } });
      order.push(key);
    }
    for (const fname of Object.keys(entry.up ?? {})) {
      const f = source.fields[fname];
      if (!f || f.since !== v)
        fail(`up-transform for ${fname} in ${v}, but ${fname} is not added in ${v}`);
    }
    for (const fname of Object.keys(entry.changed ?? {})) {
      const f = source.fields[fname];
      if (!f || cmp(f.since, v) >= 0 || v === first)
        fail(`field ${fname} changes meaning in ${v} but did not exist before it`);
    }
  }
  for (const [fname, { field, span }] of fieldSpans) {
    if (span.until !== undefined || span.from === first) continue;
    if (field.defaultValue === undefined && !entries.get(span.from)?.up?.[fname])
      fail(
        `field ${fname} is added in ${span.from} and required, with neither a default nor an up-transform for older records`,
      );
  }
  const fieldName = (key: string) => key.split('@')[0]!;

  // Indexes: from the version that declares them (or the field's own), until dropped.
  const indexSpans: { field: string; kind: Exclude<IndexKind, 'none'>; span: Span }[] = [];
  const addedIndexAt = new Map<string, string>();
  const droppedIndexAt = new Map<string, { at: string; kind: IndexKind }>();
  for (const [v, entry] of entries) {
    for (const fname of entry.addIndexes ?? []) {
      if (!fieldSpans.has(fname) && ![...fieldSpans.keys()].some((k) => fieldName(k) === fname))
        fail(`index on ${fname} added in ${v}, but there is no such field`);
      addedIndexAt.set(fname, v);
    }
    for (const [fname, kind] of Object.entries(entry.dropIndexes ?? {})) {
      droppedIndexAt.set(fname, { at: v, kind });
    }
  }
  for (const [key, { field, span }] of fieldSpans) {
    const fname = fieldName(key);
    const dropped = droppedIndexAt.get(fname);
    const kind = field.index !== 'none' ? field.index : dropped?.kind;
    if (kind === undefined || kind === 'none') {
      if (addedIndexAt.has(fname) && span.until === undefined)
        fail(`index on ${fname} added in ${addedIndexAt.get(fname)}, but ${fname} is not indexed`);
      continue;
    }
    const from = addedIndexAt.get(fname) ?? span.from;
    if (cmp(from, span.from) < 0)
      fail(`index on ${fname} added in ${from}, before the field (${span.from})`);
    let until = field.index !== 'none' && span.until === undefined ? undefined : dropped?.at;
    if (span.until !== undefined) {
      if (dropped === undefined || cmp(dropped.at, span.until) > 0)
        fail(
          `field ${fname} is removed in ${span.until} but still used by an index (drop it in dropIndexes)`,
        );
      until = dropped?.at;
    }
    if (until !== undefined && cmp(until, from) <= 0)
      fail(`index on ${fname} dropped in ${until}, not after it was added`);
    indexSpans.push({ field: fname, kind, span: { from, until } });
  }

  // Unique constraints: the current ones and those dropped along the way.
  const uniqueSpans: { fields: readonly string[]; span: Span }[] = [];
  const addedUniqueAt = new Map<string, string>();
  const droppedUnique = new Map<string, { at: string; fields: readonly string[] }>();
  for (const [v, entry] of entries) {
    for (const u of entry.addUnique ?? []) addedUniqueAt.set(uniqueKey(u), v);
    for (const u of entry.dropUnique ?? []) droppedUnique.set(uniqueKey(u), { at: v, fields: u });
  }
  const spanOfField = (fname: string, at: string): Span | undefined =>
    [...fieldSpans].find(([k, s]) => fieldName(k) === fname && alive(s.span, at))?.[1].span;
  const addUnique = (fields: readonly string[], until: string | undefined) => {
    const key = uniqueKey(fields);
    const sinceFields = fields.map((fn) => {
      const s = [...fieldSpans].filter(([k]) => fieldName(k) === fn).map(([, s]) => s.span.from);
      if (s.length === 0) fail(`unique constraint (${key}) names unknown field ${fn}`);
      return s.sort(cmp)[0]!;
    });
    const from = addedUniqueAt.get(key) ?? sinceFields.sort(cmp).at(-1)!;
    for (const fn of fields) {
      const check = until === undefined ? source.version : keys[keys.indexOf(until) - 1]!;
      if (!spanOfField(fn, check) || !spanOfField(fn, from))
        fail(`field ${fn} is removed while unique constraint (${key}) still uses it`);
    }
    uniqueSpans.push({ fields, span: { from, until } });
  };
  for (const u of source.unique ?? []) addUnique(u, droppedUnique.get(uniqueKey(u))?.at);
  for (const [key, d] of droppedUnique) {
    if ((source.unique ?? []).some((u) => uniqueKey(u) === key)) continue;
    addUnique(d.fields, d.at);
  }

  // Enum values: the ones named in a history entry appear at that version.
  const enumAt = new Map<string, Map<string, { at: string; down: string | null }>>();
  for (const [v, entry] of entries) {
    for (const [fname, change] of Object.entries(entry.enumValues ?? {})) {
      const f = source.fields[fname];
      if (f?.kind !== 'enum')
        fail(`enum values added to ${fname} in ${v}, which is not an enum field`);
      if (cmp(f!.since, v) >= 0)
        fail(`enum values added to ${fname} in ${v}, not after the field (${f!.since})`);
      const m = enumAt.get(fname) ?? new Map();
      for (const value of change.added) {
        if (!f!.values!.includes(value))
          fail(`enum value ${value} of ${fname} added in ${v} is not declared on the field`);
        const down = change.down?.[value] ?? null;
        m.set(value, { at: v, down });
      }
      enumAt.set(fname, m);
    }
  }
  for (const [fname, m] of enumAt) {
    for (const [value, { at, down }] of m) {
      if (down === null) continue;
      const target = m.get(down);
      if (!source.fields[fname]!.values!.includes(down) || (target && cmp(target.at, at) >= 0))
        fail(
          `enum value ${value} of ${fname} maps down to ${down}, which older readers do not know`,
        );
    }
  }

  const versions: VersionElements[] = keys.map((v) => {
    const entry = entries.get(v)!;
    const fields: Record<string, Field> = {};
    for (const key of order) {
      const { field, span } = fieldSpans.get(key)!;
      if (!alive(span, v)) continue;
      const fname = fieldName(key);
      const extra = enumAt.get(fname);
      fields[fname] = extra
        ? withValues(
            field,
            field.values!.filter((x) => !extra.has(x) || cmp(extra.get(x)!.at, v) <= 0),
          )
        : field;
    }
    const enumValues: Record<string, Record<string, string | null>> = {};
    for (const [fname, m] of enumAt) {
      for (const [value, { at, down }] of m) {
        if (at !== v) continue;
        enumValues[fname] ??= {};
        enumValues[fname][value] = down;
      }
    }
    return Object.freeze({
      version: v,
      note: entry.note,
      fields: Object.freeze(fields),
      fieldNames: Object.freeze(Object.keys(fields)),
      indexes: Object.freeze(
        indexSpans
          .filter((i) => alive(i.span, v))
          .map((i) => Object.freeze({ field: i.field, kind: i.kind }))
          .sort((a, b) => order.indexOf(a.field) - order.indexOf(b.field)),
      ),
      uniques: Object.freeze(uniqueSpans.filter((u) => alive(u.span, v)).map((u) => u.fields)),
      added: Object.freeze(
        [...fieldSpans]
          .filter(([, s]) => s.span.from === v && v !== first)
          .map(([k]) =>
            Object.freeze({ field: fieldName(k), transform: !!entry.up?.[fieldName(k)] }),
          ),
      ),
      removed: Object.freeze(Object.keys(entry.removed ?? {})),
      changed: Object.freeze(Object.keys(entry.changed ?? {})),
      enumValues: Object.freeze(enumValues),
    });
  });
  const byVersion = new Map(versions.map((x) => [x.version, x]));
  const history: ResourceHistory = Object.freeze({
    versions: Object.freeze(versions),
    at: (version: string) => byVersion.get(version),
  });
  entriesOf.set(history, entries);
  return history;
}

// The declared entries (with their transforms) behind each derived history.
const entriesOf = new WeakMap<ResourceHistory, Map<string, HistoryEntry>>();

/** The declared entry of one version of a derived history. */
export function historyEntry(history: ResourceHistory, version: string): HistoryEntry | undefined {
  return entriesOf.get(history)?.get(version);
}

function versionsBetween(history: ResourceHistory, from: string, to: string): VersionElements[] {
  return history.versions.filter((v) => cmp(v.version, from) > 0 && cmp(v.version, to) <= 0);
}

/**
 * A record's fields written at version `from`, as version `to` (newer) has them: fields
 * added since get their up-transform or default, fields whose meaning changed go
 * through their `up`, removed ones are dropped. System fields pass through unchanged.
 */
export function upgradeFields(
  name: string,
  history: ResourceHistory,
  record: Readonly<Record<string, unknown>>,
  from: string,
  to: string,
): Record<string, unknown> {
  if (!history.at(from)) throw new IncompatibleVersionError(name, from, to);
  const out: Record<string, unknown> = { ...record };
  for (const step of versionsBetween(history, from, to)) {
    const entry = historyEntry(history, step.version)!;
    for (const fname of step.removed) delete out[fname];
    for (const { field } of step.added) {
      const up = entry.up?.[field];
      const dflt = step.fields[field]!.defaultValue;
      out[field] = up ? up(out) : dflt === undefined ? null : structuredClone(dflt);
    }
    for (const fname of step.changed) out[fname] = entry.changed![fname]!.up(out);
  }
  return out;
}

/**
 * A record's fields at version `from`, as an older version `to` of the same major has
 * them: fields added since are dropped, enum values added since are mapped down (or
 * refused with `IncompatibleVersionError`), changed fields go through their `down`.
 */
export function backportFields(
  name: string,
  history: ResourceHistory,
  record: Readonly<Record<string, unknown>>,
  from: string,
  to: string,
  options: {
    /**
     * Also cross major versions (a pinned write of a fleet's newer release): a field removed
     * on the way down is written with its last declaration's default, or `null` where it was
     * nullable; one with neither is refused with `IncompatibleVersionError`.
     */
    readonly acrossMajors?: boolean;
  } = {},
): Record<string, unknown> {
  if (!history.at(to) || (!options.acrossMajors && majorOf(from) !== majorOf(to)))
    throw new IncompatibleVersionError(name, from, to);
  const out: Record<string, unknown> = { ...record };
  for (const step of versionsBetween(history, to, from).reverse()) {
    const entry = historyEntry(history, step.version)!;
    for (const [fname, field] of Object.entries(entry.removed ?? {})) {
      if (field.defaultValue !== undefined) out[fname] = structuredClone(field.defaultValue);
      else if (field.isNullable) out[fname] = null;
      else throw new IncompatibleVersionError(`${name}.${fname}`, step.version, to);
    }
    for (const fname of step.changed) out[fname] = entry.changed![fname]!.down(out);
    for (const [fname, mapping] of Object.entries(step.enumValues)) {
      const value = out[fname];
      if (typeof value !== 'string' || !(value in mapping)) continue;
      const down = mapping[value];
      if (down === null || down === undefined)
        throw new IncompatibleVersionError(`${name}.${fname}=${value}`, step.version, to);
      out[fname] = down;
    }
    for (const { field } of step.added) delete out[field];
  }
  return out;
}

/** Whether `a` is an older version than `b`. */
export function isOlder(a: string, b: string): boolean {
  return cmp(a, b) < 0;
}

/** Whether two versions share a major version. */
export function sameMajor(a: string, b: string): boolean {
  return majorOf(a) === majorOf(b);
}
