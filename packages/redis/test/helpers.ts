import { sharedServerUrl } from '@polystore/testing/vitest';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** The URL of the shared test server. */
export function redisUrl(): string {
  return sharedServerUrl('redis');
}

/**
 * For a test file: a raw ioredis client on the shared server (opened before the file's
 * tests, quit after them), and `opened`, where a test puts what it opens, closed after
 * each test. Returns a getter of the raw client.
 *
 * @example
 * ```ts
 * const opened: RedisBackend[] = [];
 * const raw = useRawRedis(opened);
 * opened.push(backend);
 * expect(await raw().exists(key)).toBe(1);
 * ```
 */
export function useRawRedis(opened: { close(): Promise<void> }[]): () => Redis {
  let raw: Redis | undefined;
  beforeAll(() => {
    raw = new Redis(redisUrl());
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await raw?.quit();
  });
  return () => {
    if (!raw) throw new Error('the raw Redis client is open only while the file runs');
    return raw;
  };
}

/** Hostile strings: Lua and Redis specials, glob characters, quotes, non-BMP, controls. */
export const HOSTILE_STRINGS = [
  '',
  '*',
  '?',
  '[a-z]',
  '"',
  "'",
  '\\',
  '\\"',
  ']]',
  '[[',
  '--[[',
  '%s%d%%',
  '\n\r\t',
  '\u0001',
  '\u007f',
  '{tag}',
  '}{',
  ':',
  '~s:',
  'null',
  '"null"',
  '1e309',
  '😀',
  '𝄞a',
  '\uffff',
  '\ue000',
  'é',
  'e\u0301',
  'a'.repeat(40),
] as const;
