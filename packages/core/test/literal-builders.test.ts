import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f } from '../src/index.js';
import { compileRecordBuilder, compileShapeBuilder } from '../src/schema/literal-builders.js';
import { canonicalFieldValue, fieldFreezer } from '../src/schema/values.js';

const identity = (v: unknown) => v;

describe('compileShapeBuilder (object fields as one literal)', () => {
  const shape = {
    vcpus: f.int(),
    memoryMb: f.int(),
    name: f.string().nullable(),
    tags: f.dict(f.string()),
  };
  const field = f.object(shape);
  const declared = Object.keys(shape);

  it('copies like canonicalFieldValue whatever keys a stored value has and in whatever order', () => {
    expect(compileShapeBuilder(declared, [identity], identity)).toBeTypeOf('function');
    const value = fc
      .record({
        present: fc.subarray(declared),
        extra: fc.uniqueArray(fc.constantFrom('zeta', 'alpha', '__proto__', 'a-b'), {
          maxLength: 2,
        }),
        seed: fc.integer(),
      })
      .chain(({ present, extra }) =>
        fc.shuffledSubarray([...present, ...extra], { minLength: present.length + extra.length }),
      )
      .map((keys) => {
        const o: Record<string, unknown> = {};
        for (const k of keys) {
          const v = k === 'tags' ? { b: '1', a: '2' } : k === 'name' ? null : k.length;
          Object.defineProperty(o, k, {
            value: v,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return o;
      });
    fc.assert(
      fc.property(value, (v) => {
        const expected = canonicalFieldValue(field, structuredClone(v));
        const out = fieldFreezer(field)(v);
        expect(JSON.stringify(out)).toBe(JSON.stringify(expected));
        expect(Object.isFrozen(out)).toBe(true);
        expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      }),
      { numRuns: 300 },
    );
  });

  it('is not compiled for keys that are not plain identifiers, and the field still copies', () => {
    expect(compileShapeBuilder(['a-b'], [identity], identity)).toBeUndefined();
    expect(compileShapeBuilder(['__proto__'], [identity], identity)).toBeUndefined();
    expect(compileShapeBuilder([], [], identity)).toBeUndefined();
    const odd = f.object({ 'a-b': f.int(), ['__proto__']: f.int() });
    const v = JSON.parse('{"__proto__": 1, "a-b": 2}') as Record<string, unknown>;
    const out = fieldFreezer(odd)(v);
    expect(JSON.stringify(out)).toBe(JSON.stringify(canonicalFieldValue(odd, v)));
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });
});

describe('compileRecordBuilder (finished records as one literal)', () => {
  const fields = [
    { name: 'label', freeze: identity, absent: 'none' },
    {
      name: 'spec',
      freeze: (v: unknown) => Object.freeze({ ...(v as object), copied: true }),
      absent: null,
    },
  ];

  it('orders the keys, fills what is absent, passes objects through their freezer and freezes', () => {
    const build = compileRecordBuilder(fields)!;
    expect(build).toBeTypeOf('function');
    const out = build({
      objectVersion: '1.0',
      spec: { x: 1 },
      id: 'a',
      revision: 3,
      createdAt: 'c',
      updatedAt: 'u',
    });
    expect(Object.keys(out)).toEqual([
      'id',
      'projectId',
      'label',
      'spec',
      'revision',
      'createdAt',
      'updatedAt',
      'deletedAt',
      'objectVersion',
    ]);
    expect(out).toEqual({
      id: 'a',
      projectId: null,
      label: 'none',
      spec: { x: 1, copied: true },
      revision: 3,
      createdAt: 'c',
      updatedAt: 'u',
      deletedAt: null,
      objectVersion: '1.0',
    });
    expect(Object.isFrozen(out)).toBe(true);
    expect(build({ id: 'b', label: null, spec: null }).label).toBeNull();
  });

  it('is not compiled for names it cannot write bare or that are system fields', () => {
    expect(compileRecordBuilder([{ name: 'a-b', freeze: identity, absent: null }])).toBeUndefined();
    expect(
      compileRecordBuilder([{ name: 'revision', freeze: identity, absent: null }]),
    ).toBeUndefined();
    expect(compileRecordBuilder([])).toBeTypeOf('function');
  });
});
