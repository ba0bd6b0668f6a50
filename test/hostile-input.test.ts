/**
 * Hostile input on every backend: odd JavaScript values in every argument slot of every
 * store method, forged and moved list cursors, datetime filters with offsets, and the
 * key order of returned dicts. Every refusal must be a typed core error, the same on
 * every backend, and must leave the store unchanged.
 */
import {
  adminContext,
  createContext,
  InvalidInputError,
  InvalidQueryError,
  ManualClock,
  openStores,
  type RequestContext,
  type Stores,
} from '@polystore/core';
import { freshStoreUrl, STORE_BACKENDS } from '@polystore/testing/vitest';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ctx = createContext({ projectId: 'p1' });
const other = createContext({ projectId: 'p2' });
const admin = adminContext();
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const RUNS = 60;

/** A value that is not plain data, and whether anything looked inside it. */
interface Odd {
  readonly kind: string;
  readonly value: unknown;
  touched(): boolean;
}

function trapAll<T extends object>(target: T, mark: () => void): T {
  const trap = () => {
    mark();
    throw new Error('proxy trap');
  };
  return new Proxy(target, {
    get: trap,
    has: trap,
    ownKeys: trap,
    getOwnPropertyDescriptor: trap,
    getPrototypeOf: trap,
    set: trap,
    defineProperty: trap,
    deleteProperty: trap,
    isExtensible: trap,
    preventExtensions: trap,
    setPrototypeOf: trap,
    apply: trap,
    construct: trap,
  });
}

const ODD_KINDS = [
  'proxy',
  'proxy-array',
  'getter',
  'promise',
  'rejected-promise',
  'thenable',
  'class-instance',
  'date',
  'map',
  'boxed-string',
  'cycle',
  'bigint',
  'symbol',
  'function',
  'sparse-array',
  'symbol-key',
  'array-with-extra-key',
  'array-index-getter',
  'non-enumerable-key',
] as const;

/** A fresh odd value of a kind; traps, getters and `then` record that they were called. */
function makeOdd(kind: (typeof ODD_KINDS)[number]): Odd {
  let touched = false;
  const mark = () => {
    touched = true;
  };
  let value: unknown;
  switch (kind) {
    case 'proxy':
      value = trapAll({ a: 'x' }, mark);
      break;
    case 'proxy-array':
      value = trapAll(['x'], mark);
      break;
    case 'getter':
      value = Object.defineProperty({}, 'k', {
        enumerable: true,
        get() {
          mark();
          throw new Error('getter threw');
        },
      });
      break;
    case 'promise':
    case 'rejected-promise': {
      const p = kind === 'promise' ? Promise.resolve('x') : Promise.reject(new Error('rejected'));
      // The caller handles its own promise; anything core chained on it would reject unhandled.
      p.catch(() => {});
      Object.defineProperty(p, 'then', {
        value(...args: Parameters<Promise<unknown>['then']>) {
          mark();
          return Promise.prototype.then.apply(p, args);
        },
      });
      value = p;
      break;
    }
    case 'thenable':
      value = {
        // biome-ignore lint/suspicious/noThenProperty: a thenable is exactly the odd value under test.
        then() {
          mark();
          throw new Error('then called');
        },
      };
      break;
    case 'class-instance':
      value = new (class Point {
        x = 1;
      })();
      break;
    case 'date':
      value = new Date(0);
      break;
    case 'map':
      value = new Map([['k', 'v']]);
      break;
    case 'boxed-string':
      value = Object('x');
      break;
    case 'cycle': {
      const o: Record<string, unknown> = { a: 'x' };
      o.self = o;
      value = o;
      break;
    }
    case 'bigint':
      value = 1n;
      break;
    case 'symbol':
      value = Symbol('s');
      break;
    case 'function':
      value = () => mark();
      break;
    case 'sparse-array': {
      const a: string[] = [];
      a[1] = 'x';
      value = a;
      break;
    }
    case 'symbol-key':
      value = { [Symbol('k')]: 'v' };
      break;
    case 'array-with-extra-key':
      value = Object.assign(['x'], { extra: 'y' });
      break;
    case 'array-index-getter':
      value = Object.defineProperty([] as unknown[], 0, {
        enumerable: true,
        get() {
          mark();
          throw new Error('getter threw');
        },
      });
      break;
    case 'non-enumerable-key':
      value = Object.defineProperty({}, 'hidden', { value: 'x', enumerable: false });
      break;
  }
  return { kind, value, touched: () => touched };
}

