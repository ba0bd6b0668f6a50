import { InvalidQueryError } from '../errors.js';
import type { After, NormalOrder } from './query.js';

const PREFIX = 'c1.';

/**
 * Encodes the position after `last` under `order` as an opaque cursor string. The same
 * position gives the same cursor on every backend.
 */
export function encodeCursor(order: NormalOrder, after: After): string {
  const body = JSON.stringify([order.field, order.direction, after.value, after.id]);
  return PREFIX + Buffer.from(body, 'utf8').toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor} for the same order. A cursor from another
 * order, or anything else, is an `InvalidQueryError`.
 */
export function decodeCursor(cursor: unknown, order: NormalOrder): After {
  const bad = (why: string): never => {
    throw new InvalidQueryError(`after: ${why}`);
  };
  if (typeof cursor !== 'string' || !cursor.startsWith(PREFIX) || cursor.length > 4096) {
    return bad('not a cursor returned by list');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor.slice(PREFIX.length), 'base64url').toString('utf8'));
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
  if ((typeof value !== 'string' && !Number.isSafeInteger(value)) || typeof id !== 'string') {
    return bad('not a cursor returned by list');
  }
  return { value: value as string | number, id };
}
