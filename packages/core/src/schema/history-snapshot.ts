/**
 * Readable schema snapshots: one JSON document per resource with every version's fields,
 * indexes, unique constraints and fingerprint, plus the wire form of the objects built
 * on it. Committed beside a service, they let a check say *what* changed (field by
 * field) and which bump it needs, where oslo.versionedobjects shows two opaque hashes.
 */
import { createHash } from 'node:crypto';
import type { Field } from './field.js';
import { historyEntry } from './history.js';
import { type AnyResource, historyOf, SYSTEM_FIELDS } from './resource.js';

/** A JSON value as snapshots hold it. */
export type SnapshotValue =
  | string
  | number
  | boolean
  | null
  | readonly SnapshotValue[]
  | { readonly [key: string]: SnapshotValue };

/** One field as a snapshot describes it. */
export type FieldSnapshot = { readonly [key: string]: SnapshotValue };

/** One version of a resource in a snapshot. */
export interface VersionSnapshot {
  readonly note: string;
  /** `sha256:` of the canonical JSON of everything below but the note. */
  readonly fingerprint: string;
  readonly fields: Readonly<Record<string, FieldSnapshot>>;
  readonly indexes: readonly { readonly field: string; readonly kind: string }[];
  readonly uniques: readonly (readonly string[])[];
  /** Fields added at this version and how old records get a value (`default` or `transform`). */
  readonly added: Readonly<Record<string, string>>;
  readonly removed: readonly string[];
  /** Fields whose meaning changed at this version (hand-written up/down transforms). */
  readonly changed: readonly string[];
  /** Enum values added at this version, with the value each maps to for older readers (`null`: refused). */
  readonly enumValues: Readonly<Record<string, Readonly<Record<string, string | null>>>>;
}

/** The versioned-object class of a resource, as a snapshot describes it. */
export interface ObjectSnapshot {
  readonly namespace: string;
  readonly name: string;
  readonly version: string;
  /** The domain methods of the class, sorted. */
  readonly methods: readonly string[];
  /** The keys of the wire form's `data`, in their fixed order, for every version it speaks. */
  readonly wire: Readonly<Record<string, readonly string[]>>;
  /** `sha256:` of the canonical JSON of the above. */
  readonly fingerprint: string;
}

/** The snapshot of one resource, as committed in `<dir>/<name>.snapshot.json`. */
export interface ResourceSnapshot {
  readonly resource: string;
  readonly plural: string;
  readonly scope: string;
  readonly softDelete: boolean;
  /** The current version. */
  readonly version: string;
  /** The fingerprint of the current version. */
  readonly fingerprint: string;
  readonly versions: Readonly<Record<string, VersionSnapshot>>;
  /** The object classes over this resource, by `namespace.name`. */
  readonly objects: readonly ObjectSnapshot[];
}

/** What a snapshot needs to know of an object class. */
export interface ObjectSnapshotSource {
  readonly namespace: string;
  readonly name: string;
  readonly resource: AnyResource;
  readonly methods: readonly string[];
}

/** JSON with object keys sorted, so equal content gives equal text on every platform. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

function fingerprint(value: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(value)).digest('hex')}`;
}

function describeField(field: Field): FieldSnapshot {
  const out: Record<string, SnapshotValue> = { kind: field.kind, nullable: field.isNullable };
  if (field.defaultValue !== undefined) out.default = field.defaultValue as SnapshotValue;
  if (field.isImmutable) out.immutable = true;
  if (field.max !== undefined) out.max = field.max;
  if (field.min !== undefined) out.min = field.min;
  if (field.pattern !== undefined) out.pattern = String(field.pattern);
  if (field.values !== undefined) out.values = [...field.values];
  if (field.of !== undefined) out.of = describeField(field.of);
  if (field.shape !== undefined) {
    const shape: Record<string, FieldSnapshot> = {};
    for (const [k, sub] of Object.entries(field.shape)) shape[k] = describeField(sub);
    out.shape = shape;
  }
  return out;
}

/** The data keys of an object's wire form at one version: system fields, then the version's fields. */
export function wireKeys(resource: AnyResource, version: string): string[] {
  const v = historyOf(resource).at(version);
  return v ? [...SYSTEM_FIELDS, ...v.fieldNames] : [];
}

