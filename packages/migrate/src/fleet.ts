/**
 * A service process as a member of a fleet under live upgrade: it heartbeats its release
 * and the object versions it knows, writes every resource at the fleet's pin, sees the
 * pin and the write-only fields change within one heartbeat, and fences itself (refuses
 * writes) when its lease lapses.
 */
import { hostname } from 'node:os';
import {
  type AnyResource,
  ConfigError,
  computeResources,
  FencedError,
  IncompatibleVersionError,
  type OpenStoresOptions,
  type Stores,
  type WritePolicy,
} from '@polystore/core';
import { type Backend, isOlder } from '@polystore/core/adapter';
import { engineResources, type FleetMemberRecord } from './engine-resources.js';
import {
  ENGINE_CONTEXT,
  ensureState,
  isLive,
  memberStore,
  readMembers,
  readStates,
} from './engine-state.js';
import { openTarget, type StoreTarget } from './store-target.js';

/** Options of {@link joinFleet}. */
export interface JoinFleetOptions extends Omit<OpenStoresOptions, 'writePolicy' | 'checkSchema'> {
  /** The service's name, e.g. `compute-api` (lowercase letters, digits, dashes). */
  readonly service: string;
  /** The release this process runs, e.g. `1.4.2`: shown by `polystore migrate status`. */
  readonly release: string;
  /** This process's name in the fleet (default `<hostname>:<pid>:<random>`). */
  readonly member?: string;
  /** How often to heartbeat, ms (default 2000). The pin reaches this process within one interval. */
  readonly heartbeatMs?: number;
  /**
   * How long a heartbeat counts, ms (default 5 × `heartbeatMs`): past it without an
   * acknowledged heartbeat this process refuses writes (`FencedError`) and the engine
   * stops waiting for it.
   */
  readonly leaseMs?: number;
  /** Called when a heartbeat fails (the store is unreachable); the member keeps trying. */
  readonly onHeartbeatError?: (err: unknown) => void;
}

