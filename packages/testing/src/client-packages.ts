import type * as Mongodb from 'mongodb';
import type Pg from 'pg';
import { MissingPackageError } from './errors.js';
import type { ServerKind } from './server-handle.js';

/** The `pg` module, as the harness uses it. */
export type PgModule = typeof Pg;
/** The `mongodb` module, as the harness uses it. */
export type MongodbModule = typeof Mongodb;

/** Imports `pg` (to probe PostgreSQL and create databases) on first use. */
export const loadPg: () => Promise<PgModule> = cached(() =>
  importPeer('pg', 'postgres', async () => (await import('pg')).default),
);

/** Imports `mongodb` (to probe FerretDB) on first use. */
export const loadMongodb: () => Promise<MongodbModule> = cached(() =>
  importPeer('mongodb', 'ferretdb', () => import('mongodb')),
);

/**
 * Runs `load` (the `import()` of `packageName`) and turns "not installed" into a
 * {@link MissingPackageError} naming the package: the database clients are optional peer
 * dependencies, so a user of one server kind installs only its client. Other errors pass
 * through.
 *
 * Internal; exported for its tests.
 */
export async function importPeer<T>(
  packageName: string,
  kind: ServerKind,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (isNotFound(err, packageName))
      throw new MissingPackageError(packageName, kind, { cause: err });
    throw err;
  }
}

function isNotFound(err: unknown, packageName: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  const message = err instanceof Error ? err.message : String(err);
  return (
    /cannot find (package|module)|failed to (load|resolve)/i.test(message) &&
    message.includes(packageName)
  );
}

/** One import per process; a failure is not kept, so installing the package and retrying works. */
function cached<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
}
