import { describe, expect, it } from 'vitest';
import { backportFields, upgradeFields } from '../src/adapter.js';
import { defineResource, f, historyOf, IncompatibleVersionError } from '../src/index.js';

const base = {
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: true,
} as const;

/** Three versions: 1.1 adds an indexed field with a transform, 1.2 adds an enum value and an index. */
const gadget = defineResource({
  ...base,
  version: '1.2',
  history: {
    '1.0': 'initial version',
    '1.1': {
      note: 'added size (from label length) and color',
      up: { size: (r) => String(r.label).length },
    },
    '1.2': {
      note: 'added state "retired" (an old reader sees "stopped"), indexed label',
      enumValues: { state: { added: ['retired'], down: { retired: 'stopped' } } },
      addIndexes: ['label'],
    },
  },
  fields: {
    label: f.string().indexed(),
    state: f.enum(['active', 'stopped', 'retired']).default('active'),
    size: f.int().indexed().addedIn('1.1'),
    color: f.string().nullable().addedIn('1.1'),
  },
  unique: [['label', 'size']],
});

describe('history as data', () => {
  it('derives the fields, indexes, uniques and enum values of every version', () => {
    const h = historyOf(gadget);
    expect(h.versions.map((v) => v.version)).toEqual(['1.0', '1.1', '1.2']);
    const [v10, v11, v12] = h.versions;
    expect(v10!.fieldNames).toEqual(['label', 'state']);
    expect(v10!.fields.state!.values).toEqual(['active', 'stopped']);
    expect(v10!.indexes).toEqual([]);
    expect(v10!.uniques).toEqual([]);
    expect(v11!.fieldNames).toEqual(['label', 'state', 'size', 'color']);
    expect(v11!.indexes).toEqual([{ field: 'size', kind: 'eq' }]);
    expect(v11!.uniques).toEqual([['label', 'size']]);
    expect(v11!.added).toEqual([
      { field: 'size', transform: true },
      { field: 'color', transform: false },
    ]);
    expect(v12!.fields.state!.values).toEqual(['active', 'stopped', 'retired']);
    expect(v12!.indexes).toEqual([
      { field: 'label', kind: 'eq' },
      { field: 'size', kind: 'eq' },
    ]);
    expect(v12!.enumValues).toEqual({ state: { retired: 'stopped' } });
  });

  it('upgrades and backports records through the history', () => {
    const h = historyOf(gadget);
    const old = { label: 'abcd', state: 'stopped' };
    expect(upgradeFields('gadget', h, old, '1.0', '1.2')).toEqual({
      label: 'abcd',
      state: 'stopped',
      size: 4,
      color: null,
    });
    const now = { label: 'x', state: 'retired', size: 9, color: 'red' };
    expect(backportFields('gadget', h, now, '1.2', '1.1')).toEqual({ ...now, state: 'stopped' });
    expect(backportFields('gadget', h, now, '1.2', '1.0')).toEqual({
      label: 'x',
      state: 'stopped',
    });
    expect(() => backportFields('gadget', h, now, '1.2', '0.9')).toThrow(IncompatibleVersionError);
  });

  it('refuses an enum value an older reader cannot hold when no mapping is declared', () => {
    const r = defineResource({
      ...base,
      version: '1.1',
      history: { '1.0': 'initial', '1.1': { note: 'x', enumValues: { s: { added: ['c'] } } } },
      fields: { s: f.enum(['a', 'b', 'c']) },
    });
    expect(() => backportFields('gadget', historyOf(r), { s: 'c' }, '1.1', '1.0')).toThrow(
      IncompatibleVersionError,
    );
    expect(backportFields('gadget', historyOf(r), { s: 'b' }, '1.1', '1.0')).toEqual({ s: 'b' });
  });

  it('refuses a since that is not a history version', () => {
    expect(() =>
      defineResource({
        ...base,
        version: '1.2',
        history: { '1.0': 'a', '1.2': 'b' },
        fields: { x: f.int().default(0).addedIn('1.1') },
      }),
    ).toThrow(/added in 1.1, which is not a history version/);
  });

  it('refuses a later-added required field with neither default nor transform', () => {
    expect(() =>
      defineResource({
        ...base,
        version: '1.1',
        history: { '1.0': 'a', '1.1': 'b' },
        fields: { x: f.int().addedIn('1.1') },
      }),
    ).toThrow(/neither a default nor an up-transform/);
  });

  it('refuses a removed field still used by an index or a unique constraint', () => {
    expect(() =>
      defineResource({
        ...base,
        version: '2.0',
        history: { '1.0': 'a', '2.0': { note: 'b', removed: { old: f.string().indexed() } } },
        fields: { x: f.int() },
      }),
    ).toThrow(/still used by an index/);
    expect(() =>
      defineResource({
        ...base,
        version: '2.0',
        history: {
          '1.0': 'a',
          '2.0': { note: 'b', removed: { old: f.string().indexed() }, dropIndexes: { old: 'eq' } },
          '2.1': 'c',
        },
        fields: { x: f.int() },
      }),
    ).toThrow(/versions after the current/);
    const ok = defineResource({
      ...base,
      version: '2.0',
      history: {
        '1.0': 'a',
        '2.0': { note: 'b', removed: { old: f.string().indexed() }, dropIndexes: { old: 'eq' } },
      },
      fields: { x: f.int() },
    });
    expect(historyOf(ok).at('1.0')!.indexes).toEqual([{ field: 'old', kind: 'eq' }]);
    expect(historyOf(ok).at('2.0')!.fieldNames).toEqual(['x']);
    expect(() =>
      defineResource({
        ...base,
        version: '2.0',
        history: {
          '1.0': 'a',
          '2.0': { note: 'b', removed: { old: f.string().indexed() }, dropIndexes: { old: 'eq' } },
        },
        fields: { x: f.int().indexed() },
        unique: [['x']],
      }),
    ).not.toThrow();
  });

  it('refuses a removed field still used by a unique constraint', () => {
    const history = (dropAt: string) => ({
      '1.0': 'a',
      '2.0': {
        note: 'b',
        removed: { old: f.string() },
        ...(dropAt === '2.0' ? { dropUnique: [['old']] } : {}),
      },
      '2.1': { note: 'c', ...(dropAt === '2.1' ? { dropUnique: [['old']] } : {}) },
    });
    expect(() =>
      defineResource({ ...base, version: '2.1', history: history('2.1'), fields: { x: f.int() } }),
    ).toThrow(/removed while unique constraint \(old\) still uses it/);
    const ok = defineResource({
      ...base,
      version: '2.1',
      history: history('2.0'),
      fields: { x: f.int() },
    });
    expect(historyOf(ok).at('1.0')!.uniques).toEqual([['old']]);
    expect(historyOf(ok).at('2.0')!.uniques).toEqual([]);
  });

  it('refuses a field removed in a minor version', () => {
    expect(() =>
      defineResource({
        ...base,
        version: '1.1',
        history: { '1.0': 'a', '1.1': { note: 'b', removed: { old: f.string() } } },
        fields: { x: f.int() },
      }),
    ).toThrow(/needs a major version/);
  });

  it('refuses versions out of order', () => {
    expect(() =>
      defineResource({
        ...base,
        version: '1.1',
        history: { '1.1': 'b', '1.0': 'a' },
        fields: { x: f.int() },
      }),
    ).toThrow(/out of order/);
  });
});
