import { type FieldIssue, IncompatibleVersionError, InvalidInputError } from '../errors.js';
import { isOlder, sameMajor, upgradeFields, type VersionElements } from '../schema/history.js';
import type { ObjectSnapshotSource } from '../schema/history-snapshot.js';
import { historyOf, type RecordOf, SYSTEM_FIELDS } from '../schema/resource.js';
import { checkValue } from '../schema/validate.js';
import { deepFreeze, isPlainObject } from '../schema/values.js';
import type { AnyObjectClass } from './define-object.js';
import {
  markChanged,
  type ObjectPrimitive,
  type VersionedObject,
  type VersionManifest,
} from './versioned-object.js';

/** One version of a registered object: its class and the fields it has at that version. */
export interface RegisteredVersion {
  /** The class that speaks it (the code's one class per object). */
  readonly cls: AnyObjectClass;
  /** The version. */
  readonly version: string;
  /** The physical elements of that version, from the history. */
  readonly elements: VersionElements;
}

const PRIMITIVE_KEYS = ['name', 'version', 'namespace', 'data', 'changes'] as const;

/**
 * The object classes a process knows, by `namespace.name`: an instance, never a global,
 * so several can coexist (one per service in a test). Every version of every object in
 * the classes' histories is queryable; registering a name twice is an error; only
 * registered names hydrate from the wire.
 *
 * @example
 * ```ts
 * const registry = new ObjectRegistry().register(Instance);
 * registry.manifest(); // { 'compute.instance': '1.1' }
 * const copy = registry.fromPrimitive(JSON.parse(JSON.stringify(vm.toPrimitive('1.0'))));
 * ```
 */
export class ObjectRegistry {
  readonly #classes = new Map<string, AnyObjectClass>();

