/**
 * The read paths' shortcuts: list.lua sorts its candidates with Lua's own '<' where that is
 * byte order (lt_is_bytewise in prelude.lua), and get, getMany and list bring back only the
 * record's fields, each record one string of JSON texts (record_row).
 */
import { readFileSync } from 'node:fs';
import { createContext, sequentialIds } from '@polystore/core';
import { createStores, type Predicate, type ReadScope } from '@polystore/core/adapter';
import { freshNamespace } from '@polystore/testing/vitest';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACT_RESOURCES, gadgetResource } from '../../../test/contract/resources.js';
import { openRedisBackend } from '../src/redis-adapter.js';
import type { RedisBackend } from '../src/redis-backend.js';
import { shakeScript } from '../tools/shake-lua.mjs';
import { redisUrl } from './helpers.js';

const p1 = createContext({ projectId: 'p1' });
const scopeP1: ReadScope = { projectId: 'p1', includeShared: false, deleted: 'no' };

let raw: Redis;
const opened: RedisBackend[] = [];
beforeAll(() => {
  raw = new Redis(redisUrl());
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  await raw.quit();
});

const PRELUDE = readFileSync(new URL('../src/scripts/prelude.lua', import.meta.url), 'utf8');

/** Runs `body` after the prelude's definitions it uses on the test server, with byte-string arguments. */
async function lua(body: string, args: readonly Buffer[]): Promise<unknown> {
  return raw.callBuffer('EVAL', shakeScript(PRELUDE, body), '0', ...args);
}

const hex = (bs: readonly Buffer[]) => bs.map((b) => b.toString('hex'));

describe("Lua's string order on the server", () => {
  // Sorts the arguments three ways (Lua's '<', cmp, sort_members descending) and counts
  // the pairs on which cmp_fast (what within compares with) and cmp disagree.
  const SORTS = `
local function copy() local t = {} for i = 1, #ARGV do t[i] = ARGV[i] end return t end
local native, bycmp, desc = copy(), copy(), copy()
table.sort(native)
table.sort(bycmp, function(a, b) return cmp(a, b) < 0 end)
sort_members(desc, true)
local differ = 0
for _, a in ipairs(ARGV) do
  for _, b in ipairs(ARGV) do
    if cmp_fast(a, b) ~= cmp(a, b) then differ = differ + 1 end
  end
end
return { lt_is_bytewise() and 1 or 0, native, bycmp, desc, differ }`;

  /** A sort token: text with multi-byte UTF-8 (two to four bytes), case, punctuation and NULs. */
  const token = fc
    .array(
      fc.oneof(
        fc.constantFrom('a', 'B', 'b', 'z', 'Z', '-', ' ', '0', '9', '~', '\u0000', '\u0001'),
        fc.constantFrom('é', 'e\u0301', 'ß', '\u007f', '\u0080', '\u07ff', '\u0800', '\uffff'),
        fc.constantFrom('😀', '\u{10000}', '\u{10ffff}', 'ｱ', '\ufb01'),
        fc.string({ unit: 'binary', maxLength: 3 }),
      ),
      { maxLength: 8 },
    )
    .map((parts) => parts.join(''));
  /**
   * A sorted-set member as list.lua sorts them, '<token>\0<id>', or a bound above every
   * member of a token, '<token>\0\xff' (not UTF-8), as within compares members with.
   */
  const member = fc.oneof(
    fc
      .tuple(token, fc.constantFrom('id-1', 'id-2', 'ID', '00000000-0000-7000-8000-00000000000a'))
      .map(([t, id]) => Buffer.from(`${t}\u0000${id}`, 'utf8')),
    token.map((t) => Buffer.concat([Buffer.from(t, 'utf8'), Buffer.from([0, 0xff])])),
  );

  it("is byte order here, so list.lua's table.sort and within agree with cmp and Buffer.compare", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(member, { maxLength: 60 }), async (members) => {
        const [bytewise, native, bycmp, desc, differ] = (await lua(SORTS, members)) as [
          number,
          Buffer[],
          Buffer[],
          Buffer[],
          number,
        ];
        const expected = [...members].sort(Buffer.compare);
        expect(bytewise).toBe(1);
        expect(hex(native)).toEqual(hex(expected));
        expect(hex(bycmp)).toEqual(hex(expected));
        expect(hex(desc)).toEqual(hex([...expected].reverse()));
        expect(differ).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it('tells apart the collations of other locales, whose order is not byte order', () => {
    // The pairs lt_is_bytewise checks, each in byte order (first < second).
    const pairs: [string, string][] = [
      ['B', 'a'],
      ['a-c', 'ab'],
      ['z', 'é'],
      ['é', '😀'],
      ['a\u0000z', 'a\u0000é'],
      ['a', 'a\u0000'],
    ];
    for (const [a, b] of pairs) {
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b)), `${a} < ${b}`).toBe(-1);
    }
    // Collations as a locale other than C or C.UTF-8 gives strcoll (ICU's here, glibc's
    // alike at the first level): each gets at least one pair the other way round.
    for (const locale of ['en-US', 'de-DE', 'fr-FR', 'sv-SE', 'ja-JP']) {
      const collator = new Intl.Collator(locale);
      const wrong = pairs.filter(([a, b]) => collator.compare(a, b) >= 0);
      expect(wrong.length, locale).toBeGreaterThan(0);
    }
  });
});

