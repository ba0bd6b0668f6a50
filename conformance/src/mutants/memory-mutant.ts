import {
  type AnyResource,
  type Capabilities,
  computeResources,
  type Stores,
} from '@polystore/core';
import {
  type AddressAllocator,
  type Backend,
  createStores,
  defineCapabilities,
  type ResourceDriver,
} from '@polystore/core/adapter';
import {
  MEMORY_CAPABILITIES,
  MemoryBackend,
  MemoryDatabase,
  type MemoryTable,
  tableName,
} from '@polystore/memory/internal';
import { STORE_METHODS } from '../check-shape.js';
import type { OpenDeps, OpenEvolutionFn } from '../conformance-options.js';

const databases = new Map<string, MemoryDatabase>();

/** The shared in-process database of a namespace, so several opens act as several clients. */
export function databaseOf(namespace: string): MemoryDatabase {
  let db = databases.get(namespace);
  if (!db) {
    db = new MemoryDatabase();
    databases.set(namespace, db);
  }
  return db;
}

/** The databases of every namespace whose name starts with `prefix` (itself included). */
export function databasesStartingWith(prefix: string): MemoryDatabase[] {
  return [...databases].filter(([name]) => name.startsWith(prefix)).map(([, db]) => db);
}

/** The memory table of a resource, by the resource's name (`network`) or its storage name (`networks`). */
function tablesOf(db: MemoryDatabase): (name: string) => MemoryTable {
  const byName = new Map(computeResources.map((r) => [r.name, tableName(r)]));
  return (name) => db.table(byName.get(name) ?? name);
}

/** What a backend mutation may replace. */
export interface BackendMutation {
  /** Wraps the driver of a resource (called once per resource). */
  readonly driver?: (
    inner: ResourceDriver,
    resource: AnyResource,
    tables: (name: string) => MemoryTable,
  ) => ResourceDriver;
  /** Wraps the address allocator. */
  readonly allocator?: (
    inner: AddressAllocator,
    tables: (name: string) => MemoryTable,
  ) => AddressAllocator;
  /** Replaces the manifest (given the memory one). */
  readonly capabilities?: (memory: Capabilities) => Capabilities;
  /** Wraps the public bag after `createStores`. */
  readonly stores?: (stores: Stores) => Stores;
}

/**
 * The `open` of a memory backend with a deliberate bug: drivers, allocator, manifest or
 * the public bag wrapped. Namespaces share a database, like the memory adapter's named ones.
 */
export function mutantOpen(
  mutation: BackendMutation,
): (namespace: string, deps: OpenDeps) => Stores {
  return (namespace, { clock, ids }) => {
    const db = databaseOf(namespace);
    const memory = new MemoryBackend(db);
    const tables = tablesOf(db);
    const caps = mutation.capabilities
      ? mutation.capabilities(MEMORY_CAPABILITIES)
      : MEMORY_CAPABILITIES;
    const backend: Backend = {
      name: 'memory-mutant',
      capabilities: caps,
      driver: (resource) => {
        const inner = memory.driver(resource);
        return mutation.driver ? mutation.driver(inner, resource, tables) : inner;
      },
      allocator: mutation.allocator
        ? mutation.allocator(memory.allocator, tables)
        : memory.allocator,
      close: () => memory.close(),
    };
    const stores = createStores(backend, { clock, ids });
    return mutation.stores ? mutation.stores(stores) : stores;
  };
}

/**
 * The `evolution.open` of the same mutated memory backend (drivers, allocator and manifest;
 * the public-bag wrapper is for the compute stores and is left out), with the evolution SPI
 * of the memory backend: the evolution group then sees the same adapter the others do.
 */
export function mutantEvolutionOpen(mutation: BackendMutation): OpenEvolutionFn {
  return async (namespace, { clock, ids }, resources) => {
    const db = databaseOf(`evolution:${namespace}`);
    const memory = new MemoryBackend(db, { resources });
    const tables = tablesOf(db);
    const drivers = new Map<AnyResource, ResourceDriver>();
    const backend: Backend = {
      name: 'memory-mutant',
      capabilities: mutation.capabilities
        ? mutation.capabilities(MEMORY_CAPABILITIES)
        : MEMORY_CAPABILITIES,
      driver: (resource) => {
        let d = drivers.get(resource);
        if (!d) {
          const inner = memory.driver(resource);
          d = mutation.driver ? mutation.driver(inner, resource, tables) : inner;
          drivers.set(resource, d);
        }
        return d;
      },
      allocator: memory.allocator,
      close: () => memory.close(),
      expand: (resource, elements) => memory.expand(resource, elements),
      contract: (resource, elements) => memory.contract(resource, elements),
      appliedElements: (resource) => memory.appliedElements(resource),
      publish: (resource, fields) => memory.publish(resource, fields),
    };
    return { stores: createStores(backend, { clock, ids, resources }), backend };
  };
}

/** A manifest with some features declared. */
export function withFeatures(features: Record<string, boolean>): (m: Capabilities) => Capabilities {
  return (m) => defineCapabilities({ ...m, features: { ...m.features, ...features } });
}

/** Wraps one store of a bag: a plain object with the same methods and arities, calls going through `patch`. */
export function patchStore(
  stores: Stores,
  name: 'instances' | 'networks' | 'fixedIps' | 'migrations' | 'services',
  patch: (
    method: string,
    call: (...args: unknown[]) => Promise<unknown>,
    args: unknown[],
  ) => Promise<unknown>,
): Stores {
  const inner = stores[name] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const wrapped: Record<string, unknown> = {};
  for (const [method, arity] of Object.entries(STORE_METHODS[name])) {
    const fn = async (...args: unknown[]) =>
      patch(method, (...a: unknown[]) => inner[method]!.apply(inner, a), args);
    Object.defineProperty(fn, 'length', { value: arity });
    wrapped[method] = fn;
  }
  return Object.freeze({ ...stores, [name]: wrapped }) as Stores;
}

/** Replaces one store by a plain object with exactly the given methods (for shape mutants). */
export function replaceStore(
  stores: Stores,
  name: 'instances' | 'networks' | 'fixedIps' | 'migrations' | 'services',
  build: (inner: Record<string, (...a: unknown[]) => unknown>) => object,
): Stores {
  const inner = stores[name] as unknown as Record<string, (...a: unknown[]) => unknown>;
  const bound: Record<string, (...a: unknown[]) => unknown> = {};
  for (const m of [
    'create',
    'get',
    'getMany',
    'list',
    'count',
    'update',
    'delete',
    'purge',
    'allocate',
    'release',
    'releaseAllForInstance',
    'listInProgressByHost',
    'heartbeat',
    'minimumVersion',
  ]) {
    if (typeof inner[m] === 'function') bound[m] = inner[m].bind(inner);
  }
  return Object.freeze({ ...stores, [name]: build(bound) }) as Stores;
}
