import { optionalPeer } from '@polystore/core/adapter';

/** The client library's module. */
export type Ioredis = typeof import('ioredis');

const ioredis = optionalPeer<Ioredis>({
  adapter: 'redis',
  package: 'ioredis',
  import: () => import('ioredis'),
});

/**
 * ioredis, imported on the first open of the process, so that a program that never opens a
 * Redis store needs no `ioredis` installed; missing, a `ConfigError` naming
 * `npm install ioredis` (core's `optionalPeer`).
 *
 * @example
 * ```ts
 * const { Redis } = await loadDriver();
 * ```
 */
export const loadDriver = (): Promise<Ioredis> => ioredis.load();

/** Internal, for tests: replaces how ioredis is imported (`undefined` restores it). */
export const setDriverImporter = ioredis.setImporter;
