import { types } from 'node:util';
import { PLAIN_DATA_LIMITS } from '../plain-data.js';
import { type Field, isScalarKind } from './field.js';
import type { AnyResource } from './resource.js';
import type { ValidCreate } from './validate.js';
import {
  codePointLength,
  compareCodePoints,
  normaliseCidr,
  normaliseDatetime,
  normaliseIp,
} from './values.js';

/**
 * The fast path of validation. Most inputs are valid, and for them the two passes of the
 * exact path (the plain-data walk, then the zod parse) cost several µs per call. An
 * acceptor checks plain data and the field's rules in one walk of closures compiled once
 * per field, and returns the normalised value; on anything it does not accept it returns
 * {@link REFUSED} and says nothing more, and the caller runs the exact path, which finds and
 * words every issue. So an acceptor must accept only what the exact path accepts, and
 * return what it returns (fresh containers, dict keys in code point order, object fields in
 * declaration order, defaults as fresh copies); what it refuses costs one wasted walk.
 */
export const REFUSED: unique symbol = Symbol('refused');

/** Validates and normalises one value, or {@link REFUSED}. */
export type Acceptor = (value: unknown) => unknown;

/** Longest dict key, in code points. */
const MAX_KEY = 255;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Containers nest at most this deep in an accepted value (the plain-data pass's limit, less the record). */
const MAX_NESTING = PLAIN_DATA_LIMITS.maxDepth - 1;
/** The longest string the plain-data pass lets through at a datetime, ip or cidr field. */
const MAX_FORMATTED = 64;

/**
 * Values left to visit in the current input: the plain-data pass refuses an input of more
 * than `maxNodes` values however valid each is (a list of long lists). Acceptors run
 * synchronously and never call into the value, so one counter per call is enough.
 */
let budget = 0;

/** Counts `n` more values of the current input; `false` once they are too many. */
function spend(n: number): boolean {
  budget -= n;
  return budget >= 0;
}

/** Whether a string is text the schema allows anywhere: well-formed, without NUL. */
function goodText(s: string): boolean {
  return s.isWellFormed() && !s.includes('\u0000');
}

/**
 * Whether `v` is a plain object or a dense array: not a Proxy (whose traps any other
 * question would run) nor an instance of anything else.
 */
function isPlainContainer(v: object, isArray: boolean): boolean {
  if (types.isProxy(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return isArray ? proto === Array.prototype : proto === Object.prototype || proto === null;
}

/**
 * The keys of a plain object with at most `max` keys, each an enumerable data property
 * (so reading it runs no code of the object), or `undefined`: a Proxy, a class instance,
 * a symbol key, a non-enumerable property, an accessor, too many keys. `Object.keys` and
 * the two name counts cost half of `Reflect.ownKeys`, which V8 does not cache.
 */
function plainKeys(v: object, max: number): string[] | undefined {
  if (!isPlainContainer(v, false)) return undefined;
  const keys = Object.keys(v);
  const n = keys.length;
  if (n > max || !spend(n)) return undefined;
  if (Object.getOwnPropertyNames(v).length !== n || Object.getOwnPropertySymbols(v).length > 0)
    return undefined;
  for (const key of keys)
    if (!('value' in Object.getOwnPropertyDescriptor(v, key)!)) return undefined;
  return keys;
}

/**
 * Whether `v` is a plain array of at most `max` entries, each an enumerable data property:
 * not a Proxy or subclass, no holes, no keys besides its indices and `length`.
 */
function isPlainArray(v: unknown[], max: number): boolean {
  if (!isPlainContainer(v, true)) return false;
  const n = v.length;
  if (n > max || !spend(n)) return false;
  if (Object.getOwnPropertyNames(v).length !== n + 1 || Object.getOwnPropertySymbols(v).length > 0)
    return false;
  for (let i = 0; i < n; i++) {
    const desc = Object.getOwnPropertyDescriptor(v, i);
    if (!desc || !('value' in desc) || !desc.enumerable) return false;
  }
  return true;
}

const acceptors = new WeakMap<Field, Acceptor>();

/** The acceptor of one field's values (defaults are applied only inside objects). */
function acceptorFor(field: Field): Acceptor {
  let a = acceptors.get(field);
  if (!a) {
    a = nestingOf(field) > MAX_NESTING ? () => REFUSED : build(field);
    acceptors.set(field, a);
  }
  return a;
}

/** How many levels of containers a field's values can have. */
function nestingOf(field: Field): number {
  switch (field.kind) {
    case 'list':
    case 'dict':
      return 1 + nestingOf(field.of!);
    case 'object':
      return 1 + Math.max(0, ...Object.values(field.shape!).map(nestingOf));
    default:
      return 0;
  }
}

function build(field: Field): Acceptor {
  const inner = buildNonNull(field);
  return field.isNullable ? (v) => (v === null ? null : inner(v)) : inner;
}

function buildNonNull(field: Field): Acceptor {
  switch (field.kind) {
    case 'uuid':
      return (v) => (typeof v === 'string' && UUID.test(v) ? v : REFUSED);
    case 'string': {
      const max = field.max!;
      const pattern = field.pattern;
      return (v) =>
        typeof v === 'string' &&
        goodText(v) &&
        (v.length <= max || codePointLength(v) <= max) &&
        (!pattern || pattern.test(v))
          ? v
          : REFUSED;
    }
    case 'int': {
      const min = field.min ?? Number.MIN_SAFE_INTEGER;
      const max = field.max ?? Number.MAX_SAFE_INTEGER;
      return (v) =>
        Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? v : REFUSED;
    }
    case 'bool':
      return (v) => (typeof v === 'boolean' ? v : REFUSED);
    case 'enum': {
      const values = new Set<unknown>(field.values);
      return (v) => (values.has(v) ? v : REFUSED);
    }
    case 'datetime':
      return formatted(normaliseDatetime);
    case 'ip':
      return formatted(normaliseIp);
    case 'cidr':
      return formatted(normaliseCidr);
    case 'list':
      return listAcceptor(field);
    case 'dict':
      return dictAcceptor(field);
    case 'object':
      return objectAcceptor(field);
  }
}

function formatted(normalise: (s: string) => string | undefined): Acceptor {
  return (v) => {
    if (typeof v !== 'string' || v.length > MAX_FORMATTED) return REFUSED;
    return normalise(v) ?? REFUSED;
  };
}

function listAcceptor(field: Field): Acceptor {
  const max = field.max!;
  const of = acceptorFor(field.of!);
  return (v) => {
    if (!Array.isArray(v) || !isPlainArray(v, max)) return REFUSED;
    const out: unknown[] = [];
    for (let i = 0; i < v.length; i++) {
      const x = of(v[i]);
      if (x === REFUSED) return REFUSED;
      out.push(x);
    }
    return out;
  };
}

function dictAcceptor(field: Field): Acceptor {
  const max = field.max!;
  const of = acceptorFor(field.of!);
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return REFUSED;
    const keys = plainKeys(v, max);
    if (!keys) return REFUSED;
    const given = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    // Dicts are stored with keys in code point order on every backend.
    for (const key of keys.sort(compareCodePoints)) {
      if (
        key.length === 0 ||
        key === '__proto__' ||
        !goodText(key) ||
        (key.length > MAX_KEY && codePointLength(key) > MAX_KEY)
      )
        return REFUSED;
      const x = of(given[key]);
      if (x === REFUSED) return REFUSED;
      out[key] = x;
    }
    return out;
  };
}

function objectAcceptor(field: Field): Acceptor {
  const shape = field.shape!;
  const subs = Object.entries(shape).map(
    ([name, sub]) => [name, acceptorFor(sub), sub.defaultValue] as const,
  );
  const n = subs.length;
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return REFUSED;
    const keys = plainKeys(v, n);
    if (!keys || keys.some((key) => !Object.hasOwn(shape, key))) return REFUSED;
    const given = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [name, accept, dflt] of subs) {
      const e = Object.hasOwn(given, name) ? given[name] : undefined;
      if (e === undefined) {
        if (dflt === undefined) return REFUSED;
        out[name] = copyOfDefault(dflt);
        continue;
      }
      const x = accept(e);
      if (x === REFUSED) return REFUSED;
      out[name] = x;
    }
    return out;
  };
}

