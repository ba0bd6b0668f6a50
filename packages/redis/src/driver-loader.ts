import { ConfigError } from '@polystore/core';

/** The client library's module. */
export type Ioredis = typeof import('ioredis');

/** The npm package of the client library, an optional peer dependency. */
const CLIENT_PACKAGE = 'ioredis';

let ioredis: Promise<Ioredis> | undefined;

/**
 * Imports the client library once, on the first open, so that a program that never opens a
 * Redis store needs no `ioredis` installed. Fails with `ConfigError` naming the package and
 * its install command when it is missing (then the next open tries again).
 */
export function loadIoredis(): Promise<Ioredis> {
  ioredis ??= importClient(CLIENT_PACKAGE).catch((err: unknown) => {
    ioredis = undefined;
    throw err;
  });
  return ioredis;
}

/** Imports the client library `name`; tests give a name that is not installed. */
export async function importClient(name: string): Promise<Ioredis> {
  try {
    return (await import(name)) as Ioredis;
  } catch (err) {
    const missing = (err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
    throw new ConfigError(
      `redis: the Redis client library ${name} ${missing ? 'is not installed' : 'could not be loaded'} (an optional peer dependency of @polystore/redis): npm install ${name}`,
      { cause: err },
    );
  }
}
