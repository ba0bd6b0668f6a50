import { InvalidInputError } from './errors.js';
import { findPlainDataIssue } from './plain-data.js';

/** Which soft-deleted records a read sees. */
export type ReadDeleted = 'no' | 'yes' | 'only';

/**
 * Who is calling: required on every store call.
 *
 * A non-admin context sees only its own project's records (and shared ones where the
 * resource has them); an admin context sees every project.
 */
export interface RequestContext {
  /** The caller's project; `null` only for admin contexts acting across projects. */
  readonly projectId: string | null;
  /** The calling user, for audit. */
  readonly userId: string | null;
  /** Admin contexts see and change every project's records. */
  readonly isAdmin: boolean;
  /** Which soft-deleted records reads return. Default `no`. */
  readonly readDeleted: ReadDeleted;
}

const READ_DELETED: readonly ReadDeleted[] = ['no', 'yes', 'only'];
const MAX_ID = 255;

function isGoodId(v: unknown): v is string {
  return (
    typeof v === 'string' &&
    v.length > 0 &&
    v.length <= MAX_ID &&
    v.isWellFormed() &&
    !v.includes('\u0000')
  );
}

/**
 * Builds a frozen, validated request context.
 *
 * @example
 * ```ts
 * const ctx = createContext({ projectId: 'p1', userId: 'u1' });
 * const admin = createContext({ isAdmin: true });
 * ```
 */
export function createContext(init: {
  projectId?: string | null;
  userId?: string | null;
  isAdmin?: boolean;
  readDeleted?: ReadDeleted;
}): RequestContext {
  const ctx: RequestContext = {
    projectId: init.projectId ?? null,
    userId: init.userId ?? null,
    isAdmin: init.isAdmin ?? false,
    readDeleted: init.readDeleted ?? 'no',
  };
  assertContext(ctx);
  return Object.freeze(ctx);
}

/** The same context with another `readDeleted` mode. */
export function withReadDeleted(ctx: RequestContext, readDeleted: ReadDeleted): RequestContext {
  return createContext({ ...ctx, readDeleted });
}

/** An admin context (all projects). */
export function adminContext(
  init: { userId?: string; readDeleted?: ReadDeleted } = {},
): RequestContext {
  return createContext({ ...init, isAdmin: true });
}

/**
 * Contexts that passed {@link assertContext} and are frozen (as `createContext` makes
 * them): plain data that cannot change, so they pass every later check too.
 */
const CHECKED = new WeakSet<object>();

/**
 * Throws `InvalidInputError` (resource `context`) unless `ctx` is a well-formed context.
 * A frozen context is checked once (every store call asserts its context).
 */
export function assertContext(ctx: unknown): asserts ctx is RequestContext {
  if (typeof ctx === 'object' && ctx !== null && CHECKED.has(ctx)) return;
  const issues: { field: string; message: string }[] = [];
  if (typeof ctx !== 'object' || ctx === null) {
    throw new InvalidInputError('context', [
      { field: 'ctx', message: 'a request context is required' },
    ]);
  }
  // Before reading a field: a Proxy or getter must not run code on every store call.
  const odd = findPlainDataIssue(ctx, 'ctx', { maxEntries: 64, tooMany: 'has too many keys' });
  if (odd) throw new InvalidInputError('context', [{ field: odd.path, message: odd.message }]);
  const c = ctx as Record<string, unknown>;
  if (typeof c.isAdmin !== 'boolean')
    issues.push({ field: 'isAdmin', message: 'must be a boolean' });
  if (c.projectId !== null && !isGoodId(c.projectId)) {
    issues.push({
      field: 'projectId',
      message: 'must be null or a non-empty string of at most 255 characters',
    });
  }
  if (c.userId !== null && c.userId !== undefined && !isGoodId(c.userId)) {
    issues.push({
      field: 'userId',
      message: 'must be null or a non-empty string of at most 255 characters',
    });
  }
  if (!READ_DELETED.includes(c.readDeleted as ReadDeleted)) {
    issues.push({ field: 'readDeleted', message: "must be 'no', 'yes' or 'only'" });
  }
  if (c.isAdmin === false && c.projectId === null) {
    issues.push({ field: 'projectId', message: 'a non-admin context needs a project' });
  }
  if (issues.length > 0) throw new InvalidInputError('context', issues);
  // Plain data (no Proxy, no getter: checked above), so frozen means it cannot change.
  if (Object.isFrozen(ctx)) CHECKED.add(ctx);
}