describe('read replies', () => {
  async function fresh() {
    const namespace = freshNamespace('read_paths');
    const backend = await openRedisBackend(redisUrl(), {
      adapter: { namespace },
      resources: CONTRACT_RESOURCES,
    });
    opened.push(backend);
    const stores = createStores(backend, {
      resources: CONTRACT_RESOURCES,
      ids: sequentialIds(),
    });
    return { backend, gadgets: stores.store(gadgetResource), namespace };
  }

  // Names whose code point order differs from a locale's: case, punctuation, accents,
  // astral characters, a control character.
  const NAMES = ['a', 'B', 'b', 'a-c', 'ab', 'é', 'e', 'z', 'Z', '😀', 'ｱ', 'c\u0001tl'];

  it('a filtered list sorts its candidates in code point order, both ways, page by page', async () => {
    const { gadgets } = await fresh();
    // 12 red among 40: a page of 3 asks for 4, and 12 * 12 <= 4 * 40, so list.lua takes
    // the candidates from the equality set of color and sorts them.
    for (const name of NAMES) await gadgets.create(p1, { name, color: 'red' });
    for (let i = 0; i < 28; i++) await gadgets.create(p1, { name: `f${i}`, color: 'blue' });
    const red = (await gadgets.list(p1, { where: { color: 'red' }, limit: 100 })).items;
    const byName = [...red].sort(
      (x, y) =>
        Buffer.compare(Buffer.from(x.name), Buffer.from(y.name)) ||
        Buffer.compare(Buffer.from(x.id), Buffer.from(y.id)),
    );
    for (const direction of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof gadgets.list>> = await gadgets.list(p1, {
          where: { color: 'red' },
          orderBy: { field: 'name', direction },
          limit: 3,
          ...(after === null ? {} : { after }),
        });
        seen.push(...page.items.map((g) => g.name));
        after = page.next;
      } while (after !== null);
      const want = byName.map((g) => g.name);
      expect(seen, direction).toEqual(direction === 'asc' ? want : want.reverse());
    }
  });

  it('by id, the candidates of an equality on a sortable field come in order, both ways', async () => {
    const { gadgets } = await fresh();
    // 8 of size 7 among 40: a page of 3 asks for 4, and 8 * 8 <= 4 * 40, so list.lua takes
    // the members of size 7 from the size index, already in id order.
    const want: string[] = [];
    for (let i = 0; i < 40; i++) {
      const g = await gadgets.create(p1, { name: `g${i}`, size: i % 5 === 0 ? 7 : i });
      if (g.size === 7) want.push(g.id);
    }
    want.sort();
    for (const direction of ['asc', 'desc'] as const) {
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof gadgets.list>> = await gadgets.list(p1, {
          where: { size: 7 },
          orderBy: { field: 'id', direction },
          limit: 3,
          ...(after === null ? {} : { after }),
        });
        seen.push(...page.items.map((g) => g.id));
        after = page.next;
      } while (after !== null);
      expect(seen, direction).toEqual(direction === 'asc' ? want : [...want].reverse());
    }
  });

  it('get, getMany and list carry the fields only: no hidden or foreign field, absent stays absent', async () => {
    const { backend, gadgets, namespace } = await fresh();
    // Values whose JSON texts hold escapes (an empty string in a list, the text '\u0000').
    const made = await gadgets.create(p1, {
      name: 'c\u0001tl',
      color: 'red',
      zone: null,
      labels: ['', '\\u0000'],
    });
    const key = `polystore:{${namespace}}:gadgets:r:${made.id}`;
    // A field the record lacks (written by a definition without it) and one no version
    // of the resource has.
    await raw.hdel(key, 'spec');
    await raw.hset(key, 'foreign', '"x"');
    // Such a record has no stored row (a hand edit must drop it, see the README).
    await raw.del(key.replace(':r:', ':w:'));
    const driver = backend.driver(gadgetResource);
    const where = [{ field: 'color', op: 'eq' as const, value: 'red' }];
    const reads = [
      await driver.get(scopeP1, made.id),
      ...(await driver.getMany(scopeP1, [made.id])),
      ...(await driver.list(scopeP1, {
        where,
        orderBy: { field: 'id', direction: 'asc' },
        limit: 10,
        after: null,
      })),
    ];
    expect(reads).toHaveLength(3);
    for (const r of reads) {
      expect(Object.keys(r ?? {}).filter((k) => k.startsWith('~') || k === 'foreign')).toEqual([]);
      expect(r).not.toHaveProperty('spec');
      expect(r).toMatchObject({ id: made.id, name: 'c\u0001tl', zone: null, revision: 1 });
      expect(r).toMatchObject({ labels: ['', '\\u0000'] });
    }
    expect(await gadgets.get(p1, made.id)).toMatchObject({ spec: null });
  });

  it('reads field values another program wrote: JSON texts of every kind, else a typed error naming the field', async () => {
    const { backend, gadgets, namespace } = await fresh();
    const made = await gadgets.create(p1, { name: 'plain', color: 'red', zone: null, labels: [] });
    const key = `polystore:{${namespace}}:gadgets:r:${made.id}`;
    const driver = backend.driver(gadgetResource);
    // JSON all the same, though JSON.stringify would not write them so: escapes, whitespace.
    const json: [string, unknown][] = [
      ['"\\u00e9t\\u00e9"', 'été'],
      ['"a\\"b"', 'a"b'],
      ['"tab\\there"', 'tab\there'],
      [' "spaced" ', 'spaced'],
      ['""', ''],
    ];
    // Another program that edits a record drops its stored row (see the README).
    const edit = async (text: string) => {
      await raw.hset(key, 'name', text);
      await raw.del(key.replace(':r:', ':w:'));
    };
    for (const [text, value] of json) {
      await edit(text);
      expect((await driver.get(scopeP1, made.id))?.name).toBe(value);
      expect((await driver.getMany(scopeP1, [made.id]))[0]?.name).toBe(value);
    }
    // Not JSON: a raw control character in a string, an unclosed string, a bare word.
    for (const text of ['"tab\there"', '"open', 'plain']) {
      await edit(text);
      await expect(driver.get(scopeP1, made.id)).rejects.toThrow(/field name under .* is not JSON/);
    }
  });

  it('passes over an index entry whose record is gone: the page is still full', async () => {
    const { gadgets, namespace } = await fresh();
    for (let i = 0; i < 6; i++) await gadgets.create(p1, { name: `r${i}`, color: 'red' });
    for (let i = 0; i < 20; i++) await gadgets.create(p1, { name: `b${i}`, color: 'blue' });
    // An id that sorts first, in the equality set and the id index of the partition, with
    // no record (what a crash between two commands of another program could leave).
    const ghost = '00000000-0000-7000-8000-000000000000';
    const base = `polystore:{${namespace}}:gadgets:`;
    await raw.sadd(`${base}e:color:l:"p1":"red"`, ghost);
    await raw.zadd(`${base}z:id:l:"p1"`, 0, `${ghost}\u0000${ghost}`);
    const filtered = await gadgets.list(p1, { where: { color: 'red' }, limit: 4 });
    expect(filtered.items.map((g) => g.name)).toEqual(['r0', 'r1', 'r2', 'r3']);
    const walked = await gadgets.list(p1, { limit: 4 });
    expect(walked.items.map((g) => g.name)).toEqual(['r0', 'r1', 'r2', 'r3']);
    expect(await gadgets.getMany(p1, [ghost])).toEqual([]);
  });

  it('a page from the server holds at most its limit, walked from one index or merged from several', async () => {
    const { backend, gadgets } = await fresh();
    const made: Awaited<ReturnType<typeof gadgets.create>>[] = [];
    for (let i = 0; i < 12; i++) {
      made.push(
        await gadgets.create(p1, {
          name: `n${String(11 - i).padStart(2, '0')}`,
          color: i % 3 === 0 ? 'blue' : 'red',
          zone: i % 2 === 0 ? 'even' : 'odd',
        }),
      );
    }
    const driver = backend.driver(gadgetResource);
    const page = async (field: 'id' | 'name', where: readonly Predicate[]) =>
      (
        await driver.list(scopeP1, {
          where,
          orderBy: { field, direction: 'asc' },
          limit: 3,
          after: null,
        })
      ).map((r) => r.id);
    const first3 = (keep: (g: (typeof made)[number]) => boolean) =>
      made
        .filter(keep)
        .map((g) => g.id)
        .slice(0, 3);
    const eq = (field: string, value: string): Predicate => ({ field, op: 'eq', value });
    // One equality index (one stream): every entry walked matches.
    expect(await page('id', [eq('color', 'red')])).toEqual(first3((g) => g.color === 'red'));
    // One equality index, and another filter checked per entry.
    expect(await page('id', [eq('color', 'red'), eq('zone', 'odd')])).toEqual(
      first3((g) => g.color === 'red' && g.zone === 'odd'),
    );
    // The order index of one partition (one stream), by name.
    expect(await page('name', [])).toEqual(
      made
        .slice(-3)
        .reverse()
        .map((g) => g.id),
    );
    // Two values of an equality index: two streams, merged.
    expect(await page('id', [{ field: 'color', op: 'in', value: ['red', 'blue'] }])).toEqual(
      first3(() => true),
    );
  });
});