  /** Adds a class. `TypeError` if its `namespace.name` is already registered. Returns the registry. */
  register(...classes: readonly AnyObjectClass[]): this {
    for (const cls of classes) {
      if (this.#classes.has(cls.qualifiedName))
        throw new TypeError(`object ${cls.qualifiedName} is already registered`);
      this.#classes.set(cls.qualifiedName, cls);
    }
    return this;
  }

  /** The registered `namespace.name`s, sorted. */
  names(): string[] {
    return [...this.#classes.keys()].sort();
  }

  /** The class registered under `namespace.name`, or `undefined`. */
  classOf(qualifiedName: string): AnyObjectClass | undefined {
    return this.#classes.get(qualifiedName);
  }

  /** Every version of an object the code knows, oldest first (empty if not registered). */
  versions(qualifiedName: string): string[] {
    const cls = this.#classes.get(qualifiedName);
    return cls ? historyOf(cls.resource).versions.map((v) => v.version) : [];
  }

  /**
   * One version of an object: its class and fields. `IncompatibleVersionError` naming
   * both versions when the name is not registered or the version is not in its history.
   */
  get(qualifiedName: string, version?: string): RegisteredVersion {
    const cls = this.#classes.get(qualifiedName);
    if (!cls)
      throw new IncompatibleVersionError(qualifiedName, version ?? '?', 'none (not registered)');
    const v = version ?? cls.version;
    const elements = historyOf(cls.resource).at(v);
    if (!elements) throw new IncompatibleVersionError(qualifiedName, v, cls.version);
    return Object.freeze({ cls, version: v, elements });
  }

  /** Which version of each object this side speaks: a plain object to send to a peer. */
  manifest(): VersionManifest {
    const out: Record<string, string> = {};
    for (const name of this.names()) out[name] = this.#classes.get(name)!.version;
    return Object.freeze(out);
  }

  /** What schema snapshots need of each registered class. */
  snapshotSources(): ObjectSnapshotSource[] {
    return this.names().map((n) => {
      const cls = this.#classes.get(n)!;
      return {
        namespace: cls.namespace,
        name: cls.resource.name,
        resource: cls.resource,
        methods: cls.methodNames,
      };
    });
  }

  /**
   * An object from its wire form, at the class's version: an older primitive is
   * upgraded through the history (defaults, up-transforms), a newer minor one keeps the
   * fields this code knows (an enum value it does not know is refused). An unregistered
   * name, an unknown or newer major version is `IncompatibleVersionError`; a malformed
   * primitive or a bad value `InvalidInputError`. No coercion.
   */
  fromPrimitive(primitive: unknown): VersionedObject {
    const p = checkPrimitive(primitive);
    const qualified = `${p.namespace}.${p.name}`;
    const cls = this.#classes.get(qualified);
    if (!cls) throw new IncompatibleVersionError(qualified, p.version, 'none (not registered)');
    const resource = cls.resource;
    const history = historyOf(resource);
    let fields: Record<string, unknown> = { ...p.data };
    let newer = false;
    if (p.version !== cls.version) {
      if (isOlder(p.version, cls.version)) {
        if (!history.at(p.version))
          throw new IncompatibleVersionError(qualified, p.version, cls.version);
        fields = upgradeFields(qualified, history, fields, p.version, cls.version);
      } else if (!sameMajor(p.version, cls.version)) {
        throw new IncompatibleVersionError(qualified, p.version, cls.version);
      } else {
        newer = true;
      }
    }
    const issues: FieldIssue[] = [];
    const record: Record<string, unknown> = {};
    record.id = p.data.id;
    record.projectId = p.data.projectId ?? null;
    for (const name of resource.fieldNames) {
      const v = fields[name];
      if (v === undefined) {
        issues.push({ field: `data.${name}`, message: 'is missing' });
        continue;
      }
      const before = issues.length;
      record[name] = checkValue(resource.fields[name]!, v, `data.${name}`, issues);
      // A newer peer may hold an enum value this code does not know: a version problem, not bad input.
      if (newer && issues.length > before)
        throw new IncompatibleVersionError(qualified, p.version, cls.version);
    }
    for (const name of SYSTEM_FIELDS) {
      if (name === 'id' || name === 'projectId') continue;
      record[name] = p.data[name] ?? null;
    }
    checkMeta(p.data, issues);
    if (issues.length > 0) throw new InvalidInputError(resource.name, issues);
    const obj = new cls(deepFreeze(record) as RecordOf<typeof resource>) as VersionedObject;
    markChanged(obj, p.changes);
    return obj;
  }
}

/**
 * An object from its wire form, hydrated by a registry (see {@link ObjectRegistry.fromPrimitive}).
 *
 * @example
 * ```ts
 * const vm = fromPrimitive(JSON.parse(body), computeObjects) as InstanceObject;
 * ```
 */
export function fromPrimitive(primitive: unknown, registry: ObjectRegistry): VersionedObject {
  return registry.fromPrimitive(primitive);
}

function checkPrimitive(value: unknown): ObjectPrimitive {
  const issues: FieldIssue[] = [];
  if (!isPlainObject(value)) {
    throw new InvalidInputError('object', [
      { field: 'primitive', message: 'must be a plain object' },
    ]);
  }
  for (const key of Object.keys(value)) {
    if (!(PRIMITIVE_KEYS as readonly string[]).includes(key))
      issues.push({ field: key, message: 'unknown key of an object primitive' });
  }
  for (const key of ['name', 'version', 'namespace'] as const) {
    if (typeof value[key] !== 'string') issues.push({ field: key, message: 'must be a string' });
  }
  if (typeof value.version === 'string' && !/^\d+\.\d+$/.test(value.version))
    issues.push({ field: 'version', message: 'must be "major.minor"' });
  if (!isPlainObject(value.data)) issues.push({ field: 'data', message: 'must be a plain object' });
  if (!Array.isArray(value.changes) || value.changes.some((c) => typeof c !== 'string'))
    issues.push({ field: 'changes', message: 'must be a list of field names' });
  if (issues.length > 0) throw new InvalidInputError('object', issues);
  return value as unknown as ObjectPrimitive;
}

function checkMeta(data: Readonly<Record<string, unknown>>, issues: FieldIssue[]): void {
  const isText = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (!isText(data.id)) issues.push({ field: 'data.id', message: 'must be a record id' });
  if (!Number.isSafeInteger(data.revision) || (data.revision as number) < 1)
    issues.push({ field: 'data.revision', message: 'must be a positive integer' });
  for (const k of ['createdAt', 'updatedAt', 'objectVersion'] as const) {
    if (!isText(data[k])) issues.push({ field: `data.${k}`, message: 'must be a string' });
  }
}
