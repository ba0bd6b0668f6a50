import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdapterRegistry } from '@polystore/core';
import { freshNamespace } from './fresh-namespace.js';
import { freshPostgresDatabase, sharedServerUrl } from './shared-server-url.js';

/** The backends a polystore URL can name, as `openStores` knows them. */
export const STORE_BACKENDS = [
  'memory',
  'sqlite',
  'postgres',
  'redis',
  'zookeeper',
  'mongo',
] as const;

/** One of {@link STORE_BACKENDS}. */
export type StoreBackend = (typeof STORE_BACKENDS)[number];

const tempDirs: string[] = [];
let cleanupRegistered = false;

/**
 * A fresh temp directory, removed when the test process exits (or earlier by
 * {@link removeTempDirs}).
 */
export function tempDir(prefix = 'polystore-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    process.once('exit', removeTempDirs);
  }
  return dir;
}

/** Removes every directory {@link tempDir} made so far. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// Its own registry, so resolving an adapter here registers nothing in the tests' default one.
const registry = new AdapterRegistry();

/** A fresh namespace on a shared server, put in the URL as its adapter's `namespaceUrl` hook says. */
async function namespaced(serverUrl: string, prefix: string): Promise<string> {
  const url = new URL(serverUrl);
  const adapter = await registry.resolve(url.protocol.slice(0, -1));
  if (!adapter.namespaceUrl) {
    throw new TypeError(`adapter ${adapter.name} has no namespaceUrl hook`);
  }
  return adapter.namespaceUrl(url, freshNamespace(prefix)).toString();
}

/**
 * The URL of an empty store that no other test uses, on the run's shared servers:
 * a new SQLite file or PostgreSQL database, or a fresh namespace (Redis key namespace,
 * ZooKeeper chroot, MongoDB database) put in the URL by the adapter's `namespaceUrl` hook.
 * A backend whose shared server did not start throws {@link BackendUnavailableError}, so
 * its tests fail, never pass.
 *
 * @example
 * ```ts
 * for (const backend of STORE_BACKENDS) {
 *   it(`creates an instance on ${backend}`, async () => {
 *     const stores = await openStores(await freshStoreUrl(backend, 'my_service'));
 *     // ...
 *   });
 * }
 * ```
 */
export async function freshStoreUrl(backend: StoreBackend, prefix = 'ps'): Promise<string> {
  switch (backend) {
    case 'memory':
      return 'memory:';
    case 'sqlite':
      return `sqlite:${join(tempDir(`${prefix}-`), 'store.db')}`;
    case 'postgres':
      return freshPostgresDatabase(prefix);
    case 'redis':
      return namespaced(sharedServerUrl('redis'), prefix);
    case 'zookeeper':
      return namespaced(sharedServerUrl('zookeeper'), prefix);
    case 'mongo':
      // The shared server's URL names no database: the hook gives the store one of its own.
      return namespaced(sharedServerUrl('ferretdb'), prefix);
    default:
      throw new TypeError(
        `unknown backend ${JSON.stringify(backend)}; one of ${STORE_BACKENDS.join(', ')}`,
      );
  }
}
