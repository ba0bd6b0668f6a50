/**
 * Errors on the wire: every class of `@polystore/core` with all its fields, so a caller of
 * a remote store catches exactly what a caller of a local one does.
 */
import {
  ConflictError,
  type ConflictReason,
  DuplicateError,
  errorClasses,
  FencedError,
  type FieldIssue,
  IncompatibleVersionError,
  InvalidInputError,
  NotFoundError,
  NotSupportedError,
  PolystoreError,
  SchemaBehindError,
  UnavailableError,
  UniqueViolationError,
  WriteBelowPinError,
} from '@polystore/core';

/** The JSON form of a polystore error. */
export interface WireError {
  /** The class name, a key of `errorClasses`. */
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly retriable: boolean;
  /** The class's own fields (`resource`, `id`, `currentRevision`, `issues`, ...). */
  readonly fields: Readonly<Record<string, unknown>>;
}

// The constructor fields of each class, in constructor order; the rest only carry a message.
const OWN_FIELDS: Readonly<Record<string, readonly string[]>> = {
  NotFoundError: ['resource', 'id'],
  DuplicateError: ['resource', 'fields'],
  UniqueViolationError: ['resource', 'fields', 'ids'],
  ConflictError: ['resource', 'id', 'currentRevision', 'reason', 'field'],
  InvalidInputError: ['resource', 'issues'],
  NotSupportedError: ['capability'],
  IncompatibleVersionError: ['resource', 'storedVersion', 'knownVersion'],
  SchemaBehindError: ['resource', 'missing', 'command'],
  FencedError: ['member', 'sinceHeartbeatMs'],
  WriteBelowPinError: ['resource', 'pin', 'version'],
};

/** The HTTP status a polystore error is answered with. */
export function statusOf(err: PolystoreError): 400 | 403 | 404 | 409 | 413 | 429 | 501 | 503 {
  switch (err.code) {
    case 'NOT_FOUND':
      return 404;
    case 'DUPLICATE':
    case 'CONFLICT':
    case 'EXHAUSTED':
    case 'INCOMPATIBLE_VERSION':
      return 409;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_SUPPORTED':
      return 501;
    case 'UNAVAILABLE':
      return 503;
    default:
      return 400;
  }
}

/** The wire form of an error; anything but a polystore error becomes a generic `UnavailableError`. */
export function encodeError(err: unknown): WireError {
  const e =
    err instanceof PolystoreError
      ? err
      : // An untyped error is a server bug or a driver failure: its text may carry internals
        // (SQL, paths), so only the fact crosses the wire.
        new UnavailableError('remote: the server failed to complete the call');
  const own = e as unknown as Record<string, unknown>;
  const fields: Record<string, unknown> = {};
  for (const k of OWN_FIELDS[e.name] ?? []) if (own[k] !== undefined) fields[k] = own[k];
  return { name: e.name, code: e.code, message: e.message, retriable: e.retriable, fields };
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

/**
 * The error a wire form stands for, rebuilt with its own class and fields. A form that
 * names no known class (a newer server, a proxy's page) is an `UnavailableError`.
 */
export function decodeError(w: unknown): PolystoreError {
  if (typeof w !== 'object' || w === null) {
    return new UnavailableError('remote: the server answered with an unreadable error');
  }
  const wire = w as Partial<WireError>;
  const f = (wire.fields ?? {}) as Record<string, unknown>;
  const message = str(wire.message ?? '');
  let err: PolystoreError;
  switch (wire.name) {
    case 'NotFoundError':
      err = new NotFoundError(str(f.resource), str(f.id));
      break;
    case 'DuplicateError':
      err = new DuplicateError(str(f.resource), (f.fields as string[] | undefined) ?? []);
      break;
    case 'UniqueViolationError':
      err = new UniqueViolationError(
        str(f.resource),
        (f.fields as string[] | undefined) ?? [],
        (f.ids as string[] | undefined) ?? [],
      );
      break;
    case 'ConflictError':
      err = new ConflictError(
        str(f.resource),
        str(f.id),
        Number(f.currentRevision),
        f.reason as ConflictReason,
        f.field === undefined ? undefined : str(f.field),
      );
      break;
    case 'InvalidInputError':
      err = new InvalidInputError(str(f.resource), (f.issues as FieldIssue[] | undefined) ?? []);
      break;
    case 'NotSupportedError':
      err = new NotSupportedError(str(f.capability));
      break;
    case 'IncompatibleVersionError':
      err = new IncompatibleVersionError(
        str(f.resource),
        str(f.storedVersion),
        str(f.knownVersion),
      );
      break;
    case 'WriteBelowPinError':
      err = new WriteBelowPinError(str(f.resource), str(f.pin), str(f.version));
      break;
    case 'FencedError':
      err = new FencedError(str(f.member), Number(f.sinceHeartbeatMs));
      break;
    case 'SchemaBehindError':
      err = new SchemaBehindError(
        str(f.resource),
        (f.missing as string[] | undefined) ?? [],
        str(f.command),
      );
      break;
    default: {
      const Cls = Object.hasOwn(errorClasses, wire.name ?? '')
        ? (errorClasses[wire.name as keyof typeof errorClasses] as unknown as new (
            m: string,
          ) => PolystoreError)
        : undefined;
      err = Cls
        ? new Cls(message)
        : new UnavailableError(`remote: unknown error ${str(wire.name)}: ${message}`);
    }
  }
  // The message is the server's exactly, even where the class derives it from the fields.
  if (err.message !== message && isKnownClass(wire.name)) {
    Object.defineProperty(err, 'message', { value: message, writable: true, configurable: true });
  }
  if (typeof wire.retriable === 'boolean' && wire.retriable !== err.retriable) {
    Object.defineProperty(err, 'retriable', { value: wire.retriable, enumerable: true });
  }
  return err;
}

function isKnownClass(name: unknown): boolean {
  return typeof name === 'string' && Object.hasOwn(errorClasses, name);
}
