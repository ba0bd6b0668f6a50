import { inspect, isDeepStrictEqual } from 'node:util';
import { PolystoreError } from '@polystore/core';

/** An error reduced to what two adapters must agree on: its class and key fields. */
export interface ErrorSummary {
  /** Class name, or `untyped Error` for anything not a polystore error. */
  readonly name: string;
  readonly [field: string]: unknown;
}

/** What a call did: resolved with a value, or rejected with an error. */
export type Outcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: ErrorSummary };

const KEY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  NotFoundError: ['resource', 'id'],
  DuplicateError: ['resource', 'fields'],
  ConflictError: ['resource', 'id', 'currentRevision', 'reason', 'field'],
  InvalidInputError: ['resource', 'fields'],
  NotSupportedError: ['capability'],
  IncompatibleVersionError: ['resource', 'storedVersion', 'knownVersion'],
};

/** Reduces a thrown value to its class and the fields adapters must agree on. */
export function summariseError(err: unknown): ErrorSummary {
  if (!(err instanceof PolystoreError)) {
    const message = err instanceof Error ? err.message : inspect(err);
    return { name: 'untyped Error', message, untyped: true };
  }
  const out: Record<string, unknown> = { name: err.constructor.name };
  for (const k of KEY_FIELDS[err.constructor.name] ?? []) {
    const v = (err as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = Array.isArray(v) ? [...v] : v;
  }
  return out as ErrorSummary;
}

/** Whether an outcome is an error that is not one of polystore's typed errors. */
export function isUntyped(o: Outcome): boolean {
  return !o.ok && o.error.untyped === true;
}

/** Awaits a call and captures its outcome; a synchronous throw counts like a rejection. */
export async function settle(call: () => unknown): Promise<Outcome> {
  try {
    return { ok: true, value: await call() };
  } catch (err) {
    return { ok: false, error: summariseError(err) };
  }
}

// A list cursor is `c2.<position>.<tag>`; the tag is an HMAC under the store's own cursor
// key, which the adapter and the reference model never share. Their positions must agree.
const CURSOR_TAG = /^(c\d+\.[A-Za-z0-9_-]*)\.[A-Za-z0-9_-]+$/;

function positionsOnly(o: Outcome): Outcome {
  if (!o.ok) return o;
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    const page = v as { items?: unknown; next?: unknown } | null;
    if (typeof page !== 'object' || page === null || typeof page.next !== 'string') return v;
    if (!('items' in page)) return v;
    return { ...page, next: page.next.replace(CURSOR_TAG, '$1') };
  };
  return { ok: true, value: strip(o.value) };
}

/** Whether two outcomes agree exactly (records deep-equal, errors by class and key fields, cursors by position). */
export function sameOutcome(a: Outcome, b: Outcome): boolean {
  if (isUntyped(a) || isUntyped(b)) return false;
  return isDeepStrictEqual(positionsOnly(a), positionsOnly(b));
}

/** A short readable form of an outcome for reports. */
export function showOutcome(o: Outcome): string {
  if (o.ok) return `ok ${show(o.value)}`;
  const { name, untyped, ...rest } = o.error;
  const fields = Object.keys(rest).length > 0 ? ` ${show(rest)}` : '';
  return `${untyped ? 'UNTYPED ' : ''}${name}${fields}`;
}

/** Compact JSON-ish text of a value, long values cut. */
export function show(v: unknown, max = 600): string {
  const s = inspect(v, {
    depth: 6,
    breakLength: Number.POSITIVE_INFINITY,
    maxStringLength: 80,
    maxArrayLength: 20,
  });
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function idsOf(v: unknown): string[] | undefined {
  const items = Array.isArray(v) ? v : (v as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return undefined;
  return items.map((r) => String((r as { id?: unknown } | null)?.id ?? '?').slice(-4));
}

/** The first difference between two outcomes, in one short line. */
export function diffOutcomes(expected: Outcome, actual: Outcome): string {
  if (!expected.ok || !actual.ok)
    return `expected ${showOutcome(expected)}, got ${showOutcome(actual)}`;
  const a = idsOf(expected.value);
  const b = idsOf(actual.value);
  if (a && b && a.join() !== b.join()) return `expected ids [${a.join(' ')}], got [${b.join(' ')}]`;
  const walk = (x: unknown, y: unknown, path: string): string | undefined => {
    if (isDeepStrictEqual(x, y)) return undefined;
    if (
      typeof x === 'object' &&
      x !== null &&
      typeof y === 'object' &&
      y !== null &&
      Array.isArray(x) === Array.isArray(y)
    ) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) {
        const d = walk(
          (x as Record<string, unknown>)[k],
          (y as Record<string, unknown>)[k],
          path ? `${path}.${k}` : k,
        );
        if (d) return d;
      }
      return `${path || 'value'}: same content, different shape (a class instance or a prototype?)`;
    }
    return `${path || 'value'}: expected ${show(x, 160)}, got ${show(y, 160)}`;
  };
  return walk(expected.value, actual.value, '') ?? 'the outcomes differ';
}