/** Ids of the records every slot refers to. */
interface Fixture {
  readonly instanceId: string;
  readonly networkId: string;
}

/** One argument position of one store method: where the odd value goes, and the field the error must name. */
interface Slot {
  readonly name: string;
  readonly field: string;
  call(s: Stores, f: Fixture, odd: unknown): Promise<unknown>;
}

const slot = (name: string, field: string, call: Slot['call']): Slot => ({ name, field, call });

const SLOTS: readonly Slot[] = [
  slot('instances.create ctx', 'ctx', (s, _f, x) =>
    s.instances.create(x as RequestContext, { flavor: FLAVOR }),
  ),
  slot('instances.create values', 'values', (s, _f, x) => s.instances.create(ctx, x as never)),
  slot('instances.create values.displayName', 'displayName', (s, _f, x) =>
    s.instances.create(ctx, { flavor: FLAVOR, displayName: x as never }),
  ),
  slot('instances.create values.flavor', 'flavor', (s, _f, x) =>
    s.instances.create(ctx, { flavor: x as never }),
  ),
  slot('instances.create values.flavor.vcpus', 'flavor.vcpus', (s, _f, x) =>
    s.instances.create(ctx, { flavor: { ...FLAVOR, vcpus: x as never } }),
  ),
  slot('instances.create values.metadata', 'metadata', (s, _f, x) =>
    s.instances.create(ctx, { flavor: FLAVOR, metadata: x as never }),
  ),
  slot('instances.create values.metadata.k', 'metadata.k', (s, _f, x) =>
    s.instances.create(ctx, { flavor: FLAVOR, metadata: { k: x as never } }),
  ),
  slot('instances.create values.id', 'id', (s, _f, x) =>
    s.instances.create(ctx, { flavor: FLAVOR, id: x } as never),
  ),
  slot('instances.get ctx', 'ctx', (s, f, x) => s.instances.get(x as RequestContext, f.instanceId)),
  slot('instances.get id', 'id', (s, _f, x) => s.instances.get(ctx, x as never)),
  slot('instances.getMany ids', 'ids', (s, _f, x) => s.instances.getMany(ctx, x as never)),
  slot('instances.getMany ids.0', 'ids.0', (s, _f, x) => s.instances.getMany(ctx, [x as never])),
  slot('instances.list ctx', 'ctx', (s, _f, x) => s.instances.list(x as RequestContext)),
  slot('instances.list options', 'options', (s, _f, x) => s.instances.list(ctx, x as never)),
  slot('instances.list where', 'where', (s, _f, x) => s.instances.list(ctx, { where: x as never })),
  slot('instances.list where.displayName', 'where.displayName', (s, _f, x) =>
    s.instances.list(ctx, { where: { displayName: x as never } }),
  ),
  slot('instances.list where.displayName.gt', 'where.displayName.gt', (s, _f, x) =>
    s.instances.list(ctx, { where: { displayName: { gt: x as never } } }),
  ),
  slot('instances.list where.vmState.in', 'where.vmState.in', (s, _f, x) =>
    s.instances.list(ctx, { where: { vmState: { in: x as never } } }),
  ),
  slot('instances.list where.vmState.in.0', 'where.vmState.in.0', (s, _f, x) =>
    s.instances.list(ctx, { where: { vmState: { in: [x as never] } } }),
  ),
  slot('instances.list orderBy', 'orderBy', (s, _f, x) =>
    s.instances.list(ctx, { orderBy: x as never }),
  ),
  slot('instances.list orderBy.field', 'orderBy.field', (s, _f, x) =>
    s.instances.list(ctx, { orderBy: { field: x as never } }),
  ),
  slot('instances.list limit', 'limit', (s, _f, x) => s.instances.list(ctx, { limit: x as never })),
  slot('instances.list after', 'after', (s, _f, x) => s.instances.list(ctx, { after: x as never })),
  slot('instances.count ctx', 'ctx', (s, _f, x) => s.instances.count(x as RequestContext)),
  slot('instances.count where', 'where', (s, _f, x) => s.instances.count(ctx, x as never)),
  slot('instances.count where.host', 'where.host', (s, _f, x) =>
    s.instances.count(ctx, { host: x as never }),
  ),
  slot('instances.update ctx', 'ctx', (s, f, x) =>
    s.instances.update(x as RequestContext, f.instanceId, { displayName: 'n' }),
  ),
  slot('instances.update id', 'id', (s, _f, x) =>
    s.instances.update(ctx, x as never, { displayName: 'n' }),
  ),
  slot('instances.update patch', 'patch', (s, f, x) =>
    s.instances.update(ctx, f.instanceId, x as never),
  ),
  slot('instances.update patch.metadata.k', 'metadata.k', (s, f, x) =>
    s.instances.update(ctx, f.instanceId, { metadata: { k: x as never } }),
  ),
  slot('instances.update patch.flavor', 'flavor', (s, f, x) =>
    s.instances.update(ctx, f.instanceId, { flavor: x as never }),
  ),
  slot('instances.update options', 'options', (s, f, x) =>
    s.instances.update(ctx, f.instanceId, { displayName: 'n' }, x as never),
  ),
  slot('instances.update options.expectedRevision', 'expectedRevision', (s, f, x) =>
    s.instances.update(ctx, f.instanceId, { displayName: 'n' }, { expectedRevision: x as never }),
  ),
  slot('instances.update options.expected', 'expected', (s, f, x) =>
    s.instances.update(ctx, f.instanceId, { displayName: 'n' }, { expected: x as never }),
  ),
  slot('instances.update options.expected.taskState.0', 'expected.taskState.0', (s, f, x) =>
    s.instances.update(
      ctx,
      f.instanceId,
      { displayName: 'n' },
      { expected: { taskState: [x as never] } },
    ),
  ),
  slot('instances.delete ctx', 'ctx', (s, f, x) =>
    s.instances.delete(x as RequestContext, f.instanceId),
  ),
  slot('instances.delete id', 'id', (s, _f, x) => s.instances.delete(ctx, x as never)),
  slot('instances.delete options', 'options', (s, f, x) =>
    s.instances.delete(ctx, f.instanceId, x as never),
  ),
  slot('instances.delete options.expectedRevision', 'expectedRevision', (s, f, x) =>
    s.instances.delete(ctx, f.instanceId, { expectedRevision: x as never }),
  ),
  slot('instances.purge options', 'options', (s, _f, x) => s.instances.purge(admin, x as never)),
  slot('instances.purge options.deletedBefore', 'deletedBefore', (s, _f, x) =>
    s.instances.purge(admin, { deletedBefore: x as never }),
  ),
  slot('networks.create values.dnsServers', 'dnsServers', (s, _f, x) =>
    s.networks.create(ctx, { label: 'n', cidr: '10.9.0.0/24', dnsServers: x as never }),
  ),
  slot('networks.create values.dnsServers.0', 'dnsServers.0', (s, _f, x) =>
    s.networks.create(ctx, { label: 'n', cidr: '10.9.0.0/24', dnsServers: [x as never] }),
  ),
  slot('networks.get id', 'id', (s, _f, x) => s.networks.get(ctx, x as never)),
  slot('networks.list where.label.lt', 'where.label.lt', (s, _f, x) =>
    s.networks.list(ctx, { where: { label: { lt: x as never } } }),
  ),
  slot('networks.count where.vlan', 'where.vlan', (s, _f, x) =>
    s.networks.count(ctx, { vlan: x as never }),
  ),
  slot('networks.update patch.dnsServers', 'dnsServers', (s, f, x) =>
    s.networks.update(ctx, f.networkId, { dnsServers: x as never }),
  ),
  slot('networks.delete options', 'options', (s, f, x) =>
    s.networks.delete(ctx, f.networkId, x as never),
  ),
  slot('fixedIps.create values', 'values', (s, _f, x) => s.fixedIps.create(ctx, x as never)),
  slot('fixedIps.create values.address', 'address', (s, f, x) =>
    s.fixedIps.create(ctx, { networkId: f.networkId, instanceId: null, address: x as never }),
  ),
  slot('fixedIps.getMany ids.0', 'ids.0', (s, _f, x) => s.fixedIps.getMany(ctx, [x as never])),
  slot('fixedIps.list where.networkId', 'where.networkId', (s, _f, x) =>
    s.fixedIps.list(ctx, { where: { networkId: x as never } }),
  ),
  slot('migrations.create values.progress', 'progress', (s, f, x) =>
    s.migrations.create(ctx, {
      instanceId: f.instanceId,
      sourceCompute: 'a',
      destCompute: 'b',
      progress: x as never,
    } as never),
  ),
  slot('migrations.list orderBy.direction', 'orderBy.direction', (s, _f, x) =>
    s.migrations.list(ctx, { orderBy: { field: 'id', direction: x as never } }),
  ),
  slot('services.count ctx', 'ctx', (s, _f, x) => s.services.count(x as RequestContext)),
  slot('services.update patch', 'patch', (s, _f, x) =>
    s.services.update(admin, '0190a5d2-7c3e-7000-8000-000000000001', x as never),
  ),
  slot('fixedIps.allocate ctx', 'ctx', (s, f, x) =>
    s.fixedIps.allocate(x as RequestContext, { networkId: f.networkId, instanceId: null }),
  ),
  slot('fixedIps.allocate request', 'request', (s, _f, x) => s.fixedIps.allocate(ctx, x as never)),
  slot('fixedIps.allocate request.networkId', 'networkId', (s, _f, x) =>
    s.fixedIps.allocate(ctx, { networkId: x as never, instanceId: null }),
  ),
  slot('fixedIps.allocate request.address', 'address', (s, f, x) =>
    s.fixedIps.allocate(ctx, { networkId: f.networkId, instanceId: null, address: x as never }),
  ),
  slot('fixedIps.release id', 'id', (s, _f, x) => s.fixedIps.release(ctx, x as never)),
  slot('fixedIps.releaseAllForInstance instanceId', 'instanceId', (s, _f, x) =>
    s.fixedIps.releaseAllForInstance(ctx, x as never),
  ),
  slot('migrations.listInProgressByHost host', 'host', (s, _f, x) =>
    s.migrations.listInProgressByHost(ctx, x as never),
  ),
  slot('services.heartbeat request', 'request', (s, _f, x) =>
    s.services.heartbeat(admin, x as never),
  ),
  slot('services.heartbeat request.host', 'host', (s, _f, x) =>
    s.services.heartbeat(admin, { host: x as never, binary: 'b', codeVersion: 1 }),
  ),
  slot('services.minimumVersion binary', 'binary', (s, _f, x) =>
    s.services.minimumVersion(admin, x as never),
  ),
];

