import type { TestProject } from 'vitest/node';
import { startFerretDb } from './ferretdb-server.js';
import { startPostgres } from './postgres-server.js';
import { startRedis } from './redis-server.js';
import { requireAllBackends } from './require-all-backends.js';
import type { ServerHandle, ServerKind } from './server-handle.js';
import { SERVER_KINDS, type SharedServerInfo, type SharedServers } from './shared-servers.js';
import { startZooKeeper } from './zookeeper-server.js';

/**
 * Starters of the shared servers. They run in the unsafe fast modes: shared
 * servers serve unit and conformance runs, never fault tests, which start
 * dedicated servers they may kill and pause without disturbing other files.
 */
const STARTERS: Record<ServerKind, () => Promise<ServerHandle>> = {
  postgres: () => startPostgres({ fast: true }),
  redis: () => startRedis({ appendfsync: 'no' }),
  zookeeper: () => startZooKeeper({ fast: true }),
  ferretdb: () => startFerretDb(),
};

/** Env vars that point a kind at an already running server instead of starting one. */
const EXTERNAL_URL_ENV: Record<ServerKind, string> = {
  postgres: 'POLYSTORE_TEST_POSTGRES_URL',
  redis: 'POLYSTORE_TEST_REDIS_URL',
  zookeeper: 'POLYSTORE_TEST_ZOOKEEPER_URL',
  ferretdb: 'POLYSTORE_TEST_MONGODB_URL',
};

interface Lease {
  refs: number;
  readonly server: Promise<{ readonly info: SharedServerInfo; readonly handle?: ServerHandle }>;
}

/**
 * vitest globalSetup: starts each requested server once per run and
 * `provide`s its URL as `polystoreSharedServers`; the tests read it with
 * `sharedServerUrl(kind)` from `@polystore/testing/vitest`.
 *
 * With vitest `projects`, every project runs its own globalSetup, but the
 * servers are shared by the whole run (one registry per vitest process):
 * the first project starts a server, the last one to tear down stops it.
 *
 * A server that cannot start fails the run when
 * `POLYSTORE_REQUIRE_ALL_BACKENDS=1`; otherwise only the tests that ask for it
 * fail, with the start error.
 *
 * @example
 * ```ts
 * // packages/redis/vitest.config.ts
 * export default mergeConfig(sharedConfig, {
 *   test: {
 *     globalSetup: ['@polystore/testing/global-setup'],
 *     provide: { polystoreServers: ['redis'] },
 *   },
 * });
 * ```
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const requested = requestedKinds(project.getProvidedContext().polystoreServers);
  const acquired = await Promise.all(
    requested.map(async (kind) => [kind, (await acquire(kind)).info] as const),
  );
  const servers: SharedServers = Object.fromEntries(acquired);
  project.provide('polystoreSharedServers', servers);
  const teardown = async (): Promise<void> => {
    await Promise.all(requested.map(release));
  };

  const failures = acquired.filter(([, info]) => 'error' in info);
  if (failures.length > 0) {
    const report = failures
      .map(([kind, info]) => `  ${kind}: ${'error' in info ? info.error : ''}`)
      .join('\n');
    if (requireAllBackends()) {
      await teardown();
      throw new Error(
        `POLYSTORE_REQUIRE_ALL_BACKENDS=1 and some servers did not start:\n${report}`,
      );
    }
    console.warn(
      `[@polystore/testing] servers unavailable; tests that use them will fail:\n${report}`,
    );
  }
  return teardown;
}

function requestedKinds(kinds: readonly ServerKind[] | undefined): ServerKind[] {
  if (kinds === undefined) return [...SERVER_KINDS];
  for (const kind of kinds) {
    if (!SERVER_KINDS.includes(kind)) {
      throw new TypeError(
        `unknown server ${JSON.stringify(kind)} in polystoreServers; known: ${SERVER_KINDS.join(', ')}`,
      );
    }
  }
  return [...new Set(kinds)];
}

/** The run-wide registry; on globalThis because every project loads its own copy of this module. */
function leases(): Map<ServerKind, Lease> {
  const global = globalThis as { [REGISTRY]?: Map<ServerKind, Lease> };
  global[REGISTRY] ??= new Map();
  return global[REGISTRY];
}

const REGISTRY = Symbol.for('@polystore/testing/shared-servers');

function acquire(kind: ServerKind): Lease['server'] {
  const registry = leases();
  let lease = registry.get(kind);
  if (lease === undefined) {
    lease = { refs: 0, server: startShared(kind) };
    registry.set(kind, lease);
  }
  lease.refs += 1;
  return lease.server;
}

async function release(kind: ServerKind): Promise<void> {
  const registry = leases();
  const lease = registry.get(kind);
  if (lease === undefined) return;
  lease.refs -= 1;
  if (lease.refs > 0) return;
  registry.delete(kind);
  await (await lease.server).handle?.stop();
}

async function startShared(
  kind: ServerKind,
): Promise<{ info: SharedServerInfo; handle?: ServerHandle }> {
  const external = process.env[EXTERNAL_URL_ENV[kind]];
  if (external) return { info: { url: external } };
  try {
    const handle = await STARTERS[kind]();
    return { info: { url: handle.url }, handle };
  } catch (error) {
    return { info: { error: error instanceof Error ? error.message : String(error) } };
  }
}
