import { z } from 'zod';
import { type FieldIssue, InvalidInputError } from '../errors.js';
import { type DataShape, findPlainDataIssue } from '../plain-data.js';
import { acceptCreate, acceptExpected, acceptPatch, acceptValue, REFUSED } from './accept.js';
import type { Field } from './field.js';
import { isScalarKind } from './field.js';
import type { AnyResource } from './resource.js';
import {
  codePointLength,
  isPlainObject,
  normaliseCidr,
  normaliseDatetime,
  normaliseIp,
  sortKeysByCodePoint,
} from './values.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_KEY = 255;

function goodText(s: string): string | undefined {
  if (!s.isWellFormed()) return 'must be valid Unicode (no lone surrogates)';
  if (s.includes('\u0000')) return 'must not contain NUL';
  return undefined;
}

const dictKey = z.string().superRefine((k, ctx) => {
  const bad = goodText(k);
  if (bad) ctx.addIssue({ code: 'custom', message: `key ${bad}` });
  else if (k.length === 0 || codePointLength(k) > MAX_KEY) {
    ctx.addIssue({ code: 'custom', message: `key must have 1 to ${MAX_KEY} characters` });
  } else if (k === '__proto__')
    ctx.addIssue({ code: 'custom', message: 'key __proto__ is reserved' });
});

const cache = new WeakMap<Field, z.ZodType>();

/** The zod schema that validates and normalises one field's values (defaults are not applied). */
export function zodFor(field: Field): z.ZodType {
  let s = cache.get(field);
  if (!s) {
    s = build(field);
    cache.set(field, s);
  }
  return s;
}

function build(field: Field): z.ZodType {
  let s: z.ZodType;
  switch (field.kind) {
    case 'uuid':
      s = z.string().regex(UUID, 'must be a lowercase UUID');
      break;
    case 'string': {
      const max = field.max!;
      const pattern = field.pattern;
      s = z.string().superRefine((v, ctx) => {
        const bad = goodText(v);
        if (bad) return void ctx.addIssue({ code: 'custom', message: bad });
        if (v.length > max && codePointLength(v) > max) {
          ctx.addIssue({ code: 'custom', message: `must be at most ${max} characters` });
        } else if (pattern && !pattern.test(v)) {
          ctx.addIssue({ code: 'custom', message: `must match ${pattern}` });
        }
      });
      break;
    }
    case 'int': {
      let i = z.int('must be a safe integer');
      if (field.min !== undefined) i = i.min(field.min, `must be at least ${field.min}`);
      if (field.max !== undefined) i = i.max(field.max, `must be at most ${field.max}`);
      s = i;
      break;
    }
    case 'bool':
      s = z.boolean('must be a boolean');
      break;
    case 'enum':
      s = z.enum(
        field.values as [string, ...string[]],
        `must be one of ${field.values!.join(', ')}`,
      );
      break;
    case 'datetime':
      s = normalised(
        normaliseDatetime,
        'must be an ISO 8601 timestamp with an offset, ms precision',
      );
      break;
    case 'ip':
      s = normalised(normaliseIp, 'must be an IPv4 or IPv6 address');
      break;
    case 'cidr':
      s = normalised(normaliseCidr, 'must be a network in address/prefix form with host bits zero');
      break;
    case 'list':
      s = z.array(zodFor(field.of!)).max(field.max!, `must have at most ${field.max} entries`);
      break;
    case 'dict': {
      const record = z
        .record(dictKey, zodFor(field.of!))
        .refine(
          (d) => Object.keys(d).length <= field.max!,
          `must have at most ${field.max} entries`,
        );
      // zod drops an own `__proto__` key silently; refuse it instead of losing data.
      s = z
        .unknown()
        .transform((v, ctx) => {
          if (isPlainObject(v) && Object.hasOwn(v, '__proto__')) {
            ctx.addIssue({ code: 'custom', message: 'key __proto__ is reserved' });
            return z.NEVER;
          }
          return v;
        })
        .pipe(record)
        // Dicts are stored with keys in code point order on every backend.
        .transform((d) => sortKeysByCodePoint(d as Record<string, unknown>));
      break;
    }
    case 'object': {
      const shape: Record<string, z.ZodType> = {};
      for (const [name, sub] of Object.entries(field.shape!)) {
        const inner = zodFor(sub);
        const dflt = sub.defaultValue;
        shape[name] = dflt === undefined ? inner : inner.default(() => structuredClone(dflt));
      }
      s = z.strictObject(shape);
      break;
    }
  }
  return field.isNullable ? s.nullable() : s;
}

