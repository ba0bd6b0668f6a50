import { inject } from 'vitest';
import { createPostgresDatabase } from './create-postgres-database.js';
import { BackendUnavailableError } from './errors.js';
import { freshNamespace } from './fresh-namespace.js';
import type { ServerKind } from './server-handle.js';
import './shared-servers.js';

/**
 * The URL of the run's shared server of a kind, started by
 * `@polystore/testing/global-setup`. Throws a {@link BackendUnavailableError}
 * (so the test fails, never passes silently) when the server could not
 * start or the project's config did not ask for it.
 *
 * @example
 * ```ts
 * const redis = new Redis(sharedServerUrl('redis'));
 * const prefix = `${freshNamespace('redis_store')}:`;
 * ```
 */
export function sharedServerUrl(kind: ServerKind): string {
  const info = inject('polystoreSharedServers')?.[kind];
  if (info === undefined) {
    throw new BackendUnavailableError(
      kind,
      `this vitest project did not start it: add globalSetup: ['@polystore/testing/global-setup'] ` +
        `and provide: { polystoreServers: [${JSON.stringify(kind)}] } to its test config`,
    );
  }
  if ('error' in info) throw new BackendUnavailableError(kind, info.error);
  return info.url;
}

/**
 * Creates a database with a fresh name on the shared PostgreSQL server and returns its URL.
 *
 * @example
 * ```ts
 * const url = await freshPostgresDatabase('sql_conformance');
 * ```
 */
export function freshPostgresDatabase(prefix?: string): Promise<string> {
  return createPostgresDatabase(sharedServerUrl('postgres'), freshNamespace(prefix));
}
