import {
  ConflictError,
  DuplicateError,
  ExhaustedError,
  type FieldIssue,
  ForbiddenError,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  UnavailableError,
} from '@polystore/core';

/** The JSON body of every error response. */
export interface ProblemBody {
  readonly error: {
    /** Stable machine-readable code, e.g. `NOT_FOUND`. */
    readonly code: string;
    /** What went wrong, for people. */
    readonly message: string;
    /** The bad request fields, each named (validation errors only). */
    readonly fields?: readonly FieldIssue[];
  };
}

/** An error response: status, JSON body and extra headers. */
export interface Problem {
  readonly status: 400 | 403 | 404 | 409 | 500 | 503;
  readonly body: ProblemBody;
  readonly headers: Readonly<Record<string, string>>;
}

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * Maps any thrown value to the response the API gives for it. This is the only place
 * that knows the error classes: 400 validation, 403 forbidden, 404 not found, 409
 * duplicate/conflict/exhausted, 503 unavailable with `Retry-After`, anything else a 500
 * that says nothing about the internals.
 */
export function toProblem(err: unknown): Problem {
  if (err instanceof InvalidInputError) {
    return problem(400, err.code, err.message, err.issues);
  }
  if (err instanceof InvalidQueryError) {
    return problem(400, err.code, err.message, queryIssues(err.message));
  }
  if (err instanceof ForbiddenError) return problem(403, err.code, err.message);
  if (err instanceof NotFoundError) return problem(404, err.code, err.message);
  if (err instanceof DuplicateError) {
    return problem(
      409,
      err.code,
      err.message,
      err.fields.map((field) => ({ field, message: 'already taken' })),
    );
  }
  if (err instanceof ConflictError) return problem(409, err.code, err.message);
  if (err instanceof ExhaustedError) return problem(409, err.code, err.message);
  if (err instanceof UnavailableError) {
    return {
      ...problem(503, err.code, 'the store is unavailable; retry later'),
      headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
    };
  }
  return problem(500, 'INTERNAL', 'internal error');
}

function problem(
  status: Problem['status'],
  code: string,
  message: string,
  fields?: readonly FieldIssue[],
): Problem {
  return {
    status,
    body: { error: fields && fields.length > 0 ? { code, message, fields } : { code, message } },
    headers: {},
  };
}

/**
 * The query parameter an `InvalidQueryError` is about. Core names it in the message
 * (`instance: where.host: …`, `after: …`, `instance: limit must …`); the API's query
 * parameters have the same names as the filter fields.
 */
function queryIssues(message: string): FieldIssue[] {
  const field =
    /\bwhere\.([A-Za-z]+)/.exec(message)?.[1] ??
    /(?:^|: )(after):/.exec(message)?.[1] ??
    /: (limit) must/.exec(message)?.[1];
  return field === undefined ? [] : [{ field, message }];
}
