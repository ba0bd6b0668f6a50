import { randomBytes } from 'node:crypto';

let counter = 0;

/**
 * Returns a name no other test has used: `<prefix>_<random><counter>`.
 *
 * Only lowercase ASCII letters, digits and `_`, starting with a letter and
 * under 60 characters, so the same string works unquoted as a PostgreSQL
 * database or schema name, a MongoDB database name, a Redis key prefix and a
 * ZooKeeper chroot segment.
 *
 * @example
 * ```ts
 * const ns = freshNamespace('redis_conformance'); // 'redis_conformance_k3v9q0xw2m1'
 * const prefix = `${ns}:`;
 * ```
 */
export function freshNamespace(prefix = 'ps'): string {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(prefix)) {
    throw new TypeError(
      `namespace prefix must match /^[a-z][a-z0-9_]{0,39}$/, got ${JSON.stringify(prefix)}`,
    );
  }
  counter += 1;
  // 50 random bits make a clash between processes negligible; the counter rules it out within one.
  const random = randomBytes(8).readBigUInt64BE() >> 14n;
  return `${prefix}_${random.toString(36).padStart(10, '0')}${counter.toString(36)}`;
}
