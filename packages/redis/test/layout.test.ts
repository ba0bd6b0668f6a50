import { readdirSync, readFileSync } from 'node:fs';
import { instanceResource, networkResource } from '@polystore/core';
import { compareCodePoints } from '@polystore/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gadgetResource } from '../../../test/contract/resources.js';
import { keyspace, ResourceLayout } from '../src/layout.js';
import { LUA_SCRIPTS } from '../src/scripts/lua-sources.js';
import { shakeScript } from '../tools/shake-lua.mjs';

const layout = new ResourceLayout(gadgetResource, keyspace('polystore:', 'ns'));

describe('layout', () => {
  it('derives every key from the schema, under one hash tag', () => {
    expect(layout.base).toBe('polystore:{ns}:gadgets:');
    expect(layout.sortFields).toEqual(['id', 'createdAt', 'updatedAt', 'name', 'size', 'seenAt']);
    expect(layout.eqFields).toEqual(['color', 'rank', 'active', 'owner', 'code', 'zone', 'slot']);
    expect(layout.unique).toEqual([['code'], ['color', 'rank'], ['zone', 'slot']]);
    expect(new ResourceLayout(instanceResource, 'x{y}:').eqFields).toEqual([
      'host',
      'vmState',
      'taskState',
    ]);
    expect(new ResourceLayout(networkResource, 'x{y}:').unique).toEqual([['vlan']]);
    expect(layout.sortKey('name', layout.partition('l', 'p1'))).toBe(
      'polystore:{ns}:gadgets:z:name:l:"p1"',
    );
    expect(layout.eqKey('color', layout.partition('d', null), 'null')).toBe(
      'polystore:{ns}:gadgets:q:color:d:null:null',
    );
    expect(layout.legacyEqKey('color', layout.partition('d', null), 'null')).toBe(
      'polystore:{ns}:gadgets:e:color:d:null:null',
    );
  });

  it('encodes ints as fixed-width tokens whose byte order is numeric order', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), fc.maxSafeInteger(), (a, b) => {
        const ta = layout.sortToken('size', a);
        const tb = layout.sortToken('size', b);
        expect(ta).toHaveLength(14);
        expect(Math.sign(Buffer.compare(Buffer.from(ta), Buffer.from(tb)))).toBe(Math.sign(a - b));
      }),
    );
  });

  it('keeps strings as tokens: UTF-8 byte order is code point order', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
        const c = Buffer.compare(
          Buffer.from(layout.sortToken('name', a)),
          Buffer.from(layout.sortToken('name', b)),
        );
        expect(Math.sign(c)).toBe(Math.sign(compareCodePoints(a, b)));
      }),
    );
  });

  it('embeds the current .lua files (run npm run embed-lua -w @polystore/redis after editing them)', () => {
    const dir = new URL('../src/scripts/', import.meta.url);
    const camel = (n: string) => n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const files = readdirSync(dir).filter((f) => f.endsWith('.lua'));
    const prelude = readFileSync(new URL('prelude.lua', dir), 'utf8');
    const scripts: Record<string, string> = {};
    for (const f of files)
      if (f !== 'prelude.lua')
        scripts[camel(f.slice(0, -4))] = shakeScript(
          prelude,
          readFileSync(new URL(f, dir), 'utf8'),
        );
    expect({ ...LUA_SCRIPTS }).toEqual(scripts);
  });
});