function normalised(fn: (s: string) => string | undefined, message: string): z.ZodType<string> {
  return z.string(message).transform((v, ctx) => {
    const out = fn(v);
    if (out === undefined) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return out;
  });
}

function pathOf(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map(String)].join('.');
}

const shapes = new WeakMap<Field, DataShape>();
/** Unknown keys an object may carry past the size check, each then named by the parse. */
const UNKNOWN_KEYS = 32;

/**
 * The size limits of a field's values, for the cheap pass that runs before the parse:
 * entry counts of lists, dicts and objects, and a bound on string length in UTF-16 units
 * that any valid value keeps (a code point is at most two units).
 */
export function shapeOf(field: Field): DataShape {
  let shape = shapes.get(field);
  if (!shape) {
    shape = buildShape(field);
    shapes.set(field, shape);
  }
  return shape;
}

function buildShape(field: Field): DataShape {
  const entries = (max: number, of: Field) => ({
    maxEntries: max,
    tooMany: `must have at most ${max} entries`,
    child: () => shapeOf(of),
  });
  switch (field.kind) {
    case 'string':
      return { maxLength: 2 * field.max!, tooLong: `must be at most ${field.max} characters` };
    case 'uuid':
      return { maxLength: 36, tooLong: 'must be a lowercase UUID' };
    case 'enum':
      return {
        maxLength: Math.max(...field.values!.map((v) => v.length)),
        tooLong: `must be one of ${field.values!.join(', ')}`,
      };
    case 'datetime':
      return {
        maxLength: 64,
        tooLong: 'must be an ISO 8601 timestamp with an offset, ms precision',
      };
    case 'ip':
    case 'cidr':
      return {
        maxLength: 64,
        tooLong: `must be an ${field.kind === 'ip' ? 'IP address' : 'network'}`,
      };
    case 'list':
    case 'dict':
      return entries(field.max!, field.of!);
    case 'object': {
      const sub = field.shape!;
      const n = Object.keys(sub).length;
      return {
        // Room for a few unknown keys, so the parse can name each of them.
        maxEntries: n + UNKNOWN_KEYS,
        tooMany: `has far more keys than its ${n} fields`,
        child: (key) => (Object.hasOwn(sub, key) ? shapeOf(sub[key]!) : undefined),
      };
    }
    default:
      return {};
  }
}

/** The shape of a create input or patch: the resource's fields, plus `id` and `projectId`. */
function recordShape(resource: AnyResource): DataShape {
  const n = resource.fieldNames.length + 2;
  return {
    maxEntries: n + UNKNOWN_KEYS,
    tooMany: `has far more keys than the ${resource.name} resource has fields`,
    child: (key) =>
      Object.hasOwn(resource.fields, key)
        ? shapeOf(resource.fields[key]!)
        : key === 'id' || key === 'projectId'
          ? { maxLength: 255, tooLong: 'is too long' }
          : undefined,
  };
}

/**
 * The plain-data pass over one input, as a field issue: `undefined` when `value` is plain
 * data within the limits of `shape`. An issue of the value itself is named `name`; one
 * inside it by its path below `name` (`expected.taskState.0`), or, for the record-like
 * inputs whose fields are named bare (`values`, `patch`), by its path alone (`metadata.k`).
 */
export function plainDataIssue(
  value: unknown,
  name: string,
  shape?: DataShape,
  bare = false,
): FieldIssue | undefined {
  const found = findPlainDataIssue(value, '', shape);
  if (!found) return undefined;
  // Bare names only inside a record-like object: in an array given as `values`, `0` would name nothing.
  const inside = bare && isPlainObject(value) ? found.path : `${name}.${found.path}`;
  const field = found.path === '' ? name : inside;
  return { field, message: found.message };
}

/**
 * Refuses an input of `resource` that is not plain data or breaks a size limit, naming
 * it, before anything reads inside it.
 */
