import { ConfigError, openStores } from '@polystore/core';
import { afterEach, expect, it } from 'vitest';
import { loadDriver, setDriverImporter } from '../src/driver-loader.js';
import { openZooKeeperStores, zookeeperAdapter } from '../src/zookeeper-adapter.js';

// node-zookeeper-client is an optional peer dependency, imported on the first open. Its
// absence is simulated by importing a package name that does not exist.

const MISSING = 'node-zookeeper-client-not-installed';

afterEach(() => setDriverImporter(undefined));

it('loads the driver once, on demand', async () => {
  const driver = await loadDriver();
  expect(typeof driver.createClient).toBe('function');
  expect(loadDriver()).toBe(loadDriver());
});

it('fails to open with a ConfigError naming the package and its install command when it is missing', async () => {
  setDriverImporter(() => import(/* @vite-ignore */ MISSING));
  // No server is needed: the driver is loaded before any connection is made.
  for (const open of [
    () => openZooKeeperStores('zookeeper://127.0.0.1:9/missing'),
    () => openStores('zookeeper://127.0.0.1:9/missing', { adapters: [zookeeperAdapter] }),
  ]) {
    const err = await open().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('node-zookeeper-client');
    expect((err as Error).message).toContain('is not installed: npm install node-zookeeper-client');
  }
  // A failed import is tried again on the next open.
  setDriverImporter(undefined);
  expect(typeof (await loadDriver()).createClient).toBe('function');
});

it('reports a package that fails to load for another reason, with that reason', async () => {
  setDriverImporter(() => Promise.reject(new Error('bad binary')));
  await expect(loadDriver()).rejects.toThrow(
    /node-zookeeper-client package .* failed to load \(bad binary\): npm install node-zookeeper-client/,
  );
});