/**
 * A fresh copy of a field's default, as the exact path makes it (`structuredClone`): a
 * scalar is its own copy, and cloning one costs about a µs of serialising.
 */
function copyOfDefault(dflt: unknown): unknown {
  return typeof dflt === 'object' && dflt !== null ? structuredClone(dflt) : dflt;
}

/** Runs one acceptor on a whole input, with the plain-data pass's budget of values. */
export function acceptValue(field: Field, value: unknown): unknown {
  budget = PLAIN_DATA_LIMITS.maxNodes - 1;
  return acceptorFor(field)(value);
}

/** A resource's fields in declaration order, each with its acceptor and default. */
type Plan = readonly (readonly [name: string, accept: Acceptor, dflt: unknown])[];
const plans = new WeakMap<AnyResource, Plan>();

function planOf(resource: AnyResource): Plan {
  let plan = plans.get(resource);
  if (!plan) {
    plan = resource.fieldNames.map((name) => {
      const field = resource.fields[name]!;
      return [name, acceptorFor(field), field.defaultValue] as const;
    });
    plans.set(resource, plan);
  }
  return plan;
}

/**
 * The fast path of `validateCreate`: its result for a valid input, `undefined` for any
 * other (then the exact path says why).
 */
export function acceptCreate(resource: AnyResource, input: unknown): ValidCreate | undefined {
  const keys = rootKeys(input, resource.fieldNames.length + 2);
  if (!keys) return undefined;
  const given = input as Record<string, unknown>;
  let id: string | undefined;
  let projectId: string | null | undefined;
  const fields = resource.fields;
  for (const key of keys) {
    const v = given[key];
    if (key === 'id') {
      if (v !== undefined && !(typeof v === 'string' && UUID.test(v))) return undefined;
      id = v as string | undefined;
    } else if (key === 'projectId' && resource.scope !== 'global') {
      if (
        v !== undefined &&
        v !== null &&
        !(typeof v === 'string' && v.length > 0 && v.length <= 255 && goodText(v))
      )
        return undefined;
      projectId = v as string | null | undefined;
    } else if (!Object.hasOwn(fields, key)) return undefined;
  }
  const values: Record<string, unknown> = {};
  for (const [name, accept, dflt] of planOf(resource)) {
    if (!Object.hasOwn(given, name)) {
      if (dflt === undefined) return undefined;
      values[name] = copyOfDefault(dflt);
      continue;
    }
    const v = given[name];
    const x = v === undefined ? REFUSED : accept(v);
    if (x === REFUSED) return undefined;
    values[name] = x;
  }
  return { id, projectId, values };
}

