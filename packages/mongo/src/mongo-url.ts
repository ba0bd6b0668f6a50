import { ConfigError, redactUrl } from '@polystore/core';
import { isAdapterParam } from './mongo-options.js';

/**
 * A store URL taken apart for the driver. The adapter's own options in it (the database
 * path, `?prefix=`, `?failFastMs=`, ...) are read by `resolveMongoOptions`.
 */
export interface MongoUrl {
  /** The URL handed to `MongoClient`, without the adapter's own query parameters. */
  readonly clientUrl: string;
  /** The host list (`host:port[,host:port…]`), for naming the server. */
  readonly hosts: string;
}

const SHAPE = /^(mongodb(?:\+srv)?:\/\/)(?:([^@/?]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/i;

/**
 * Parses a MongoDB connection string by hand rather than with WHATWG `URL`, which
 * refuses a replica-set seed list (`mongodb://h1:27017,h2:27017/db`).
 */
export function parseMongoUrl(url: string | URL): MongoUrl {
  const text = typeof url === 'string' ? url : url.href;
  const m = SHAPE.exec(text);
  if (!m?.[3]) {
    throw new ConfigError(
      `mongo: malformed URL ${redactUrl(text)}; expected mongodb://host:port/database?prefix=…`,
    );
  }
  const [, scheme, auth, hosts, path, query] = m as unknown as [
    string,
    string,
    string | undefined,
    string,
    string | undefined,
    string | undefined,
  ];
  const params = new URLSearchParams(query ?? '');
  for (const name of [...params.keys()]) if (isAdapterParam(name)) params.delete(name);
  const rest = params.toString();
  return {
    clientUrl: `${scheme}${auth === undefined ? '' : `${auth}@`}${hosts}/${path ?? ''}${rest ? `?${rest}` : ''}`,
    hosts,
  };
}

/** Characters MongoDB refuses in a database name (on any platform it runs on). */
const BAD_DATABASE_CHARS = /[/\\. "$*<>:|?\u0000]/;
/** The longest database name MongoDB accepts, in UTF-8 bytes (it must be shorter than 64). */
const MAX_DATABASE_BYTES = 63;
/** The longest namespace (`<database>.<collection>`) MongoDB accepts, in UTF-8 bytes. */
const MAX_NAMESPACE_BYTES = 255;

/**
 * Refuses, with `ConfigError` and before any I/O, a database name or collection prefix that
 * MongoDB would refuse or that would reach its reserved collections: a database name
 * empty, of 64 bytes or more, or with one of `/\. "$*<>:|?` or NUL; a prefix starting with
 * `system.` (MongoDB's own collections) or `.`, or holding `$` or NUL; a namespace
 * `<database>.<collection>` over 255 bytes for any of `collections`. A server may be
 * stricter still (FerretDB v1 allows only `[A-Za-z0-9_-]` in database names); what it
 * refuses at open is a `ConfigError` too (`src/errors.ts`).
 */
export function checkNamespace(
  database: string,
  prefix: string,
  collections: readonly string[],
): void {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
  const bad = (why: string): never => {
    throw new ConfigError(`mongo: ${why}`);
  };
  if (database === '') bad('the database name is empty');
  const char = BAD_DATABASE_CHARS.exec(database)?.[0];
  if (char !== undefined)
    bad(`the database name ${JSON.stringify(database)} contains ${JSON.stringify(char)}`);
  if (bytes(database) > MAX_DATABASE_BYTES)
    bad(`the database name is longer than ${MAX_DATABASE_BYTES} bytes`);
  if (prefix.startsWith('system.'))
    bad(`the prefix ${JSON.stringify(prefix)} names MongoDB's reserved system. collections`);
  if (prefix.startsWith('.')) bad(`the prefix ${JSON.stringify(prefix)} starts with "."`);
  const prefixChar = /[$\u0000]/.exec(prefix)?.[0];
  if (prefixChar !== undefined)
    bad(`the prefix ${JSON.stringify(prefix)} contains ${JSON.stringify(prefixChar)}`);
  const longest = Math.max(0, ...collections.map(bytes));
  if (bytes(database) + 1 + longest > MAX_NAMESPACE_BYTES)
    bad(
      `the prefix is too long: a collection's namespace would exceed ${MAX_NAMESPACE_BYTES} bytes`,
    );
}