/** Everything a store holds, as an admin sees it, to check that refused calls changed nothing. */
async function snapshot(s: Stores): Promise<unknown> {
  const all = createContext({ isAdmin: true, readDeleted: 'yes' });
  return {
    instances: (await s.instances.list(all, { limit: 1000 })).items,
    networks: (await s.networks.list(all, { limit: 1000 })).items,
    fixedIps: (await s.fixedIps.list(all, { limit: 1000 })).items,
    migrations: (await s.migrations.list(all, { limit: 1000 })).items,
    services: (await s.services.list(all, { limit: 1000 })).items,
  };
}

function base64urlJson(v: unknown): string {
  return Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
}

for (const backend of STORE_BACKENDS) {
  describe(`hostile input on ${backend}`, () => {
    let stores: Stores;
    let fixture: Fixture;
    let url: string;

    beforeAll(async () => {
      url = await freshStoreUrl(backend, 'hostile');
      stores = await openStores(url);
      const instance = await stores.instances.create(ctx, { flavor: FLAVOR, displayName: 'i0' });
      const network = await stores.networks.create(ctx, { label: 'lan', cidr: '10.0.0.0/24' });
      fixture = { instanceId: instance.id, networkId: network.id };
    });
    afterAll(() => stores?.close());

    it('refuses an odd JS value in any argument slot with a typed error naming it, without touching it', async () => {
      const before = await snapshot(stores);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...SLOTS),
          fc.constantFrom(...ODD_KINDS),
          async (s, kind) => {
            const odd = makeOdd(kind);
            const err = await s.call(stores, fixture, odd.value).then(
              () => undefined,
              (e: unknown) => e,
            );
            if (!(err instanceof InvalidInputError || err instanceof InvalidQueryError)) {
              throw new Error(`${s.name} with ${kind}: expected a typed refusal, got ${err}`);
            }
            // A whole record argument names a bad key of a plain object by the key alone, like any field.
            const names =
              s.field === 'values' || s.field === 'patch'
                ? [s.field, 'k', 'self', 'hidden']
                : [s.field];
            expect(
              names.some((n) => err.message.includes(n)),
              `${s.name} with ${kind}: ${err.message}`,
            ).toBe(true);
            expect(odd.touched(), `${s.name} looked inside the ${kind}`).toBe(false);
          },
        ),
        { numRuns: RUNS },
      );
      expect(await snapshot(stores)).toEqual(before);
    }, 120_000);

    it('refuses every odd kind in every slot (the whole grid, once each)', async () => {
      const before = await snapshot(stores);
      const wrong: string[] = [];
      for (const s of SLOTS) {
        for (const kind of ODD_KINDS) {
          const odd = makeOdd(kind);
          const err = await s.call(stores, fixture, odd.value).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (!(err instanceof InvalidInputError || err instanceof InvalidQueryError))
            wrong.push(`${s.name} with ${kind}: ${err}`);
          else if (odd.touched()) wrong.push(`${s.name} looked inside the ${kind}`);
        }
      }
      expect(wrong).toEqual([]);
      expect(await snapshot(stores)).toEqual(before);
    }, 120_000);

    it('leaves no unhandled rejection behind for a rejected Promise given as a dict', async () => {
      const unhandled: unknown[] = [];
      const seen = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', seen);
      try {
        for (const put of [
          (p: unknown) => ({ flavor: FLAVOR, metadata: p }),
          (p: unknown) => ({ flavor: FLAVOR, metadata: { k: p } }),
          (p: unknown) => ({ flavor: p }),
        ]) {
          const rejected = Promise.reject(new Error('rejected by the caller'));
          rejected.catch(() => {}); // the caller handles its own promise
          await expect(stores.instances.create(ctx, put(rejected) as never)).rejects.toThrow(
            InvalidInputError,
          );
        }
        // Unhandled rejections are reported after the microtask queue drains: let it, twice.
        for (let i = 0; i < 2; i++) await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('unhandledRejection', seen);
      }
      expect(unhandled).toEqual([]);
    });

    it('refuses every odd kind in a nested dict value (the slot the red team used)', async () => {
      for (const kind of ODD_KINDS) {
        const odd = makeOdd(kind);
        const err = await stores.instances
          .create(ctx, { flavor: FLAVOR, metadata: { k: odd.value as never } })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(err, kind).toBeInstanceOf(InvalidInputError);
        const fields = (err as InvalidInputError).fields;
        expect(fields, kind).toHaveLength(1);
        expect(fields[0], kind).toMatch(/^metadata\.k(\.|$)/);
        expect(odd.touched(), kind).toBe(false);
      }
    });

    describe('cursors', () => {
      let first: { next: string | null };

      beforeAll(async () => {
        for (const name of ['a', 'b', 'c', 'd', 'e'])
          await stores.instances.create(ctx, { flavor: FLAVOR, displayName: name });
        await stores.instances.create(other, { flavor: FLAVOR, displayName: 'z' });
        first = await stores.instances.list(ctx, {
          orderBy: { field: 'displayName' },
          limit: 2,
        });
      });

      const listAfter = (s: Stores, after: string, c: RequestContext = ctx) =>
        s.instances.list(c, { orderBy: { field: 'displayName' }, limit: 2, after });

      it('page through every row exactly once, also on a second Stores on the same URL', async () => {
        // A second open of the same URL stands for another replica of the service.
        const replicaUrl = backend === 'memory' ? 'memory:hostile-replica' : url;
        const a = backend === 'memory' ? await openStores(replicaUrl) : stores;
        const b = await openStores(replicaUrl);
        try {
          if (backend === 'memory') {
            for (const name of ['i0', 'a', 'b', 'c', 'd', 'e'])
              await a.instances.create(ctx, { flavor: FLAVOR, displayName: name });
          }
          const seen: string[] = [];
          let page = await a.instances.list(ctx, { orderBy: { field: 'displayName' }, limit: 2 });
          let flip = false;
          for (;;) {
            seen.push(...page.items.map((i) => i.displayName));
            if (!page.next) break;
            flip = !flip;
            page = await (flip ? b : a).instances.list(ctx, {
              orderBy: { field: 'displayName' },
              limit: 2,
              after: page.next,
            });
          }
          expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'i0']);
        } finally {
          await b.close();
          if (a !== stores) await a.close();
        }
      });

      it('refuse a forged cursor whose value has the wrong type for the sort field', async () => {
        const uuid = '00000000-0000-7000-8000-000000000000';
        for (const forged of [
          `c1.${base64urlJson(['displayName', 'asc', 42, uuid])}`,
          `c1.${base64urlJson(['displayName', 'asc', 'a', 'not-a-uuid'])}`,
          `c1.${base64urlJson(['id', 'asc', 'x', 'x'])}`,
          `c1.${base64urlJson(['createdAt', 'asc', '2024-01-01T00:00:00+05:00', uuid])}`,
        ]) {
          const field = JSON.parse(
            Buffer.from(forged.slice(3), 'base64url').toString('utf8'),
          )[0] as string;
          await expect(
            stores.instances.list(ctx, {
              orderBy: { field: field as 'displayName' },
              after: forged,
            }),
          ).rejects.toThrow(InvalidQueryError);
        }
      });

      it('refuse a cursor tampered with, truncated, or re-signed by the client', async () => {
        const next = first.next!;
        expect(next).toEqual(expect.any(String));
        const flip = (s: string, i: number) =>
          s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
        for (const bad of [
          flip(next, next.length - 1),
          flip(next, 5),
          next.slice(0, -1),
          next.slice(0, next.length >> 1),
          `${next}A`,
          '',
        ]) {
          await expect(listAfter(stores, bad)).rejects.toThrow(InvalidQueryError);
        }
      });

      it('refuse a cursor made for another sort field, project, query or resource', async () => {
        const next = first.next!;
        await expect(
          stores.instances.list(ctx, { orderBy: { field: 'hostname' }, limit: 2, after: next }),
        ).rejects.toThrow(InvalidQueryError);
        await expect(
          stores.instances.list(ctx, {
            orderBy: { field: 'displayName', direction: 'desc' },
            limit: 2,
            after: next,
          }),
        ).rejects.toThrow(InvalidQueryError);
        await expect(listAfter(stores, next, other)).rejects.toThrow(InvalidQueryError);
        await expect(listAfter(stores, next, admin)).rejects.toThrow(InvalidQueryError);
        await expect(
          stores.instances.list(ctx, {
            where: { vmState: 'building' },
            orderBy: { field: 'displayName' },
            limit: 2,
            after: next,
          }),
        ).rejects.toThrow(InvalidQueryError);
        const byId = await stores.instances.list(ctx, { limit: 1 });
        await expect(stores.networks.list(ctx, { limit: 1, after: byId.next! })).rejects.toThrow(
          InvalidQueryError,
        );
      });

      it('refuse a cursor made by another store', async () => {
        const elsewhere = await openStores(await freshStoreUrl(backend, 'hostile_other'));
        try {
          for (const name of ['a', 'b', 'c'])
            await elsewhere.instances.create(ctx, { flavor: FLAVOR, displayName: name });
          const page = await elsewhere.instances.list(ctx, {
            orderBy: { field: 'displayName' },
            limit: 2,
          });
          await expect(listAfter(stores, page.next!)).rejects.toThrow(InvalidQueryError);
        } finally {
          await elsewhere.close();
        }
      });
    });
  });

  describe(`datetimes and dicts on ${backend}`, () => {
    let stores: Stores;
    const clock = new ManualClock(Date.parse('2024-01-01T23:58:59.000Z'));

    beforeAll(async () => {
      stores = await openStores(await freshStoreUrl(backend, 'normal'), { clock });
    });
    afterAll(() => stores?.close());

    it('normalise datetime filter values with offsets exactly as stored values', async () => {
      const made: { id: string; createdAt: string }[] = [];
      // Records a few ms around 2024-01-01T23:59:00Z, which is 2024-01-01T00:00:00-23:59.
      for (const ms of [-1000, -1, 0, 1, 999, 1000, 60_000]) {
        clock.set(Date.parse('2024-01-01T23:59:00.000Z') + ms);
        made.push(await stores.instances.create(ctx, { flavor: FLAVOR }));
      }
      const ids = (rows: readonly { id: string }[]) => rows.map((r) => r.id).sort();
      const expectIds = (pred: (t: number) => boolean) =>
        made
          .filter((r) => pred(Date.parse(r.createdAt)))
          .map((r) => r.id)
          .sort();
      const edge = Date.parse('2024-01-01T23:59:00.000Z');
      const cases: [Record<string, string>, (t: number) => boolean][] = [
        [{ gt: '2024-01-01T00:00:00-23:59' }, (t) => t > edge],
        [{ gte: '2024-01-01T00:00:00-23:59' }, (t) => t >= edge],
        [{ lt: '2024-01-02T00:00:00+00:01' }, (t) => t < edge],
        [{ lte: '2024-01-02T13:59:00.000+14:00' }, (t) => t <= edge],
        [{ gt: '2024-01-01T23:59:00.9+00:00' }, (t) => t > edge + 900],
        [{ eq: '2024-01-01T18:29:01-05:30' }, (t) => t === edge + 1000],
      ];
      for (const [cond, pred] of cases) {
        const page = await stores.instances.list(ctx, {
          where: { createdAt: cond as never },
          limit: 100,
        });
        expect(ids(page.items), JSON.stringify(cond)).toEqual(expectIds(pred));
        expect(await stores.instances.count(ctx, { createdAt: cond as never })).toBe(
          expectIds(pred).length,
        );
      }
    });

    it('return dict keys in code point order and object fields in declaration order', async () => {
      const metadata = { b: '1', a: '2', aa: '3', B: '4', '😀': '5', '\uFFFD': '6', é: '7' };
      const sorted = ['B', 'a', 'aa', 'b', 'é', '\uFFFD', '😀'];
      const flavor = { rootGb: 3, memoryMb: 1024, vcpus: 2 };
      const declared = ['vcpus', 'memoryMb', 'rootGb'];
      const created = await stores.instances.create(ctx, { flavor, metadata });
      const got = await stores.instances.get(ctx, created.id);
      const listed = (await stores.instances.list(ctx, { where: { id: created.id }, limit: 1 }))
        .items[0]!;
      const updated = await stores.instances.update(ctx, created.id, {
        metadata: { z: '1', ...metadata },
      });
      for (const [label, r] of [
        ['create', created],
        ['get', got],
        ['list', listed],
      ] as const) {
        expect(Object.keys(r.metadata), label).toEqual(sorted);
        expect(Object.keys(r.flavor), label).toEqual(declared);
        expect(JSON.stringify(r.metadata), label).toBe(JSON.stringify(created.metadata));
      }
      expect(Object.keys(updated.metadata)).toEqual([
        ...sorted.slice(0, 4),
        'z',
        ...sorted.slice(4),
      ]);
      const again = await stores.instances.get(ctx, created.id);
      expect(JSON.stringify(again)).toBe(JSON.stringify(updated));
    });
  });
}
