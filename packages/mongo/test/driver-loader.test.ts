import { ConfigError } from '@polystore/core';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDriver, type MongoDriver, setDriverImporter } from '../src/driver-loader.js';
import { openMongoStores } from '../src/mongo-adapter.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

/** A package name that no registry or workspace holds. */
const MISSING = '@polystore/no-such-driver-for-this-test';

afterEach(() => setDriverImporter(undefined));

describe('the mongodb driver, an optional peer dependency', () => {
  it('is imported on first use and shared', async () => {
    const a = await loadDriver();
    expect(typeof a.MongoClient).toBe('function');
    expect(await loadDriver()).toBe(a);
  });

  it('missing, open fails with a ConfigError naming the package and how to install it', async () => {
    setDriverImporter(() => import(/* @vite-ignore */ MISSING) as Promise<MongoDriver>);
    const err = await openMongoStores(freshUrl('mongo_no_driver')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).retriable).toBe(false);
    expect((err as Error).message).toContain(
      'the mongodb package (an optional peer dependency), which is not installed',
    );
    expect((err as Error).message).toContain('npm install mongodb');
    // Not cached: once the package is there, the same process opens.
    setDriverImporter(undefined);
    const url = freshUrl('mongo_no_driver');
    const stores = await openMongoStores(url, { resources: [] });
    await stores.close();
    await dropDatabase(url);
  });
});