/** The snapshot of a resource (and the object classes over it) as the code declares it now. */
export function snapshotResource(
  resource: AnyResource,
  objects: readonly ObjectSnapshotSource[] = [],
): ResourceSnapshot {
  const history = historyOf(resource);
  const versions: Record<string, VersionSnapshot> = {};
  for (const v of history.versions) {
    const entry = historyEntry(history, v.version);
    const fields: Record<string, FieldSnapshot> = {};
    for (const name of v.fieldNames) fields[name] = describeField(v.fields[name]!);
    const added: Record<string, string> = {};
    for (const a of v.added) added[a.field] = a.transform ? 'transform' : 'default';
    const content = {
      fields,
      indexes: v.indexes.map((i) => ({ field: i.field, kind: i.kind })),
      uniques: v.uniques.map((u) => [...u]),
      added,
      removed: [...v.removed],
      changed: [...v.changed],
      enumValues: v.enumValues,
    };
    versions[v.version] = {
      note: entry?.note ?? '',
      fingerprint: fingerprint(content),
      ...content,
    };
  }
  const objectSnapshots = objects
    .filter((o) => o.resource === resource)
    .map((o) => {
      const wire: Record<string, string[]> = {};
      for (const v of history.versions) wire[v.version] = wireKeys(resource, v.version);
      const body = {
        namespace: o.namespace,
        name: o.name,
        version: resource.version,
        methods: [...o.methods].sort(),
        wire,
      };
      return { ...body, fingerprint: fingerprint(body) };
    })
    .sort((a, b) => `${a.namespace}.${a.name}`.localeCompare(`${b.namespace}.${b.name}`));
  return {
    resource: resource.name,
    plural: resource.plural,
    scope: resource.scope,
    softDelete: resource.softDelete,
    version: resource.version,
    fingerprint: versions[resource.version]!.fingerprint,
    versions,
    objects: objectSnapshots,
  };
}

/** One difference between the code and a committed snapshot. */
export interface SnapshotProblem {
  readonly resource: string;
  /** What is wrong, in one line. */
  readonly message: string;
  /** Field-level differences, one line each (`- field.attr: old -> new`). */
  readonly diff: readonly string[];
}

const show = (v: unknown): string => (v === undefined ? '(none)' : JSON.stringify(v));

function diffFields(
  was: Readonly<Record<string, FieldSnapshot>>,
  now: Readonly<Record<string, FieldSnapshot>>,
  prefix = '',
): { lines: string[]; breaking: boolean } {
  const lines: string[] = [];
  let breaking = false;
  for (const name of new Set([...Object.keys(was), ...Object.keys(now)])) {
    const a = was[name];
    const b = now[name];
    if (!a) {
      lines.push(`+ field ${prefix}${name}: ${canonicalJson(b)}`);
      if (b!.default === undefined && b!.nullable !== true) breaking = true;
      continue;
    }
    if (!b) {
      lines.push(`- field ${prefix}${name} removed (was ${canonicalJson(a)})`);
      breaking = true;
      continue;
    }
    for (const attr of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (attr === 'shape' && a.shape && b.shape) {
        const sub = diffFields(
          a.shape as Record<string, FieldSnapshot>,
          b.shape as Record<string, FieldSnapshot>,
          `${prefix}${name}.`,
        );
        lines.push(...sub.lines);
        breaking ||= sub.breaking;
        continue;
      }
      if (canonicalJson(a[attr]) === canonicalJson(b[attr])) continue;
      lines.push(`~ field ${prefix}${name}.${attr}: ${show(a[attr])} -> ${show(b[attr])}`);
      const widenedEnum =
        attr === 'values' &&
        Array.isArray(a.values) &&
        (a.values as string[]).every((x) => (b.values as string[] | undefined)?.includes(x));
      // Widening what is accepted (a longer max, a lower min, null allowed, a new default)
      // is additive: a minor bump. Anything else changes what existing values mean.
      const num = (x: SnapshotValue | undefined) => (typeof x === 'number' ? x : undefined);
      const widened =
        widenedEnum ||
        attr === 'default' ||
        (attr === 'nullable' && b.nullable === true) ||
        (attr === 'max' && (num(b.max) === undefined || num(b.max)! > num(a.max)!)) ||
        (attr === 'min' && (num(b.min) === undefined || num(b.min)! < num(a.min)!));
      if (!widened) breaking = true;
    }
  }
  return { lines, breaking };
}

