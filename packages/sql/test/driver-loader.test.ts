import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, UnavailableError } from '@polystore/core';
import { afterEach, describe, expect, it } from 'vitest';
import { setDriverImporter } from '../src/driver-loader.js';
import { openSqlStores } from '../src/index.js';
import { useBackends } from './support.js';

const backends = useBackends({ postgres: false });

/** An import of a package that is not installed, as a user without the peer gets it. */
const missing = <T>() => import(`polystore-missing-${'package'}` as string) as Promise<T>;

afterEach(() => {
  setDriverImporter('pg', undefined);
  setDriverImporter('better-sqlite3', undefined);
});

describe('driver libraries are optional peers, loaded for the dialect the URL needs', () => {
  it('names the package and its npm install command when pg is missing', async () => {
    setDriverImporter('pg', missing);
    for (const url of ['postgres://127.0.0.1:1/x', 'postgresql://127.0.0.1:1/x?prefix=a_']) {
      const err = await openSqlStores(url).catch((e: unknown) => e);
      expect(err, url).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(
        /needs? the pg package \(an optional peer dependency\), which is not installed/,
      );
      expect((err as Error).message).toContain('npm install pg');
    }
  });

  it('names the package and its npm install command when better-sqlite3 is missing', async () => {
    setDriverImporter('better-sqlite3', missing);
    const err = await openSqlStores(`sqlite:${join(backends.dir, 'none', 'x.db')}`).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(
      'better-sqlite3 package (an optional peer dependency), which is not installed',
    );
    expect((err as Error).message).toContain('npm install better-sqlite3');
    expect(readdirSync(backends.dir)).toEqual([]);
  });

  it('needs only the library of the dialect opened, and imports it again once installed', async () => {
    setDriverImporter('pg', missing);
    const stores = await openSqlStores('sqlite::memory:');
    expect(stores.backend).toBe('sqlite');
    await stores.close();
    setDriverImporter('better-sqlite3', missing);
    setDriverImporter('pg', undefined);
    // Reaches the (absent) server: pg was loaded, better-sqlite3 was not needed.
    const err = await openSqlStores('postgres://127.0.0.1:1/x', {
      adapter: { connectTimeoutMs: 500 },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
  });

  it('are never imported statically by the adapter', () => {
    const dir = join(import.meta.dirname, '..', 'src');
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect(text, file).not.toMatch(/^import (?!type )[^;]*from '(pg|better-sqlite3)'/m);
    }
  });
});
