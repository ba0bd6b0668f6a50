/**
 * Records: create, get and getMany, strict validation, and values that must round-trip
 * byte-exact (hostile strings, extreme ints, nested dicts with odd keys).
 */
import { adminContext, createContext, type Stores, withReadDeleted } from '@polystore/core';
import { describe, expect, it } from 'vitest';
import type { Pair } from './pair.js';
import { gadgetResource } from './resources.js';

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const p2 = createContext({ projectId: 'p2' });
const admin = adminContext();
const flavor = { vcpus: 2, memoryMb: 2048, rootGb: 20 };
const MISSING = '01a20881-abf6-71ed-966a-6c417145054e';

/**
 * Strings each backend could mistake for syntax: SQL, Lua and glob specials, key and path
 * separators, Mongo operators, controls, non-BMP characters, the longest allowed.
 */
export const HOSTILE = [
  "'; DROP TABLE instances; --",
  '" OR "1"="1',
  '/* comment */ -- line',
  'back\\slash \\0 %_ LIKE',
  '😀 non-BMP 𝄞',
  '\uFFFF\uE000 private use',
  'é e\u0301 ß',
  '$1 ? :name @p0',
  '{"$gt": ""}',
  '$gt',
  '$ne',
  '$where',
  '$',
  '%',
  '\\',
  '\u0001',
  'a.b',
  '%24gt',
  'redis.call("FLUSHALL")',
  '*',
  '?',
  '[a-z]',
  ']]',
  '--[[',
  '%s%d%%',
  '{tag}',
  '}{',
  ':',
  '~s:',
  'null',
  '"null"',
  '1e309',
  '\\"',
  '../../etc/passwd',
  '/',
  '.',
  '..',
  '/zookeeper/quota',
  '\u0001\u001f\u007f\u0085',
  '\t\n\r ',
  '',
  'x'.repeat(255),
  '😀'.repeat(255),
];

const gadgets = (s: Stores) => s.store(gadgetResource);

/** Every instance, network and fixed IP, deleted ones included: what a refused call must not change. */
async function snapshot(s: Stores) {
  const all = withReadDeleted(admin, 'yes');
  return {
    instances: (await s.instances.list(all, { limit: 1000 })).items,
    networks: (await s.networks.list(all, { limit: 1000 })).items,
    fixedIps: (await s.fixedIps.list(all, { limit: 1000 })).items,
  };
}