function diffVersion(
  was: VersionSnapshot,
  now: VersionSnapshot,
): { lines: string[]; breaking: boolean } {
  const { lines, breaking } = diffFields(was.fields, now.fields);
  const key = (x: unknown) => canonicalJson(x);
  const wasIdx = new Set(was.indexes.map(key));
  const nowIdx = new Set(now.indexes.map(key));
  for (const i of now.indexes)
    if (!wasIdx.has(key(i))) lines.push(`+ index ${i.field} (${i.kind})`);
  for (const i of was.indexes)
    if (!nowIdx.has(key(i))) lines.push(`- index ${i.field} (${i.kind})`);
  const wasU = new Set(was.uniques.map(key));
  const nowU = new Set(now.uniques.map(key));
  for (const u of now.uniques) if (!wasU.has(key(u))) lines.push(`+ unique (${u.join(', ')})`);
  for (const u of was.uniques) if (!nowU.has(key(u))) lines.push(`- unique (${u.join(', ')})`);
  for (const attr of ['added', 'removed', 'changed', 'enumValues'] as const) {
    if (key(was[attr]) !== key(now[attr]))
      lines.push(`~ history ${attr}: ${key(was[attr])} -> ${key(now[attr])}`);
  }
  return { lines, breaking };
}

/**
 * The differences between the code's snapshot of a resource and the committed one:
 * a version whose content changed after it was released, the current version changed
 * without a bump (with the bump it needs), versions not yet snapshotted, and object
 * wire forms that changed without a bump. Empty when they agree.
 */
export function compareSnapshots(
  code: ResourceSnapshot,
  committed: ResourceSnapshot | undefined,
): SnapshotProblem[] {
  const resource = code.resource;
  if (!committed) {
    return [
      { resource, message: 'has no committed snapshot: run `polystore schema snapshot`', diff: [] },
    ];
  }
  const problems: SnapshotProblem[] = [];
  for (const [version, was] of Object.entries(committed.versions)) {
    const now = code.versions[version];
    if (!now) {
      problems.push({
        resource,
        message: `version ${version} was released but is no longer in the history`,
        diff: [],
      });
      continue;
    }
    if (now.fingerprint === was.fingerprint) continue;
    const { lines, breaking } = diffVersion(was, now);
    const [major, minor] = version.split('.').map(Number) as [number, number];
    const bump = breaking ? `${major + 1}.0` : `${major}.${minor + 1}`;
    problems.push({
      resource,
      message:
        version === code.version && version === committed.version
          ? `changed without a version bump: declare the change in a new version ${bump} (${breaking ? 'major' : 'minor'})`
          : `version ${version} changed after it was released: put the change in a new version`,
      diff: lines,
    });
  }
  const unsnapshotted = Object.keys(code.versions).filter((v) => !(v in committed.versions));
  if (unsnapshotted.length > 0) {
    problems.push({
      resource,
      message: `version ${unsnapshotted.join(', ')} is not in the committed snapshot: run \`polystore schema snapshot\` and commit it`,
      diff: [],
    });
  }
  for (const was of committed.objects) {
    const now = code.objects.find((o) => o.namespace === was.namespace && o.name === was.name);
    if (!now) {
      problems.push({
        resource,
        message: `object ${was.namespace}.${was.name} is in the snapshot but not registered by the code`,
        diff: [],
      });
      continue;
    }
    if (now.fingerprint === was.fingerprint) continue;
    const diff: string[] = [];
    for (const [v, keys] of Object.entries(was.wire)) {
      if (key(now.wire[v]) !== key(keys))
        diff.push(`~ wire ${v}: ${key(keys)} -> ${key(now.wire[v])}`);
    }
    if (key(was.methods) !== key(now.methods))
      diff.push(`~ methods: ${key(was.methods)} -> ${key(now.methods)}`);
    if (was.version !== now.version) continue; // a bumped object with a new snapshot to commit
    problems.push({
      resource,
      message: `object ${was.namespace}.${was.name} ${was.version} wire form changed without a version bump`,
      diff,
    });
  }
  for (const now of code.objects) {
    if (!committed.objects.some((o) => o.namespace === now.namespace && o.name === now.name)) {
      problems.push({
        resource,
        message: `object ${now.namespace}.${now.name} is not in the committed snapshot: run \`polystore schema snapshot\``,
        diff: [],
      });
    }
  }
  return problems;
}

function key(x: unknown): string {
  return canonicalJson(x);
}
