import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

function withUrl(url: string, edit: (u: URL) => void): string {
  const u = new URL(url);
  edit(u);
  return u.toString();
}

/**
 * The URL of an empty store that no other test uses, on the run's shared servers:
 * a new SQLite file, PostgreSQL database, Redis key namespace, ZooKeeper chroot or
 * MongoDB database. A backend whose shared server did not start throws
 * {@link BackendUnavailableError}, so its tests fail, never pass.
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
      return withUrl(sharedServerUrl('redis'), (u) =>
        u.searchParams.set('namespace', freshNamespace(prefix)),
      );
    case 'zookeeper':
      return withUrl(sharedServerUrl('zookeeper'), (u) => {
        u.pathname = `/${freshNamespace(prefix)}`;
      });
    case 'mongo':
      return withUrl(sharedServerUrl('ferretdb'), (u) => {
        u.pathname = `/${freshNamespace(prefix)}`;
      });
    default:
      throw new TypeError(
        `unknown backend ${JSON.stringify(backend)}; one of ${STORE_BACKENDS.join(', ')}`,
      );
  }
}