/**
 * The fast path of `validatePatch`: its result for a valid patch, `undefined` for any
 * other (then the exact path says why).
 */
export function acceptPatch(
  resource: AnyResource,
  patch: unknown,
): Record<string, unknown> | undefined {
  const keys = rootKeys(patch, resource.fieldNames.length);
  if (!keys) return undefined;
  const given = patch as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const field = Object.hasOwn(resource.fields, key) ? resource.fields[key]! : undefined;
    const v = given[key];
    if (!field || field.isImmutable || v === undefined) return undefined;
    const x = acceptorFor(field)(v);
    if (x === REFUSED) return undefined;
    out[key] = x;
  }
  return out;
}

/**
 * The fast path of `validateExpected` (an update's `expected` option): its result for a
 * valid input, `undefined` for any other (then the exact path says why).
 */
export function acceptExpected(
  resource: AnyResource,
  expected: unknown,
): Record<string, readonly unknown[]> | undefined {
  const keys = rootKeys(expected, resource.fieldNames.length);
  if (!keys) return undefined;
  const given = expected as Record<string, unknown>;
  const out: Record<string, readonly unknown[]> = {};
  for (const key of keys) {
    const field = Object.hasOwn(resource.fields, key) ? resource.fields[key]! : undefined;
    if (!field || !isScalarKind(field.kind)) return undefined;
    const accept = acceptorFor(field);
    const raw = given[key];
    if (!Array.isArray(raw)) {
      const x = raw === undefined ? REFUSED : accept(raw);
      if (x === REFUSED) return undefined;
      out[key] = [x];
      continue;
    }
    if (raw.length === 0 || !isPlainArray(raw, 100)) return undefined;
    const list: unknown[] = [];
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i];
      const x = v === undefined ? REFUSED : accept(v);
      if (x === REFUSED) return undefined;
      list.push(x);
    }
    out[key] = list;
  }
  return out;
}

/**
 * The keys of a create input, patch or other plain input of at most `maxKeys` keys, as
 * {@link plainKeys}, starting the budget of values.
 */
export function rootKeys(input: unknown, maxKeys: number): string[] | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  budget = PLAIN_DATA_LIMITS.maxNodes - 1;
  return plainKeys(input, maxKeys);
}
