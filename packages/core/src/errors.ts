/**
 * The typed errors every store raises, whatever the backend.
 *
 * Adapters map their driver's errors onto these in one place (`errors.ts` of each
 * adapter); a driver error never reaches service code untyped.
 *
 * @example
 * ```ts
 * try {
 *   await stores.instances.update(ctx, id, { taskState: 'spawning' }, { expected: { taskState: [null] } });
 * } catch (err) {
 *   if (err instanceof ConflictError) console.log('lost the race at revision', err.currentRevision);
 *   else throw err;
 * }
 * ```
 */
export abstract class PolystoreError extends Error {
  /** Stable machine-readable code, e.g. `NOT_FOUND`. */
  abstract readonly code: string;
  /** Whether the same call may succeed if retried unchanged. */
  readonly retriable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The record does not exist, or is not visible to the calling context. */
export class NotFoundError extends PolystoreError {
  readonly code = 'NOT_FOUND';
  constructor(
    /** The resource name, e.g. `instance`. */
    readonly resource: string,
    /** The id that was asked for. */
    readonly id: string,
  ) {
    super(`${resource} ${JSON.stringify(id)} not found`);
  }
}

/** A unique constraint among live records would be broken. */
export class DuplicateError extends PolystoreError {
  readonly code = 'DUPLICATE';
  constructor(
    readonly resource: string,
    /** The fields of the violated unique constraint (`['id']` for a taken id). */
    readonly fields: readonly string[],
  ) {
    super(`${resource} with the same ${fields.join(', ')} already exists`);
  }
}

/**
 * Adding a unique constraint (a backend's `expand`) was refused because live records
 * already hold the same values: nothing was changed. A {@link DuplicateError} (code
 * `DUPLICATE`, so callers that catch duplicates catch it too) that also names the
 * clashing records, so an operator can fix them and expand again.
 *
 * @example
 * ```ts
 * try {
 *   await backend.expand?.(gadget, { ...NO_ELEMENTS, uniques: [['label']] });
 * } catch (err) {
 *   if (err instanceof UniqueViolationError) console.log('fix these first:', err.ids);
 *   else throw err;
 * }
 * ```
 */
export class UniqueViolationError extends DuplicateError {
  constructor(
    resource: string,
    fields: readonly string[],
    /** The ids of every live record that shares its values with another, sorted. */
    readonly ids: readonly string[],
  ) {
    super(resource, fields);
    const shown = ids.slice(0, 10).join(', ') + (ids.length > 10 ? `, ... (${ids.length})` : '');
    this.message = `${resource}: cannot add unique constraint (${fields.join(', ')}): live records already share values: ${shown}`;
  }
}

/** Why a conditional write was refused. */
export type ConflictReason = 'revision' | 'expected';

/** A conditional write found the record in another state than the caller expected. */
export class ConflictError extends PolystoreError {
  readonly code = 'CONFLICT';
  constructor(
    readonly resource: string,
    readonly id: string,
    /** The revision the record has now. */
    readonly currentRevision: number,
    /** `revision` when `expectedRevision` did not match, `expected` when a field value did not. */
    readonly reason: ConflictReason,
    /** For `expected`: the first field whose value was not among the expected ones. */
    readonly field?: string,
  ) {
    super(
      reason === 'revision'
        ? `${resource} ${JSON.stringify(id)} is at revision ${currentRevision}, not the expected one`
        : `${resource} ${JSON.stringify(id)} field ${field ?? '?'} does not have an expected value (revision ${currentRevision})`,
    );
  }
}

/** One bad field of an input. */
export interface FieldIssue {
  /** Dotted path of the field, e.g. `flavor.vcpus` or `metadata`. */
  readonly field: string;
  /** What is wrong with it. */
  readonly message: string;
}

/** The input failed validation; nothing was written. */
export class InvalidInputError extends PolystoreError {
  readonly code = 'INVALID_INPUT';
  constructor(
    readonly resource: string,
    /** Every bad field, each named. */
    readonly issues: readonly FieldIssue[],
  ) {
    super(`invalid ${resource} input: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`);
  }