export function assertPlainInput(
  resource: AnyResource,
  value: unknown,
  name: string,
  shape?: DataShape,
  bare = false,
): void {
  const issue = plainDataIssue(value, name, shape, bare);
  if (issue) throw new InvalidInputError(resource.name, [issue]);
}

/** The non-nullable twin of each field, made once (its checkers are cached per field object). */
const NOT_NULL = new WeakMap<Field, Field>();

/**
 * `field` with `null` refused: a filter operand, a cursor value or a host name, whose
 * `null` means something else or nothing. The same object for every call with one field,
 * so what validation caches per field is built once.
 */
export function notNull<F extends Field>(field: F): F {
  if (!field.isNullable) return field;
  let twin = NOT_NULL.get(field);
  if (twin === undefined) {
    twin = { ...field, isNullable: false } as F;
    NOT_NULL.set(field, twin);
  }
  return twin as F;
}

/** Validates one value against a field; returns the normalised value or pushes issues under `name`. */
export function checkValue(
  field: Field,
  value: unknown,
  name: string,
  issues: FieldIssue[],
): unknown {
  const valid = value === undefined ? REFUSED : acceptValue(field, value);
  return valid === REFUSED ? exactValue(field, value, name, issues) : valid;
}

/**
 * {@link checkValue} without the fast path: the plain-data pass, then the parse that words
 * each issue. Exported for the tests that hold the fast path to it.
 */
export function exactValue(
  field: Field,
  value: unknown,
  name: string,
  issues: FieldIssue[],
): unknown {
  const odd = plainDataIssue(value, name, shapeOf(field));
  if (odd) {
    issues.push(odd);
    return undefined;
  }
  return parseValue(field, value, name, issues);
}

/** {@link checkValue} for a value the plain-data pass has already accepted. */
function parseValue(field: Field, value: unknown, name: string, issues: FieldIssue[]): unknown {
  if (value === undefined) {
    issues.push({ field: name, message: 'must not be undefined' });
    return undefined;
  }
  const r = zodFor(field).safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ field: pathOf(name, [...issue.path, key]), message: 'unknown field' });
      }
    } else {
      issues.push({ field: pathOf(name, issue.path), message: issue.message });
    }
  }
  return undefined;
}

function requirePlain(
  resource: AnyResource,
  input: unknown,
  what: string,
  shape?: DataShape,
): Record<string, unknown> {
  assertPlainInput(resource, input, what, shape, what === 'values' || what === 'patch');
  if (!isPlainObject(input)) {
    throw new InvalidInputError(resource.name, [
      { field: what, message: 'must be a plain object' },
    ]);
  }
  return input;
}

/** The validated, normalised input of a create: field values in declaration order (defaults applied). */
export interface ValidCreate {
  readonly id: string | undefined;
  readonly projectId: string | null | undefined;
  readonly values: Record<string, unknown>;
}

/**
 * Validates a create input. Fields left out get their default (a fresh copy); a required
 * field left out, an unknown field, or a bad value is an issue. Throws one
 * `InvalidInputError` naming every bad field.
 */
export function validateCreate(resource: AnyResource, input: unknown): ValidCreate {
  // Not valid, or not simply so: the exact path finds and words every issue.
  return acceptCreate(resource, input) ?? exactCreate(resource, input);
}

/** {@link validateCreate} without the fast path. Exported for the tests that hold the fast path to it. */
export function exactCreate(resource: AnyResource, input: unknown): ValidCreate {
  const obj = requirePlain(resource, input, 'values', recordShape(resource));
  const issues: FieldIssue[] = [];
  const values: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (key === 'id' || (key === 'projectId' && resource.scope !== 'global')) continue;
    if (!Object.hasOwn(resource.fields, key)) issues.push({ field: key, message: 'unknown field' });
  }
  let id: string | undefined;
  if (obj.id !== undefined) {
    if (typeof obj.id === 'string' && UUID.test(obj.id)) id = obj.id;
    else issues.push({ field: 'id', message: 'must be a lowercase UUID' });
  }
  let projectId: string | null | undefined;
  if (obj.projectId !== undefined && resource.scope !== 'global') {
    const p = obj.projectId;
    if (p === null || (typeof p === 'string' && p.length > 0 && p.length <= 255 && !goodText(p))) {
      projectId = p;
    } else {
      issues.push({
        field: 'projectId',
        message: 'must be null or a non-empty string of at most 255 characters',
      });
    }
  }
  for (const name of resource.fieldNames) {
    const field = resource.fields[name]!;
    const v = obj[name];
    if (v === undefined && !Object.hasOwn(obj, name)) {
      if (field.defaultValue === undefined) issues.push({ field: name, message: 'is required' });
      else values[name] = structuredClone(field.defaultValue);
      continue;
    }
    values[name] = parseValue(field, v, name, issues);
  }
  if (issues.length > 0) throw new InvalidInputError(resource.name, issues);
  return { id, projectId, values };
}

