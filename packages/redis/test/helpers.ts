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

/**
 * Every key of a namespace with its content, as sorted lines: the whole stored state. A
 * record in the json form (a string at `<plural>:j:<id>`) shows as its hash at `r:<id>`
 * would, so two stores that differ only in their records' forms dump the same.
 */
export async function dumpNamespace(raw: Redis, namespace: string): Promise<string[]> {
  const prefix = `polystore:{${namespace}}:`;
  const lines: string[] = [];
  const pairs = (name: string, hash: Record<string, string>) => {
    for (const [k, v] of Object.entries(hash)) lines.push(`${name} .${k} = ${v}`);
  };
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const name = key.slice(prefix.length);
      const type = await raw.type(key);
      if (type === 'string' && /^[^:]+:j:/.test(name)) {
        const hashName = name.replace(/^([^:]+):j:/, '$1:r:');
        pairs(hashName, JSON.parse((await raw.get(key)) ?? '{}') as Record<string, string>);
      } else if (type === 'string') lines.push(`${name} = ${await raw.get(key)}`);
      else if (type === 'set')
        for (const m of await raw.smembers(key)) lines.push(`${name} ∋ ${m}`);
      else if (type === 'zset')
        for (const m of await raw.zrange(key, '0', '-1')) lines.push(`${name} ∋ ${m}`);
      else if (type === 'hash') pairs(name, await raw.hgetall(key));
      else lines.push(`${name} : ${type}`);
    }
  } while (cursor !== '0');
  return lines.sort();
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
