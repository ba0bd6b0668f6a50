import { z } from 'zod';
import { type FieldIssue, InvalidInputError } from '../errors.js';
import type { Field } from './field.js';
import { isScalarKind } from './field.js';
import type { AnyResource } from './resource.js';
import {
  codePointLength,
  isPlainObject,
  normaliseCidr,
  normaliseDatetime,
  normaliseIp,
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
        .pipe(record);
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

/** Validates one value against a field; returns the normalised value or pushes issues under `name`. */
export function checkValue(
  field: Field,
  value: unknown,
  name: string,
  issues: FieldIssue[],
): unknown {
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
): Record<string, unknown> {
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
  const obj = requirePlain(resource, input, 'values');
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
    values[name] = checkValue(field, v, name, issues);
  }
  if (issues.length > 0) throw new InvalidInputError(resource.name, issues);
  return { id, projectId, values };
}

/** Validates an update patch: a subset of the resource's own fields. Returns normalised values. */
export function validatePatch(resource: AnyResource, patch: unknown): Record<string, unknown> {
  const obj = requirePlain(resource, patch, 'patch');
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
    out[key] = checkValue(field, obj[key], key, issues);
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
  const obj = requirePlain(resource, expected, 'expected');
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
    out[key] = list.map((v, i) =>
      checkValue(field, v, Array.isArray(raw) ? `expected.${key}.${i}` : `expected.${key}`, issues),
    );
  }
  if (issues.length > 0) throw new InvalidInputError(resource.name, issues);
  return out;
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
