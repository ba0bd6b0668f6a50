import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  normaliseOrder,
  normaliseWhere,
  validateCreate,
  validateExpected,
  validatePatch,
} from '../src/adapter.js';
import {
  type AnyResource,
  computeResources,
  defineResource,
  f,
  InvalidInputError,
  InvalidQueryError,
  instanceResource,
  networkResource,
  type RecordOf,
} from '../src/index.js';
import { invalidValue, validCreate } from './arbitraries.js';

describe('schema validation', () => {
  for (const resource of computeResources as readonly AnyResource[]) {
    describe(resource.name, () => {
      it('accepts every generated valid create input', () => {
        fc.assert(
          fc.property(validCreate(resource), (input) => {
            const out = validateCreate(resource, input);
            expect(Object.keys(out.values)).toEqual(resource.fieldNames);
          }),
          { numRuns: 200 },
        );
      });

      it('rejects a generated invalid value, naming the field', () => {
        fc.assert(
          fc.property(
            validCreate(resource),
            fc
              .constantFrom(...resource.fieldNames)
              .chain((name) =>
                invalidValue(resource.fields[name]!).map((bad) => [name, bad] as const),
              ),
            (input, [name, bad]) => {
              const err = (() => {
                try {
                  validateCreate(resource, { ...input, [name]: bad });
                } catch (e) {
                  return e;
                }
              })();
              expect(err).toBeInstanceOf(InvalidInputError);
              expect(
                (err as InvalidInputError).fields.some(
                  (p) => p === name || p.startsWith(`${name}.`),
                ),
              ).toBe(true);
            },
          ),
          { numRuns: 300 },
        );
      });
    });
  }

  it('names every bad field at once', () => {
    const err = (() => {
      try {
        validateCreate(instanceResource, {
          displayName: 5,
          hostname: 'NOT_A_HOST',
          flavor: { vcpus: 0, memoryMb: 1.5, rootGb: 1, extra: 1 },
          nope: true,
        });
      } catch (e) {
        return e as InvalidInputError;
      }
    })();
    expect(err?.fields.sort()).toEqual([
      'displayName',
      'flavor.extra',
      'flavor.memoryMb',
      'flavor.vcpus',
      'hostname',
      'nope',
    ]);
  });

  it('applies defaults as fresh copies', () => {
    const a = validateCreate(instanceResource, { flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 } });
    const b = validateCreate(instanceResource, { flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 } });
    expect(a.values.metadata).toEqual({});
    expect(a.values.metadata).not.toBe(b.values.metadata);
    expect(a.values.taskState).toBeNull();
    expect(a.values.vmState).toBe('building');
  });

  it('refuses immutable and system fields in a patch', () => {
    expect(() => validatePatch(networkResource, { cidr: '10.1.0.0/24' })).toThrow(
      InvalidInputError,
    );
    expect(() => validatePatch(networkResource, { revision: 3 })).toThrow(InvalidInputError);
    expect(validatePatch(networkResource, { label: 'x' })).toEqual({ label: 'x' });
  });

  it('refuses __proto__ and NUL dict keys', () => {
    const base = { flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 } };
    expect(() =>
      validateCreate(instanceResource, { ...base, metadata: JSON.parse('{"__proto__": "x"}') }),
    ).toThrow(InvalidInputError);
    expect(() =>
      validateCreate(instanceResource, { ...base, metadata: { 'a\u0000': 'x' } }),
    ).toThrow(InvalidInputError);
    expect(
      validateCreate(instanceResource, { ...base, metadata: { $gt: '', 'a.b': '{"$ne": 1}' } })
        .values.metadata,
    ).toEqual({
      $gt: '',
      'a.b': '{"$ne": 1}',
    });
  });

  it('validates expected values against the field', () => {
    expect(validateExpected(instanceResource, { taskState: [null, 'spawning'] })).toEqual({
      taskState: [null, 'spawning'],
    });
    expect(validateExpected(instanceResource, { vmState: 'active' })).toEqual({
      vmState: ['active'],
    });
    expect(() => validateExpected(instanceResource, { taskState: ['bogus'] })).toThrow(
      InvalidInputError,
    );
    expect(() => validateExpected(instanceResource, { metadata: [{}] })).toThrow(InvalidInputError);
  });
});

describe('query validation', () => {
  it('allows only indexed fields and range on sortable ones', () => {
    expect(normaliseWhere(instanceResource, { host: 'h', taskState: null })).toEqual([
      { field: 'host', op: 'eq', value: 'h' },
      { field: 'taskState', op: 'eq', value: null },
    ]);
    expect(() => normaliseWhere(instanceResource, { metadata: {} })).toThrow(InvalidQueryError);
    expect(() => normaliseWhere(instanceResource, { host: { gt: 'a' } })).toThrow(
      InvalidQueryError,
    );
    expect(() => normaliseWhere(instanceResource, { host: { regex: '.*' } })).toThrow(
      InvalidQueryError,
    );
    expect(() => normaliseWhere(instanceResource, { host: { $gt: '' } })).toThrow(
      InvalidQueryError,
    );
    expect(normaliseWhere(instanceResource, { displayName: { gte: 'a', lt: 'b' } })).toHaveLength(
      2,
    );
    expect(() => normaliseOrder(instanceResource, { field: 'host' })).toThrow(InvalidQueryError);
    expect(normaliseOrder(instanceResource, undefined)).toEqual({ field: 'id', direction: 'asc' });
  });
});

describe('defineResource', () => {
  it('infers record types and refuses bad declarations', () => {
    const volume = defineResource({
      name: 'volume',
      plural: 'volumes',
      scope: 'project',
      softDelete: false,
      version: '1.1',
      history: { '1.0': 'initial', '1.1': 'added size' },
      fields: { name: f.string().sortable(), sizeGb: f.int({ min: 1 }).addedIn('1.1').default(1) },
    });
    const rec = { name: 'a', sizeGb: 2 } as Pick<RecordOf<typeof volume>, 'name' | 'sizeGb'>;
    expect(rec.sizeGb).toBe(2);
    expect(() => defineResource({ ...volume, version: '2.0' })).toThrow(TypeError);
    expect(() => f.string().nullable().sortable()).toThrow(TypeError);
    expect(() => defineResource({ ...volume, unique: [], fields: { id: f.string() } })).toThrow(
      TypeError,
    );
  });
});
