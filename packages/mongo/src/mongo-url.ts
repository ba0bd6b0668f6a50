import { ConfigError, redactUrl } from '@polystore/core';

/** A store URL taken apart: what the driver gets, and what the adapter reads itself. */
export interface MongoUrl {
  /** The URL handed to `MongoClient`, without the adapter's own `prefix` parameter. */
  readonly clientUrl: string;
  /** The host list (`host:port[,host:port…]`), for naming the server. */
  readonly hosts: string;
  /** The database of the URL path, if any. */
  readonly database: string | undefined;
  /** The `?prefix=` parameter, if any. */
  readonly prefix: string | undefined;
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
  const prefix = params.get('prefix') ?? undefined;
  params.delete('prefix');
  const rest = params.toString();
  let database: string | undefined;
  try {
    database = path ? decodeURIComponent(path) : undefined;
  } catch {
    throw new ConfigError(`mongo: malformed database name in ${redactUrl(text)}`);
  }
  return {
    clientUrl: `${scheme}${auth === undefined ? '' : `${auth}@`}${hosts}/${path ?? ''}${rest ? `?${rest}` : ''}`,
    hosts,
    database,
    prefix,
  };
}