/** Validates an update patch: a subset of the resource's own fields. Returns normalised values. */
export function validatePatch(resource: AnyResource, patch: unknown): Record<string, unknown> {
  return acceptPatch(resource, patch) ?? exactPatch(resource, patch);
}

/** {@link validatePatch} without the fast path. Exported for the tests that hold the fast path to it. */
export function exactPatch(resource: AnyResource, patch: unknown): Record<string, unknown> {
  const obj = requirePlain(resource, patch, 'patch', recordShape(resource));
  const issues: FieldIssue[] = [];
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    const field = Object.hasOwn(resource.fields, key) ? resource.fields[key] : undefined;
    if (!field) {
      issues.push({ field: key, message: 'unknown or read-only field' });
      continue;
    }
    if (field.isImmutable) {
      issues.push({ field: key, message: 'cannot be changed after create' });
      continue;
    }
    out[key] = parseValue(field, obj[key], key, issues);
  }
  if (issues.length > 0) throw new InvalidInputError(resource.name, issues);
  return out;
}

/**
 * Validates the `expected` option of an update: each key a scalar field of the resource,
 * each value one allowed value or a list of them. Returns lists.
 */
export function validateExpected(
  resource: AnyResource,
  expected: unknown,
): Record<string, readonly unknown[]> {
  return acceptExpected(resource, expected) ?? exactExpected(resource, expected);
}

/** {@link validateExpected} without the fast path. Exported for the tests that hold the fast path to it. */
export function exactExpected(
  resource: AnyResource,
  expected: unknown,
): Record<string, readonly unknown[]> {
  const obj = requirePlain(resource, expected, 'expected', expectedShape(resource));
  const issues: FieldIssue[] = [];
  const out: Record<string, unknown[]> = {};
  for (const key of Object.keys(obj)) {
    const field = Object.hasOwn(resource.fields, key) ? resource.fields[key] : undefined;
    if (!field || !isScalarKind(field.kind)) {
      issues.push({
        field: `expected.${key}`,
        message: 'must name a scalar field of the resource',
      });
      continue;
    }
    const raw = obj[key];
    const list = Array.isArray(raw) ? raw : [raw];
    if (list.length === 0 || list.length > 100) {
      issues.push({ field: `expected.${key}`, message: 'must list 1 to 100 values' });
      continue;
    }
    out[key] = list.map((v, i) => {
      const valid = v === undefined ? REFUSED : acceptValue(field, v);
      if (valid !== REFUSED) return valid;
      const name = Array.isArray(raw) ? `expected.${key}.${i}` : `expected.${key}`;
      return parseValue(field, v, name, issues);
    });
  }
  if (issues.length > 0) throw new InvalidInputError(resource.name, issues);
  return out;
}

/** The shape of `expected`: per field, one value or a list of at most 100. */
function expectedShape(resource: AnyResource): DataShape {
  return {
    maxEntries: resource.fieldNames.length + UNKNOWN_KEYS,
    tooMany: `has far more keys than the ${resource.name} resource has fields`,
    child: (key) => {
      if (!Object.hasOwn(resource.fields, key)) return undefined;
      const one = shapeOf(resource.fields[key]!);
      return { ...one, maxEntries: 100, tooMany: 'must list 1 to 100 values', child: () => one };
    },
  };
}

/** Validates a record id argument. */
export function validateId(resource: AnyResource, id: unknown, name = 'id'): string {
  if (typeof id === 'string' && UUID.test(id)) return id;
  throw new InvalidInputError(resource.name, [
    { field: name, message: 'must be a lowercase UUID' },
  ]);
}

/** Whether a string is a lowercase canonical UUID. */
export function isUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID.test(v);
}
