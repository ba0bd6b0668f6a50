import { describe, expect, it } from 'vitest';
import {
  elementNames,
  elementsBetween,
  elementsFromNames,
  elementsMinus,
  elementsOf,
  elementsUnion,
  isEmptyElements,
  knownField,
  NO_ELEMENTS,
  type ResourceDriver,
  supportsEvolution,
  UniqueViolationError,
} from '../src/adapter.js';
import { DuplicateError, defineResource, f } from '../src/index.js';

const base = { name: 'gadget', plural: 'gadgets', scope: 'project', softDelete: true } as const;

/** 1.1 adds fields and a unique; 1.2 indexes label; 2.0 removes `old` with its index and unique. */
const gadget = defineResource({
  ...base,
  version: '2.0',
  history: {
    '1.0': 'initial version',
    '1.1': { note: 'added size and color, unique (label, size)', addUnique: [['label', 'size']] },
    '1.2': { note: 'indexed label', addIndexes: ['label'] },
    '2.0': {
      note: 'removed old',
      removed: { old: f.string().indexed() },
      dropIndexes: { old: 'eq' },
      dropUnique: [['old']],
    },
  },
  fields: {
    label: f.string().indexed(),
    size: f.int().indexed().default(0).addedIn('1.1'),
    color: f.string().nullable().addedIn('1.1'),
  },
  unique: [['label', 'size']],
});

const names = (e: { fields: readonly { name: string }[] }) => e.fields.map((x) => x.name);

describe('elementsOf', () => {
  it('gives every field, index and unique of a version, from the history', () => {
    const v10 = elementsOf(gadget, '1.0');
    expect(names(v10)).toEqual(['label', 'old']);
    expect(v10.indexes).toEqual([{ field: 'old', kind: 'eq' }]);
    expect(v10.uniques).toEqual([['old']]);
    const v20 = elementsOf(gadget);
    expect(names(v20)).toEqual(['label', 'size', 'color']);
    expect(v20.fields[1]!.field.kind).toBe('int');
    expect(v20.indexes).toEqual([
      { field: 'label', kind: 'eq' },
      { field: 'size', kind: 'eq' },
    ]);
    expect(v20.uniques).toEqual([['label', 'size']]);
  });

  it('refuses a version the history does not have', () => {
    expect(() => elementsOf(gadget, '1.7')).toThrow(/no version 1\.7.*1\.0, 1\.1, 1\.2, 2\.0/);
  });
});

describe('elementsBetween', () => {
  it('expands what the newer version adds, contracts nothing on a minor step', () => {
    const { expand, contract } = elementsBetween(gadget, '1.0', '1.1');
    expect(names(expand)).toEqual(['size', 'color']);
    expect(expand.indexes).toEqual([{ field: 'size', kind: 'eq' }]);
    expect(expand.uniques).toEqual([['label', 'size']]);
    expect(isEmptyElements(contract)).toBe(true);
  });

  it('expands an index added to an existing field at its own version', () => {
    const { expand, contract } = elementsBetween(gadget, '1.1', '1.2');
    expect(expand).toEqual({ fields: [], indexes: [{ field: 'label', kind: 'eq' }], uniques: [] });
    expect(isEmptyElements(contract)).toBe(true);
  });

  it('contracts the removed field with its index and unique, over several versions at once', () => {
    const { expand, contract } = elementsBetween(gadget, '1.0', '2.0');
    expect(names(expand)).toEqual(['size', 'color']);
    expect(expand.indexes).toEqual([
      { field: 'label', kind: 'eq' },
      { field: 'size', kind: 'eq' },
    ]);
    expect(names(contract)).toEqual(['old']);
    expect(contract.indexes).toEqual([{ field: 'old', kind: 'eq' }]);
    expect(contract.uniques).toEqual([['old']]);
  });

  it('is the mirror image going back, and empty for one version', () => {
    const up = elementsBetween(gadget, '1.0', '2.0');
    const down = elementsBetween(gadget, '2.0', '1.0');
    expect(down.expand).toEqual(up.contract);
    expect(down.contract).toEqual(up.expand);
    const same = elementsBetween(gadget, '1.2', '1.2');
    expect(isEmptyElements(same.expand) && isEmptyElements(same.contract)).toBe(true);
  });

  it('treats an index whose kind changed as one dropped and one added', () => {
    const a = { fields: [], indexes: [{ field: 'x', kind: 'eq' as const }], uniques: [] };
    const b = { fields: [], indexes: [{ field: 'x', kind: 'sort' as const }], uniques: [] };
    expect(elementsMinus(b, a).indexes).toEqual([{ field: 'x', kind: 'sort' }]);
    expect(elementsMinus(a, b).indexes).toEqual([{ field: 'x', kind: 'eq' }]);
    expect(elementsMinus(a, NO_ELEMENTS)).toEqual(a);
  });
});

describe('evolution SPI helpers', () => {
  it('UniqueViolationError is a DuplicateError naming the clashing ids', () => {
    const err = new UniqueViolationError('gadget', ['label'], ['a', 'b']);
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err).toMatchObject({ code: 'DUPLICATE', fields: ['label'], ids: ['a', 'b'] });
    expect(err.name).toBe('UniqueViolationError');
    expect(err.message).toMatch(/unique constraint \(label\).*a, b/);
  });

  it('supportsEvolution needs all three driver methods', () => {
    const plain = {} as ResourceDriver;
    expect(supportsEvolution(plain)).toBe(false);
    const partial = { countByVersion: async () => ({}) } as unknown as ResourceDriver;
    expect(supportsEvolution(partial)).toBe(false);
    const full = {
      countByVersion: async () => ({}),
      scanVersion: async () => ({ records: [], after: undefined }),
      rewrite: async () => ({ status: 'not-found' }) as const,
    } as unknown as ResourceDriver;
    expect(supportsEvolution(full)).toBe(true);
  });
});

describe('applied elements as stored data', () => {
  it('union adds what is missing once, in order; minus takes it back', () => {
    const v10 = elementsOf(gadget, '1.0');
    const { expand } = elementsBetween(gadget, '1.0', '1.2');
    const applied = elementsUnion(v10, expand);
    expect(names(applied)).toEqual([...names(v10), ...names(expand)]);
    expect(elementsUnion(applied, expand)).toEqual(applied);
    expect(elementsMinus(applied, expand)).toEqual(elementsMinus(v10, NO_ELEMENTS));
  });

  it('round-trips through its stored names, with the code declaration of each field', () => {
    const applied = elementsOf(gadget, '1.2');
    const stored = JSON.parse(JSON.stringify(elementNames(applied)));
    expect(stored.fields).toEqual(names(applied));
    const back = elementsFromNames(stored, gadget);
    expect(back.indexes).toEqual(applied.indexes);
    expect(back.uniques).toEqual(applied.uniques);
    expect(back.fields.map((x) => x.field)).toEqual(
      names(applied).map((n) => knownField(gadget, n)),
    );
  });

  it('describes a field only another definition knows, or as the caller says', () => {
    expect(knownField(gadget, 'old')).toBeDefined(); // removed at 2.0, known to its history
    expect(knownField(gadget, 'shiny')).toBeUndefined();
    const back = elementsFromNames({ fields: ['shiny'] }, gadget);
    expect(back.fields[0]?.field.kind).toBe('string');
    expect(back.fields[0]?.field.isNullable).toBe(true);
    const asInt = elementsFromNames({ fields: ['shiny'] }, gadget, () => f.int());
    expect(asInt.fields[0]?.field.kind).toBe('int');
    expect(elementsFromNames({}, gadget)).toEqual(NO_ELEMENTS);
  });
});
