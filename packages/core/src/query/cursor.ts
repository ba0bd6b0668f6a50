import type { CursorKey } from '../cursor-key.js';
import { type FieldIssue, InvalidQueryError } from '../errors.js';
import type { AnyResource } from '../schema/resource.js';
import { checkValue, isUuid, notNull } from '../schema/validate.js';
import { type After, MAX_CURSOR, type NormalOrder, type Predicate } from './query.js';

const PREFIX = 'c2.';
const OLD_PREFIXES = ['c1.'];

/**
 * What a cursor is valid for: the resource, who asks (project, admin, deleted rows), the
 * filter and the order. A cursor made for one binding is refused under any other.
 */
export interface CursorBinding {
  readonly resource: AnyResource;
  readonly projectId: string | null;
  readonly isAdmin: boolean;
  readonly readDeleted: string;
  readonly where: readonly Predicate[];
  readonly order: NormalOrder;
}

/** The filter in one canonical text, whatever order its fields, operators and `in` values came in. */
function canonicalWhere(where: readonly Predicate[]): string[] {
  return where
    .map((p) =>
      JSON.stringify([
        p.field,
        p.op,
        Array.isArray(p.value) ? p.value.map((v) => JSON.stringify(v)).sort() : p.value,
      ]),
    )
    .sort();
}

function signedText(binding: CursorBinding, body: string): string {
  return JSON.stringify([
    'polystore-cursor-2',
    binding.resource.name,
    binding.projectId,
    binding.isAdmin,
    binding.readDeleted,
    canonicalWhere(binding.where),
    binding.order.field,
    binding.order.direction,
    body,
  ]);
}

/**
 * Encodes the position `after` as an opaque cursor string, signed for `binding` with
 * `key`: `c2.<position>.<tag>`. The position is readable base64url JSON; the tag is an
 * HMAC-SHA256 over it and the binding.
 */
export function encodeCursor(key: CursorKey, binding: CursorBinding, after: After): string {
  const { field, direction } = binding.order;
  const body = Buffer.from(
    JSON.stringify([field, direction, after.value, after.id]),
    'utf8',
  ).toString('base64url');
  return `${PREFIX}${body}.${key.sign(signedText(binding, body))}`;
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the same binding, and checks the
 * position it holds before any adapter sees it: the sort field and direction, a value of
 * the sort field's type in its canonical form, and an id that is a UUID. Anything else
 * (another version, order, project, filter, resource or store, a changed or cut cursor,
 * or not a cursor at all) is an `InvalidQueryError`.
 */
export function decodeCursor(key: CursorKey, binding: CursorBinding, cursor: unknown): After {
  const { resource, order } = binding;
  const bad = (why: string): never => {
    throw new InvalidQueryError(`${resource.name}: after: ${why}`);
  };
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR) {
    return bad('not a cursor returned by list');
  }
  if (OLD_PREFIXES.some((p) => cursor.startsWith(p))) {
    return bad('a cursor of an older version; start the listing again');
  }
  const dot = cursor.lastIndexOf('.');
  if (!cursor.startsWith(PREFIX) || dot <= PREFIX.length) {
    return bad('not a cursor returned by list');
  }
  const body = cursor.slice(PREFIX.length, dot);
  const tag = cursor.slice(dot + 1);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return bad('not a cursor returned by list');
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return bad('not a cursor returned by list');
  const [field, direction, value, id] = parsed as unknown[];
  if (field !== order.field || direction !== order.direction) {
    return bad(
      `made for order ${String(field)} ${String(direction)}, not ${order.field} ${order.direction}`,
    );
  }
  if (!key.verify(signedText(binding, body), tag)) {
    return bad('not valid here: made for another project, filter, resource or store, or altered');
  }
  // Signed by us, so well-formed unless the key leaked; checked anyway, because an adapter
  // given a value of the wrong type fails in its own way (a driver error, a wrong page).
  if (!isUuid(id)) return bad('its id is not a UUID');
  const q = Object.hasOwn(resource.queryable, order.field)
    ? resource.queryable[order.field]
    : undefined;
  if (!q) return bad(`${order.field} is not a sortable field`);
  const issues: FieldIssue[] = [];
  const normal = checkValue(notNull(q.field), value, 'value', issues);
  if (
    issues.length > 0 ||
    normal !== value ||
    (typeof value !== 'string' && typeof value !== 'number')
  ) {
    return bad(`its position is not a canonical ${q.field.kind} value of ${order.field}`);
  }
  return { value, id };
}
