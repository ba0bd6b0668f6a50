import {
  type FieldIssue,
  InvalidInputError,
  isPlainObject,
  isUuid,
  MAX_LIMIT,
} from '@polystore/core';

/** How one query parameter is read. */
export type QueryParamKind =
  /** A string. */
  | 'string'
  /** A string, or the literal `null` for "no value". */
  | 'nullable-string'
  /** A lowercase UUID. */
  | 'uuid'
  /** A lowercase UUID, or the literal `null`. */
  | 'nullable-uuid'
  /** A page size, 1 to {@link MAX_LIMIT}. */
  | 'limit';

/** The value a {@link QueryParamKind} reads to. */
type ValueOf<K extends QueryParamKind> = K extends 'limit'
  ? number
  : K extends 'nullable-string' | 'nullable-uuid'
    ? string | null
    : string;

/** Parsed query parameters, each absent when not given. */
export type QueryValues<S extends Record<string, QueryParamKind>> = {
  [K in keyof S]?: ValueOf<S[K]>;
};

/**
 * Reads the query string by a spec of the accepted parameters. An unknown, repeated or
 * malformed parameter is an `InvalidInputError` naming it; nothing is coerced silently.
 */
export function parseQuery<const S extends Record<string, QueryParamKind>>(
  url: string,
  spec: S,
): QueryValues<S> {
  const params = new URL(url).searchParams;
  const issues: FieldIssue[] = [];
  const out: Record<string, unknown> = {};
  for (const name of new Set(params.keys())) {
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    const values = params.getAll(name);
    if (kind === undefined) {
      issues.push({
        field: name,
        message: `unknown query parameter (accepted: ${Object.keys(spec).join(', ')})`,
      });
    } else if (values.length > 1) {
      issues.push({ field: name, message: 'must be given once' });
    } else {
      const value = readParam(kind, values[0]!);
      if (value instanceof Error) issues.push({ field: name, message: value.message });
      else out[name] = value;
    }
  }
  if (issues.length > 0) throw new InvalidInputError('request', issues);
  return out as QueryValues<S>;
}

function readParam(kind: QueryParamKind, raw: string): string | number | null | Error {
  if ((kind === 'nullable-string' || kind === 'nullable-uuid') && raw === 'null') return null;
  switch (kind) {
    case 'limit':
      return /^[1-9][0-9]{0,3}$/.test(raw) && Number(raw) <= MAX_LIMIT
        ? Number(raw)
        : new Error(`must be an integer from 1 to ${MAX_LIMIT}`);
    case 'uuid':
    case 'nullable-uuid':
      return isUuid(raw)
        ? raw
        : new Error(`must be a lowercase UUID${kind === 'uuid' ? '' : ' or null'}`);
    default:
      return raw;
  }
}

/**
 * Parses a JSON request body that must be an object with only the given keys. A body
 * that is not JSON, not an object, or has unknown keys is an `InvalidInputError`.
 */
export function parseBody(text: string, allowed: readonly string[]): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new InvalidInputError('request', [{ field: 'body', message: 'must be valid JSON' }]);
  }
  if (!isPlainObject(body)) {
    throw new InvalidInputError('request', [{ field: 'body', message: 'must be a JSON object' }]);
  }
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      'request',
      unknown.map((field) => ({
        field,
        message: `unknown field (accepted: ${allowed.join(', ')})`,
      })),
    );
  }
  return body;
}

/** Throws an `InvalidInputError` naming each required field missing from `body`. */
export function requireFields(body: Record<string, unknown>, required: readonly string[]): void {
  const missing = required.filter((k) => body[k] === undefined);
  if (missing.length > 0) {
    throw new InvalidInputError(
      'request',
      missing.map((field) => ({ field, message: 'is required' })),
    );
  }
}
