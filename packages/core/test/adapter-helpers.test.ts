import { describe, expect, it } from 'vitest';
import {
  type Backend,
  chooseAddress,
  defineCapabilities,
  failedCondition,
  KeyedQueue,
  meetsConditions,
  optionalPeer,
  resourcesOf,
  type StoredRecord,
  unopenedAllocator,
} from '../src/adapter.js';
import {
  type Adapter,
  AdapterRegistry,
  ConfigError,
  computeResources,
  DuplicateError,
  ExhaustedError,
  fixedIpResource,
  InvalidInputError,
  instanceResource,
  networkResource,
  openStores,
} from '../src/index.js';

const record = (over: Partial<StoredRecord> = {}): StoredRecord => ({
  id: 'a',
  projectId: null,
  revision: 3,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  deletedAt: null,
  objectVersion: '1.0',
  state: 'up',
  ...over,
});

describe('meetsConditions', () => {
  it('checks the revision and each expected field, values compared as stored', () => {
    expect(meetsConditions(record(), undefined, undefined)).toBe(true);
    expect(meetsConditions(record(), 3, undefined)).toBe(true);
    expect(meetsConditions(record(), 2, undefined)).toBe(false);
    expect(meetsConditions(record(), 3, { state: ['down', 'up'] })).toBe(true);
    expect(meetsConditions(record(), 3, { state: ['down'] })).toBe(false);
    expect(meetsConditions(record({ state: null }), undefined, { state: [null] })).toBe(true);
  });

  it('failedCondition names what failed: the revision first, then the first field', () => {
    expect(failedCondition(record(), 3, { state: ['up'] })).toBeUndefined();
    expect(failedCondition(record(), 2, { state: ['down'] })).toEqual({ kind: 'revision' });
    expect(failedCondition(record({ host: 'h' }), 3, { host: ['h'], state: ['down'] })).toEqual({
      kind: 'expected',
      field: 'state',
    });
  });
});

describe('unopenedAllocator', () => {
  it('refuses both calls with a ConfigError naming the adapter', async () => {
    const allocator = unopenedAllocator('myKv');
    await expect(allocator.releaseAllForInstance({} as never, 'i', 'now')).rejects.toThrow(
      ConfigError,
    );
    await expect(allocator.allocate({} as never, {} as never)).rejects.toThrow(
      'myKv: resource fixedIp was not opened',
    );
  });
});

describe('chooseAddress', () => {
  const net = { cidr: '10.0.0.0/29', gateway: '10.0.0.1' };

  it('takes the lowest free address, or the requested one', () => {
    expect(chooseAddress(net, { networkId: 'n', address: undefined }, new Set())).toBe('10.0.0.2');
    expect(chooseAddress(net, { networkId: 'n', address: undefined }, new Set(['10.0.0.2']))).toBe(
      '10.0.0.3',
    );
    expect(chooseAddress(net, { networkId: 'n', address: '10.0.0.5' }, new Set())).toBe('10.0.0.5');
  });

  it('refuses a taken, unusable or exhausted address with typed errors', () => {
    expect(() =>
      chooseAddress(net, { networkId: 'n', address: '10.0.0.5' }, new Set(['10.0.0.5'])),
    ).toThrow(DuplicateError);
    expect(() => chooseAddress(net, { networkId: 'n', address: '10.0.0.1' }, new Set())).toThrow(
      InvalidInputError,
    );
    const all = new Set(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6']);
    expect(() => chooseAddress(net, { networkId: 'n', address: undefined }, all)).toThrow(
      ExhaustedError,
    );
  });
});

describe('KeyedQueue', () => {
  it('runs the tasks of one key one at a time, other keys concurrently', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const first = queue.run('k', async () => {
      log.push('k1 start');
      await gate;
      log.push('k1 end');
    });
    const second = queue.run('k', async () => {
      log.push('k2');
    });
    await queue.run('other', async () => {
      log.push('other');
    });
    expect(log).toEqual(['k1 start', 'other']);
    release();
    await Promise.all([first, second]);
    expect(log).toEqual(['k1 start', 'other', 'k1 end', 'k2']);
    expect(queue.size).toBe(0);
  });

  it('goes on after a failed task, and shares one queue per name in the process', async () => {
    const queue = new KeyedQueue();
    await expect(queue.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    await expect(queue.run('k', async () => 7)).resolves.toBe(7);
    expect(KeyedQueue.shared('test-queue')).toBe(KeyedQueue.shared('test-queue'));
    expect(KeyedQueue.shared('test-queue')).not.toBe(KeyedQueue.shared('other-queue'));
  });
});

describe('resources are opt-in', () => {
  it('opens the compute pack by default, and exactly the given resources otherwise', () => {
    expect(resourcesOf()).toEqual(computeResources);
    expect(resourcesOf({ resources: [instanceResource] })).toEqual([instanceResource]);
    expect(() => resourcesOf({ resources: [instanceResource, instanceResource] })).toThrow(
      ConfigError,
    );
    expect(() => resourcesOf({ resources: [fixedIpResource] })).toThrow(/needs the network/);
    expect(resourcesOf({ resources: [networkResource, fixedIpResource] })).toHaveLength(2);
  });

  it('asks the backend for drivers of the opened resources only; others throw ConfigError', async () => {
    const asked: string[] = [];
    const backend: Backend = {
      name: 'fake',
      capabilities: defineCapabilities({ features: {} } as never),
      driver(resource) {
        asked.push(resource.name);
        return {} as never;
      },
      allocator: {} as never,
      close: async () => {},
    };
    const adapter: Adapter = { name: 'fake', schemes: ['fake'], open: async () => backend };
    // Given explicitly, the adapter is used without any registry lookup.
    const stores = await openStores('fake://x', {
      adapters: [adapter],
      registry: new AdapterRegistry(),
      resources: [instanceResource],
    });
    expect(asked).toEqual(['instance']);
    expect(stores.instances).toBeDefined();
    expect(() => stores.networks).toThrow(ConfigError);
    expect(() => stores.networks).toThrow(/resource network was not opened/);
    expect(() => stores.store(fixedIpResource)).toThrow(ConfigError);
    await stores.close();
  });
});

describe('optionalPeer', () => {
  it('imports once, picks the library, and is tried again after a failed import', async () => {
    let imports = 0;
    const peer = optionalPeer<{ readonly ok: true }>({
      adapter: 'mykv',
      package: 'mykv-client',
      import: async () => {
        imports += 1;
        return { default: { ok: true } };
      },
      pick: (m) => (m as { default: { ok: true } }).default,
    });
    expect(peer.loaded()).toBeUndefined();
    expect(await peer.load()).toEqual({ ok: true });
    expect(await peer.load()).toBe(peer.loaded());
    expect(imports).toBe(1);
    peer.setImporter(() => import('@polystore-test/no-such-client' as string));
    const error = await peer.load().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      'mykv: the adapter needs the mykv-client package (an optional peer dependency), which is not installed: npm install mykv-client',
    );
    peer.setImporter(undefined);
    expect(await peer.load()).toEqual({ ok: true });
    expect(imports).toBe(2);
  });

  it('words a library that fails to load otherwise with its reason, and who needs it', async () => {
    const peer = optionalPeer({
      adapter: 'sql',
      package: 'native-db',
      neededBy: 'nativedb: URLs',
      import: () => Promise.reject(new Error('bad binary')),
    });
    await expect(peer.load()).rejects.toThrow(
      'sql: nativedb: URLs need the native-db package (an optional peer dependency), which failed to load (bad binary): npm install native-db',
    );
  });
});
