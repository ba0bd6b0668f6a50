import {
  type Adapter,
  type AdapterRegistry,
  ConfigError,
  DEFAULT_STORE_URL,
  defaultRegistry,
  openStores,
  type Stores,
} from '@polystore/core';
import { memoryAdapter } from '@polystore/memory';
import { type FleetMember, joinFleet } from '@polystore/migrate';
import { sqlAdapter } from '@polystore/sql';
import { COMPUTE_RELEASES, type ComputeRelease } from './compute-release.js';

/**
 * The adapters the service is built with (`memory:`, `sqlite:`, `postgres:`), passed to
 * `openStores` so that a bundler sees them. Other schemes (`redis:`, `zookeeper:`,
 * `mongodb:`) still resolve through core's registry when their package is installed.
 */
export const COMPUTE_ADAPTERS: readonly Adapter[] = Object.freeze([memoryAdapter, sqlAdapter]);

/** The URL used when the embedded default's SQLite binding (`better-sqlite3`) is not installed. */
export const FALLBACK_STORE_URL = 'memory:';

/** The name the example service's processes join a fleet under. */
export const COMPUTE_SERVICE_NAME = 'compute-api';

/** How a process of the service joins the fleet (see `joinFleet` of `@polystore/migrate`). */
export interface ComputeFleetOptions {
  /** How often to heartbeat, ms (default 2000); the lease is five heartbeats. */
  readonly heartbeatMs?: number;
  /** Called when a heartbeat fails (default: a line on stderr); the member keeps trying. */
  readonly onHeartbeatError?: (err: unknown) => void;
}

/** Options of {@link openComputeStores}. */
export interface OpenComputeStoresOptions {
  /** The store URL; absent or empty means the embedded default {@link DEFAULT_STORE_URL}. */
  readonly url?: string | undefined;
  /** The registry to resolve schemes in (default: core's `defaultRegistry`). */
  readonly registry?: AdapterRegistry;
  /** Where the fallback warning goes (default: stderr). */
  readonly warn?: (message: string) => void;
  /** The release whose resources to open (default `1.0`). */
  readonly release?: ComputeRelease;
  /**
   * Join the fleet of `compute-api` processes instead of opening the store alone: writes
   * go at the fleet's pin, heartbeats tell `polystore migrate` what this process runs, and
   * a process whose lease lapsed refuses writes. Every process of a fleet under live
   * upgrade must join. Default: not a member.
   */
  readonly fleet?: ComputeFleetOptions;
}

/** The opened stores and the URL they were opened with. */
export interface OpenedComputeStores {
  readonly stores: Stores;
  /** The URL actually opened (may hold a password: print it with `redactUrl`). */
  readonly url: string;
  /** The fleet membership when `fleet` was given; its `close` closes the stores too. */
  readonly fleet?: FleetMember;
}

/**
 * Opens the service's stores for a release (as a fleet member with `fleet`): the given
 * URL, else the embedded SQLite default.
 *
 * Only when no URL was given and the SQLite binding (`better-sqlite3`) is not installed does
 * it fall back to `memory:`, and it says so loudly: a URL the user chose is never replaced.
 *
 * @example
 * ```ts
 * const { stores, fleet } = await openComputeStores({
 *   url: process.env.POLYSTORE_URL,
 *   release: COMPUTE_RELEASES['1.1'],
 *   fleet: {},
 * });
 * const service = new ComputeService(stores, { release: COMPUTE_RELEASES['1.1'], pin: fleet?.pin });
 * ```
 */
export async function openComputeStores(
  options: OpenComputeStoresOptions = {},
): Promise<OpenedComputeStores> {
  const release = options.release ?? COMPUTE_RELEASES['1.0'];
  const open = {
    adapters: COMPUTE_ADAPTERS,
    registry: options.registry ?? defaultRegistry,
    resources: release.resources,
  };
  const fleet = options.fleet;
  const openAt = async (url: string): Promise<OpenedComputeStores> => {
    if (!fleet) return { stores: await openStores(url, open), url };
    const member = await joinFleet(url, {
      ...open,
      service: COMPUTE_SERVICE_NAME,
      release: release.name,
      ...(fleet.heartbeatMs === undefined ? {} : { heartbeatMs: fleet.heartbeatMs }),
      onHeartbeatError:
        fleet.onHeartbeatError ??
        ((err: unknown) =>
          console.error(
            `${COMPUTE_SERVICE_NAME}: heartbeat failed: ${err instanceof Error ? err.message : String(err)}`,
          )),
    });
    return { stores: member.stores, url, fleet: member };
  };
  if (options.url !== undefined && options.url !== '') return openAt(options.url);
  try {
    return await openAt(DEFAULT_STORE_URL);
  } catch (err) {
    if (!isMissingPackage(err)) throw err;
    const warn = options.warn ?? ((m: string) => console.error(m));
    warn(
      `WARNING: the embedded default ${DEFAULT_STORE_URL} is not available (${err.message}); ` +
        `falling back to ${FALLBACK_STORE_URL}, which keeps nothing after exit. ` +
        'Set POLYSTORE_URL to choose a backend.',
    );
    return openAt(FALLBACK_STORE_URL);
  }
}

/** Whether opening failed only because a package (e.g. the SQLite binding) is not installed. */
function isMissingPackage(err: unknown): err is ConfigError {
  if (!(err instanceof ConfigError)) return false;
  const cause = err.cause as { code?: unknown } | undefined;
  return cause?.code === 'ERR_MODULE_NOT_FOUND' || cause?.code === 'MODULE_NOT_FOUND';
}