/** Registers, on the shared pair, the record examples. */
export function recordContract(pair: () => Pair): void {
  describe('create, get and getMany', () => {
    it('fills system fields and defaults, and returns a frozen plain record', async () => {
      const createdAt = pair().now();
      const vm = await pair().same((s) => s.instances.create(p1, { displayName: 'web', flavor }));
      expect(vm).toEqual({
        id: '00000000-0000-7000-8000-000000000001',
        projectId: 'p1',
        displayName: 'web',
        hostname: '',
        host: null,
        vmState: 'building',
        taskState: null,
        flavor,
        metadata: {},
        revision: 1,
        createdAt,
        updatedAt: createdAt,
        deletedAt: null,
        objectVersion: '1.0',
      });
      expect(Object.isFrozen(vm)).toBe(true);
      expect(Object.isFrozen(vm.flavor)).toBe(true);
      expect(JSON.parse(JSON.stringify(vm))).toEqual(vm);
      expect(await pair().same((s) => s.instances.get(p1, vm.id))).toEqual(vm);
      expect(await pair().same((s) => s.instances.get(admin, vm.id))).toEqual(vm);
    });

    it('does not alias the caller input', async () => {
      const metadata = { a: '1' };
      const vm = await pair().same((s) => s.instances.create(p1, { flavor, metadata }));
      metadata.a = '2';
      expect((await pair().same((s) => s.instances.get(p1, vm.id))).metadata).toEqual({ a: '1' });
    });

    it('get of a missing or foreign record is NotFoundError', async () => {
      const vm = await pair().same((s) => s.instances.create(p1, { flavor }));
      expect(await pair().fails((s) => s.instances.get(p2, vm.id))).toMatchObject({
        name: 'NotFoundError',
        resource: 'instance',
      });
      expect(await pair().fails((s) => s.instances.get(p1, MISSING))).toMatchObject({
        name: 'NotFoundError',
      });
      // Nor does a list or count by its id give a hint.
      expect(await pair().same((s) => s.instances.count(p2, { id: vm.id }))).toBe(0);
      expect(
        (await pair().same((s) => s.instances.list(p2, { where: { id: vm.id } }))).items,
      ).toEqual([]);
    });

    it('getMany returns visible records in request order, without repeats or missing ids', async () => {
      const a = await pair().same((s) => s.instances.create(p1, { flavor }));
      const b = await pair().same((s) => s.instances.create(p1, { flavor }));
      const c = await pair().same((s) => s.instances.create(p2, { flavor }));
      const got = await pair().same((s) =>
        s.instances.getMany(p1, [b.id, MISSING, a.id, b.id, c.id]),
      );
      expect(got.map((r) => r.id)).toEqual([b.id, a.id]);
      expect(await pair().same((s) => s.instances.getMany(admin, [c.id, a.id]))).toEqual([c, a]);
      expect(await pair().same((s) => s.instances.getMany(p1, []))).toEqual([]);
      expect(await pair().same((s) => s.instances.getMany(p2, [a.id]))).toEqual([]);
    });

    it('refuses a taken id with DuplicateError, even the id of a deleted record', async () => {
      const g = await pair().same((s) => gadgets(s).create(p1, { name: 'dup-id' }));
      expect(await pair().fails((s) => gadgets(s).create(p2, { id: g.id }))).toMatchObject({
        name: 'DuplicateError',
        fields: ['id'],
      });
      await pair().same((s) => gadgets(s).delete(p1, g.id));
      expect(await pair().fails((s) => gadgets(s).create(p1, { id: g.id }))).toMatchObject({
        name: 'DuplicateError',
        fields: ['id'],
      });
    });

    it('a non-admin cannot create for another project; an admin must name one', async () => {
      expect(
        await pair().fails((s) => s.instances.create(p1, { flavor, projectId: 'p2' })),
      ).toMatchObject({ name: 'InvalidInputError' });
      expect(await pair().fails((s) => s.instances.create(admin, { flavor }))).toMatchObject({
        name: 'InvalidInputError',
      });
      const vm = await pair().same((s) => s.instances.create(admin, { flavor, projectId: 'p2' }));
      expect(vm.projectId).toBe('p2');
    });
  });

  describe('bad input changes nothing', () => {
    it('create with bad values is InvalidInputError naming each bad field', async () => {
      await pair().same((s) => s.instances.create(p1, { flavor }));
      const before = await pair().same(snapshot);
      const cases: [string, Record<string, unknown>, string[]][] = [
        ['wrong type', { displayName: 5, flavor }, ['displayName']],
        ['out-of-range int', { flavor: { ...flavor, vcpus: 0 } }, ['flavor.vcpus']],
        ['fractional int', { flavor: { ...flavor, memoryMb: 1.5 } }, ['flavor.memoryMb']],
        ['over-long string', { displayName: 'x'.repeat(256), flavor }, ['displayName']],
        ['string with NUL', { displayName: 'a\u0000b', flavor }, ['displayName']],
        ['lone surrogate', { displayName: '\uD800', flavor }, ['displayName']],
        ['unknown field', { flavor, colour: 'red' }, ['colour']],
        ['missing required field', {}, ['flavor']],
        [
          'several at once',
          { displayName: 1, hostname: 'UPPER', flavor, x: 1 },
          ['displayName', 'hostname', 'x'],
        ],
      ];
      for (const [label, input, fields] of cases) {
        const err = await pair().fails((s) => s.instances.create(p1, input as never));
        expect(err.name, label).toBe('InvalidInputError');
        expect([...(err.fields as string[])].sort(), label).toEqual([...fields].sort());
      }
      expect(await pair().same(snapshot)).toEqual(before);
    });

    it('update with bad values is InvalidInputError naming each bad field', async () => {
      const vm = await pair().same((s) => s.instances.create(p1, { flavor }));
      const net = await pair().same((s) =>
        s.networks.create(p1, { label: 'n', cidr: '10.0.0.0/24' }),
      );
      const before = await pair().same(snapshot);
      const cases: [string, Record<string, unknown>, string[]][] = [
        ['wrong type', { host: 7 }, ['host']],
        ['out-of-range int', { flavor: { ...flavor, rootGb: -1 } }, ['flavor.rootGb']],
        ['over-long string', { host: 'h'.repeat(300) }, ['host']],
        ['string with NUL', { host: '\u0000' }, ['host']],
        ['unknown field', { nope: 1 }, ['nope']],
        ['system field', { revision: 9 }, ['revision']],
      ];
      for (const [label, patch, fields] of cases) {
        const err = await pair().fails((s) => s.instances.update(p1, vm.id, patch as never));
        expect(err, label).toMatchObject({ name: 'InvalidInputError', fields });
      }
      // An immutable field cannot be changed after create.
      expect(
        await pair().fails((s) => s.networks.update(p1, net.id, { cidr: '10.0.1.0/24' } as never)),
      ).toMatchObject({ name: 'InvalidInputError' });
      expect(await pair().same(snapshot)).toEqual(before);
    });

    it('bad ids, contexts and options are typed errors, and nothing is written', async () => {
      const vm = await pair().same((s) => s.instances.create(p1, { flavor }));
      const before = await pair().same(snapshot);
      const calls: [string, (s: Stores) => Promise<unknown>][] = [
        ['injected id', (s) => s.instances.get(p1, "' OR 1=1 --")],
        ['no context', (s) => s.instances.get(undefined as never, vm.id)],
        ['bad id in getMany', (s) => s.instances.getMany(p1, ['nope'])],
        ['revision 0', (s) => s.instances.update(p1, vm.id, {}, { expectedRevision: 0 })],
        ['unknown update option', (s) => s.instances.update(p1, vm.id, {}, { bogus: 1 } as never)],
        ['expected on delete', (s) => s.instances.delete(p1, vm.id, { expected: {} } as never)],
        ['NUL in create', (s) => s.instances.create(p1, { displayName: 'a\u0000b', flavor })],
        ['bad purge instant', (s) => s.instances.purge(admin, { deletedBefore: 'soon' })],
      ];
      for (const [label, call] of calls) {
        expect((await pair().fails(call)).name, label).toBe('InvalidInputError');
      }
      expect(await pair().same(snapshot)).toEqual(before);
    });

    it('bad queries are InvalidQueryError: unindexed fields, injected keys, limits, cursors', async () => {
      const calls: [string, (s: Stores) => Promise<unknown>][] = [
        ['unindexed where', (s) => s.instances.list(p1, { where: { metadata: {} } as never })],
        ['unindexed count', (s) => s.instances.count(p1, { flavor: 1 } as never)],
        [
          'injected where key',
          (s) => s.instances.list(p1, { where: { "display_name = '' OR 1=1 --": 'x' } as never }),
        ],
        ['limit 0', (s) => s.instances.list(p1, { limit: 0 })],
        ['limit 1001', (s) => s.instances.list(p1, { limit: 1001 })],
        ['garbage cursor', (s) => s.instances.list(p1, { after: 'garbage' })],
        ['injected cursor', (s) => s.instances.list(p1, { after: "c1.'; DROP TABLE x" })],
        ['unknown list option', (s) => s.instances.list(p1, { bogus: 1 } as never)],
      ];
      for (const [label, call] of calls) {
        expect((await pair().fails(call)).name, label).toBe('InvalidQueryError');
      }
    });
  });

  describe('values round-trip exactly', () => {
    it('keeps extreme ints, booleans, datetimes, IPv6 and lists', async () => {
      const svc = await pair().same((s) =>
        s.services.create(admin, {
          host: 'types',
          binary: 'types',
          codeVersion: Number.MAX_SAFE_INTEGER,
          lastSeenAt: '2026-02-03T04:05:06.789Z',
          disabled: true,
        }),
      );
      expect(svc).toMatchObject({
        codeVersion: Number.MAX_SAFE_INTEGER,
        disabled: true,
        lastSeenAt: '2026-02-03T04:05:06.789Z',
      });
      expect(await pair().same((s) => s.services.get(admin, svc.id))).toEqual(svc);
      const net = await pair().same((s) =>
        s.networks.create(p1, {
          label: 'json',
          cidr: '2001:db8:1::/64',
          gateway: '2001:db8:1::1',
          dnsServers: ['2001:4860:4860::8888', '8.8.8.8'],
        }),
      );
      expect(await pair().same((s) => s.networks.get(p1, net.id))).toEqual(net);
      for (const size of [Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0]) {
        const g = await pair().same((s) => gadgets(s).create(p1, { size }));
        expect((await pair().same((s) => gadgets(s).get(p1, g.id))).size).toBe(size);
      }
    });

    it('keeps hostile strings in indexed fields, plain fields and dict keys, and matches them literally', async () => {
      const ctx = createContext({ projectId: 'p\'hostile"--' });
      for (const [i, h] of HOSTILE.entries()) {
        const vm = await pair().same((s) =>
          s.instances.create(ctx, {
            displayName: h,
            host: h,
            flavor,
            metadata: { [h.slice(0, 60) || 'k']: h, "'": '"' },
          }),
        );
        expect(vm.displayName).toBe(h);
        const found = await pair().same((s) => s.instances.list(ctx, { where: { host: h } }));
        expect(found.items).toEqual([vm]);
        const g = await pair().same((s) =>
          gadgets(s).create(ctx, {
            name: h,
            zone: h,
            slot: i,
            labels: [h, h],
            code: h.length <= 20 ? h : null,
          }),
        );
        const where = h.length <= 20 ? { code: h } : { zone: { in: [h, 'nothing'] } };
        const byValue = await pair().same((s) => gadgets(s).list(ctx, { where }));
        expect(byValue.items).toEqual([g]);
        if (i % 4 === 0) await pair().same((s) => gadgets(s).count(ctx, { name: { gte: h } }));
      }
      const ordered = await pair().same((s) =>
        s.instances.list(ctx, { orderBy: { field: 'displayName' }, limit: 100 }),
      );
      expect(ordered.items.map((r) => r.displayName)).toEqual(
        [...HOSTILE].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
      // A hostile value matches nothing in another project.
      expect(await pair().same((s) => s.instances.count(p1, { host: HOSTILE[0]! }))).toBe(0);
      const g = await pair().same((s) => gadgets(s).list(ctx, { where: { zone: '$where' } }));
      const changed = await pair().same((s) =>
        gadgets(s).update(
          ctx,
          g.items[0]!.id,
          { name: '{"$ne": null}' },
          { expected: { zone: '$where' } },
        ),
      );
      expect(changed.name).toBe('{"$ne": null}');
    });

    it('keeps dict keys with $, . and %, nested lists and objects, in code point key order', async () => {
      const keys = [
        '$gt',
        '$',
        'a.b',
        '.',
        '..$..',
        '%',
        '%24',
        '%2E',
        '%25',
        '%a',
        '_id',
        'constructor',
        '😀.$',
        '\uFFFF',
      ];
      const tags = Object.fromEntries(keys.map((k, i) => [k, { [k]: `v${i}`, [`$${k}`]: k }]));
      const meta = Object.fromEntries(keys.map((k) => [k, k]));
      const grid = [[1, 2], [], [3, -4, 9007199254740991]];
      const spec = { path: ['$set', 'a.b'], extra: { $inc: 1, 'x.y': 2 } };
      const g = await pair().same((s) =>
        gadgets(s).create(p1, { name: 'keys', tags, meta, grid, spec }),
      );
      expect(g.tags).toEqual(tags);
      expect(g.meta).toEqual(meta);
      expect(g.grid).toEqual(grid);
      expect(g.spec).toEqual(spec);
      // Dict keys come back in one order on every backend: code point (UTF-8 byte) order.
      const inCodePointOrder = (v: unknown): unknown =>
        typeof v !== 'object' || v === null || Array.isArray(v)
          ? v
          : Object.fromEntries(
              Object.keys(v)
                .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
                .map((k) => [k, inCodePointOrder((v as Record<string, unknown>)[k])]),
            );
      expect(JSON.stringify(g.tags)).toBe(JSON.stringify(inCodePointOrder(tags)));
      const got = await pair().same((s) => gadgets(s).get(p1, g.id));
      expect(JSON.stringify(got)).toBe(JSON.stringify(g));
      const updated = await pair().same((s) =>
        gadgets(s).update(p1, g.id, { tags: { $unset: { 'a.b': '$x' } }, grid: [[0]] }),
      );
      expect(updated.tags).toEqual({ $unset: { 'a.b': '$x' } });
      expect(updated.grid).toEqual([[0]]);
      expect(JSON.stringify(await pair().same((s) => gadgets(s).get(p1, g.id)))).toBe(
        JSON.stringify(updated),
      );
    });
  });
}