/** A process in the fleet: its Stores, the pins it writes at, its fencing. */
export interface FleetMember {
  /** The Stores bag: writes use the fleet's pin, and are refused while fenced. */
  readonly stores: Stores;
  /** This process's name in the fleet. */
  readonly member: string;
  /** The object version writes of `resource` use now. */
  pin(resource: AnyResource): string;
  /** Whether writes are refused now (the lease lapsed without an acknowledged heartbeat). */
  readonly fenced: boolean;
  /**
   * The oldest object version of `resource` that a live process of the fleet knows (its
   * code's version), this one included: what a message to any of them may use. Processes
   * not seen within their lease are ignored.
   */
  minimumVersion(resource: AnyResource): Promise<string>;
  /** Heartbeats now (also done every `heartbeatMs`): reads the pins, then records this process. */
  heartbeat(): Promise<void>;
  /** Leaves the fleet (its member record is deleted) and closes the Stores. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens the store (a URL, or an opener: {@link StoreTarget}) as a member of the fleet: the service's resources plus the engine's own,
 * with every write at the fleet's pin. Refused with `IncompatibleVersionError` when the
 * fleet already writes a resource at a version newer than this release knows (this
 * release is too old to join), and with `SchemaBehindError` when the store lacks what
 * this release needs (run `polystore migrate expand` with this release first).
 *
 * @example
 * ```ts
 * const fleet = await joinFleet(process.env.POLYSTORE_URL!, {
 *   service: 'compute-api',
 *   release: '1.4.2',
 * });
 * const api = new ComputeService(fleet.stores);
 * process.on('SIGTERM', () => fleet.close());
 * ```
 */
export async function joinFleet(
  target: StoreTarget,
  options: JoinFleetOptions,
): Promise<FleetMember> {
  const {
    service,
    release,
    member = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
    heartbeatMs = 2000,
    onHeartbeatError,
    ...openOptions
  } = options;
  const leaseMs = options.leaseMs ?? heartbeatMs * 5;
  if (!Number.isSafeInteger(heartbeatMs) || heartbeatMs < 10)
    throw new ConfigError(`joinFleet: heartbeatMs must be an integer ≥ 10, got ${heartbeatMs}`);
  if (!Number.isSafeInteger(leaseMs) || leaseMs <= heartbeatMs)
    throw new ConfigError(
      `joinFleet: leaseMs must be an integer greater than heartbeatMs (${heartbeatMs}), got ${leaseMs}`,
    );
  const resources = [...(openOptions.resources ?? computeResources)];
  const own = new Set<AnyResource>(engineResources);
  const pins = new Map<string, string>();
  const writeOnly = new Map<string, readonly string[]>();
  // performance.now() of the start of the last heartbeat the store acknowledged.
  let ackedAt = performance.now();
  let closed = false;
  const label = `${service}@${member}`;
  const policy: WritePolicy = {
    writeVersion: (resource) => (own.has(resource) ? undefined : pins.get(resource.name)),
    beforeWrite(resource) {
      if (own.has(resource)) return;
      const since = Math.round(performance.now() - ackedAt);
      if (closed || since > leaseMs) throw new FencedError(label, since);
      const pin = pins.get(resource.name);
      if (pin !== undefined && isOlder(resource.version, pin))
        throw new IncompatibleVersionError(resource.name, pin, resource.version);
    },
    writeOnly: (resource) => writeOnly.get(resource.name),
  };
  const opened = await openTarget(target, {
    ...openOptions,
    resources: [...resources, ...engineResources],
    writePolicy: policy,
  });
  const stores = opened.stores;
  const backend: Backend | undefined = opened.backend;
  let record: FleetMemberRecord | undefined;
  const reads = Object.fromEntries(resources.map((r) => [r.name, r.version]));

  const refresh = async (): Promise<void> => {
    const states = await readStates(stores);
    for (const resource of resources) {
      let state = states.get(resource.name);
      // The first process to see a resource pins it at its own version.
      state ??= await ensureState(stores, resource.name, resource.version, 'join');
      pins.set(resource.name, state.pin);
      if (backend?.appliedElements) {
        const { pending } = await backend.appliedElements(resource);
        writeOnly.set(resource.name, pending ?? []);
      }
    }
  };

  const heartbeat = async (): Promise<void> => {
    const started = performance.now();
    await refresh();
    const writes = Object.fromEntries(
      resources.map((r) => {
        const pin = pins.get(r.name) ?? r.version;
        return [r.name, isOlder(pin, r.version) ? pin : r.version];
      }),
    );
    const now = new Date().toISOString();
    const members = memberStore(stores);
    if (!record) {
      record = await members.create(ENGINE_CONTEXT, {
        member,
        service,
        release,
        reads,
        writes,
        lastSeenAt: now,
        leaseMs,
      });
    } else {
      // Only this process writes its record: no revision check needed.
      record = await members.update(ENGINE_CONTEXT, record.id, { writes, lastSeenAt: now });
    }
    ackedAt = started;
  };

  try {
    await heartbeat();
  } catch (err) {
    await stores.close();
    throw err;
  }
  for (const resource of resources) {
    const pin = pins.get(resource.name)!;
    if (isOlder(resource.version, pin)) {
      await memberStore(stores)
        .delete(ENGINE_CONTEXT, record!.id)
        .catch(() => {});
      await stores.close();
      throw new IncompatibleVersionError(resource.name, pin, resource.version);
    }
  }

  let inFlight: Promise<void> | undefined;
  const beat = () => {
    inFlight ??= heartbeat()
      .catch((err) => onHeartbeatError?.(err))
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const timer = setInterval(beat, heartbeatMs);
  timer.unref();

  let closing: Promise<void> | undefined;
  return {
    stores,
    member,
    pin: (resource) => pins.get(resource.name) ?? resource.version,
    get fenced() {
      return closed || performance.now() - ackedAt > leaseMs;
    },
    heartbeat: () => heartbeat(),
    async minimumVersion(resource) {
      const now = Date.now();
      let min = resource.version;
      for (const m of await readMembers(stores)) {
        const reads = m.reads[resource.name];
        if (reads !== undefined && isLive(m, now, 0) && isOlder(reads, min)) min = reads;
      }
      return min;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        clearInterval(timer);
        await inFlight;
        if (record) {
          await memberStore(stores)
            .delete(ENGINE_CONTEXT, record.id)
            .catch(() => {});
        }
        await stores.close();
      })();
      return closing;
    },
  };
}