  /** The names of the bad fields. */
  get fields(): string[] {
    return this.issues.map((i) => i.field);
  }
}

/** A `list`/`count` query uses a field that is not indexed, a bad operator, limit or cursor. */
export class InvalidQueryError extends PolystoreError {
  readonly code = 'INVALID_QUERY';
}

/** The calling context may not do this (e.g. a non-admin purging, or writing a global resource). */
export class ForbiddenError extends PolystoreError {
  readonly code = 'FORBIDDEN';
}

/** No free value is left (e.g. no free address in a network). */
export class ExhaustedError extends PolystoreError {
  readonly code = 'EXHAUSTED';
}

/** The backend is unreachable, timed out or shut down. Retrying later may succeed. */
export class UnavailableError extends PolystoreError {
  readonly code = 'UNAVAILABLE';
  override readonly retriable = true;
}

/**
 * This process may not write now: it is a member of a fleet under a live upgrade and its
 * lease lapsed (it could not heartbeat within the lease window), so the fleet may already
 * have moved on without it. Writes are refused until its next heartbeat succeeds; reads
 * still work. Retriable, like any `UnavailableError`.
 */
export class FencedError extends UnavailableError {
  constructor(
    /** Who is fenced, e.g. `compute-api@host-1:4211`. */
    readonly member: string,
    /** Milliseconds since the last heartbeat the fleet acknowledged. */
    readonly sinceHeartbeatMs: number,
  ) {
    super(
      `${member} is fenced: its last acknowledged heartbeat was ${sinceHeartbeatMs} ms ago, past its lease; writes are refused until a heartbeat succeeds`,
    );
  }
}

/**
 * The store refused a write at an object version older than the fleet's pin (the write
 * floor a live upgrade set once every live process had moved on): it came from a process
 * the fleet left behind, e.g. one paused past its lease. Nothing was written. A process
 * of a release that knows the pin recovers at its next heartbeat; an older release must
 * be stopped.
 */
export class WriteBelowPinError extends UnavailableError {
  constructor(
    /** The resource written. */
    readonly resource: string,
    /** The lowest object version the store accepts writes at. */
    readonly pin: string,
    /** The version of the refused write. */
    readonly version: string,
  ) {
    super(
      `${resource}: the store accepts writes at object version ${pin} or newer (the fleet's pin); a write at ${version} was refused and nothing was written: this process was left behind by a live upgrade`,
    );
  }
}

/** The adapter declared this capability off in its manifest and refuses it. */
export class NotSupportedError extends PolystoreError {
  readonly code = 'NOT_SUPPORTED';
  constructor(
    /** The capability name from the adapter's manifest. */
    readonly capability: string,
  ) {
    super(`not supported by this adapter: ${capability}`);
  }
}

/** A stored record was written by a newer schema version than this code knows. */
export class IncompatibleVersionError extends PolystoreError {
  readonly code = 'INCOMPATIBLE_VERSION';
  constructor(
    readonly resource: string,
    readonly storedVersion: string,
    readonly knownVersion: string,
  ) {
    super(
      `${resource} record is at object version ${storedVersion}, newer than ${knownVersion} known by this code`,
    );
  }
}

/** A store URL or adapter option is malformed, or names no registered adapter. */
export class ConfigError extends PolystoreError {
  readonly code = 'CONFIG';
}

/**
 * The store lacks schema elements (fields, indexes, unique constraints) that this code's
 * definition of a resource needs: newer code opened a store nobody expanded yet. Raised by
 * `openStores` before any call is served, so no write lands in a layout the code cannot
 * keep. Nothing was changed; expand the store (`polystore schema expand <url>`, or
 * `backend.expand`) and open again. Older code on a store newer code expanded is fine.
 *
 * @example
 * ```ts
 * try {
 *   stores = await openStores(url, { resources: [gadget] });
 * } catch (err) {
 *   if (err instanceof SchemaBehindError) console.error(err.resource, 'lacks', err.missing);
 *   throw err;
 * }
 * ```
 */
export class SchemaBehindError extends ConfigError {
  constructor(
    /** The resource whose definition needs the elements. */
    readonly resource: string,
    /** The missing elements, e.g. `field color`, `index color (equality)`, `unique (label)`. */
    readonly missing: readonly string[],
    /** The command that adds them, shown in the message. */
    readonly command = 'polystore schema expand <store-url> --module <your resources module>',
  ) {
    super(
      `${resource}: the store lacks ${missing.length === 1 ? 'an element' : `${missing.length} elements`} this code's definition needs: ${missing.join(', ')}; nothing was changed. Add ${missing.length === 1 ? 'it' : 'them'} first: ${command}`,
    );
  }
}

/** Every error class polystore raises, by name, for adapters and the conformance suite. */
export const errorClasses = {
  NotFoundError,
  DuplicateError,
  UniqueViolationError,
  ConflictError,
  InvalidInputError,
  InvalidQueryError,
  ForbiddenError,
  ExhaustedError,
  UnavailableError,
  FencedError,
  WriteBelowPinError,
  NotSupportedError,
  IncompatibleVersionError,
  ConfigError,
  SchemaBehindError,
} as const;
