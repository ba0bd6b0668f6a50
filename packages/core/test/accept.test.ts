import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnyResource,
  computeResources,
  defineResource,
  type Field,
  type FieldIssue,
  f,
  InvalidInputError,
  InvalidQueryError,
  instanceResource,
} from '../src/index.js';
import { exactWhere, normaliseWhere } from '../src/query/query.js';
import { acceptCreate, acceptPatch } from '../src/schema/accept.js';
import { isScalarKind } from '../src/schema/field.js';
import {
  checkValue,
  exactCreate,
  exactExpected,
  exactPatch,
  exactValue,
  validateCreate,
  validateExpected,
  validatePatch,
} from '../src/schema/validate.js';
import { invalidValue, validValue } from './arbitraries.js';

/**
 * The fast path of validation must never change an answer: whatever it accepts, the exact
 * path accepts with the same result, and whatever it refuses goes to the exact path. These
 * properties hold the two to each other on valid, invalid and odd inputs.
 */

/** A resource with every kind of field, nested, so each acceptor is exercised. */
const kitchen = defineResource({
  name: 'kitchen',
  plural: 'kitchens',
  scope: 'global',
  softDelete: false,
  version: '1.0',
  history: { '1.0': 'initial' },
  fields: {
    ref: f.uuid().nullable(),
    label: f.string({ max: 3, pattern: /^[a-z😀]*$/u }).default(''),
    count: f.int({ min: -5, max: 5 }),
    on: f.bool().default(false),
    mode: f.enum(['a', 'toString']).immutable(),
    at: f.datetime().nullable(),
    addr: f.ip().nullable(),
    net: f.cidr().nullable(),
    tags: f.list(f.string({ max: 4 }), { max: 3 }).default([]),
    grid: f.list(f.list(f.int(), { max: 150 }), { max: 150 }).default([]),
    labels: f.dict(f.dict(f.int().nullable(), { max: 4 }), { max: 4 }).default({}),
    spec: f
      .object({
        a: f.int(),
        b: f.list(f.object({ x: f.string().default('d'), y: f.bool().nullable() })).default([]),
        c: f.dict(f.string()).nullable(),
      })
      .nullable(),
  },
});

const resources: readonly AnyResource[] = [...computeResources, kitchen];

class Box {
  constructor(readonly value: unknown) {}
}

/** Plain data turned into something the plain-data pass refuses, or a near miss it allows. */
function twisted(v: unknown): fc.Arbitrary<unknown> {
  const isObj = typeof v === 'object' && v !== null;
  const copy = (): Record<string | symbol, unknown> =>
    Array.isArray(v) ? ([...v] as never) : { ...(v as object) };
  const twists: fc.Arbitrary<unknown>[] = [
    fc.constant(new Box(v)),
    fc.constant(-0),
    fc.constant(Number.NaN),
    fc.constant(Number.POSITIVE_INFINITY),
    fc.constant(2 ** 60),
    fc.constant(''),
    fc.constant('x'.repeat(70)),
    fc.constant('::ffff:10.0.0.1'),
    fc.constant('10.0.0.0/8'),
    fc.constant('2026-01-02T03:04:05+01:00'),
    fc.constant(() => 1),
    fc.constant(Promise.resolve(v)),
    fc.constant(new Date(0)),
    fc.constant(new Map()),
    fc.constant(Object('s')),
    fc.constant(10n),
    fc.constant(Symbol('s')),
    fc.anything({ withNullPrototype: true, withSparseArray: true, maxDepth: 2 }),
  ];
  if (isObj) {
    twists.push(
      fc.constant(new Proxy(v as object, {})),
      fc.constant(Object.assign(Object.create(null), v)),
      fc.constant(Object.assign(copy(), { [Symbol('k')]: 1 })),
      fc.constant(Object.defineProperty(copy(), 'hidden', { value: 1, enumerable: false })),
      fc.constant(
        Object.defineProperty(copy(), 'got', { get: () => Object.values(v)[0], enumerable: true }),
      ),
      // biome-ignore lint/suspicious/noThenProperty: a thenable is one of the inputs refused
      fc.constant(Object.assign(copy(), { then: () => 1 })),
      fc.constant(Object.assign(copy(), { extra: 1 })),
      fc.constant(
        // An own `__proto__` key holding a value the position allows.
        Object.defineProperty(copy(), '__proto__', {
          value: Object.values(v)[0] ?? 1,
          enumerable: true,
          writable: true,
          configurable: true,
        }),
      ),
    );
  }
  if (Array.isArray(v)) {
    const sparse = [...v];
    sparse.length += 1;
    const getter = [...v, 0];
    Object.defineProperty(getter, String(v.length), { get: () => v[0] ?? 0, enumerable: true });
    twists.push(fc.constant(sparse), fc.constant(getter), fc.constant([...v, undefined]));
  }
  return fc.oneof(...twists);
}

/** A value for a field: mostly valid, sometimes invalid, sometimes twisted at some depth. */
function someValue(field: Field): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: validValue(field) },
    { weight: 1, arbitrary: invalidValue(field) },
    { weight: 2, arbitrary: validValue(field).chain((v) => twistedInside(v)) },
  );
}

/** `v` with one value at some depth (maybe `v` itself) twisted. */
function twistedInside(v: unknown): fc.Arbitrary<unknown> {
  if (typeof v !== 'object' || v === null) return twisted(v);
  const keys = Object.keys(v);
  if (keys.length === 0) return twisted(v);
  return fc.oneof(
    twisted(v),
    fc.constantFrom(...keys).chain((k) =>
      twistedInside((v as Record<string, unknown>)[k]).map((inner) => {
        const out = (Array.isArray(v) ? [...v] : { ...v }) as Record<string, unknown>;
        out[k] = inner;
        return out;
      }),
    ),
  );
}

/** A create input: some fields left out, some odd keys, values as {@link someValue}. */
function someCreate(resource: AnyResource): fc.Arbitrary<unknown> {
  const fields = Object.fromEntries(
    resource.fieldNames.map((n) => [n, someValue(resource.fields[n]!)]),
  );
  const extra = {
    id: fc.oneof(fc.uuid(), fc.constant('NOT-A-UUID'), fc.constant(undefined)),
    projectId: fc.oneof(fc.constant(null), fc.constant('p1'), fc.constant(''), fc.constant(5)),
    bogus: fc.constant(1),
  };
  const all: Record<string, fc.Arbitrary<unknown>> = { ...fields, ...extra };
  const input = fc.record(all, {
    requiredKeys: resource.fieldNames.filter((n) => resource.fields[n]!.defaultValue === undefined),
  });
  return fc.oneof(
    { weight: 1, arbitrary: fc.record(fields).map((r) => r as unknown) },
    { weight: 3, arbitrary: input },
    { weight: 1, arbitrary: input.chain(twisted) },
  );
}

/** What a call returns or the issues of its `InvalidInputError`, to compare whole. */
function outcome(call: () => unknown): unknown {
  try {
    return { value: call() };
  } catch (e) {
    if (e instanceof InvalidInputError) return { issues: e.issues };
    if (e instanceof InvalidQueryError) return { query: e.message };
    throw e;
  }
}

describe('the fast path of validation', () => {
  for (const resource of resources) {
    describe(resource.name, () => {
      it('answers every create as the exact path does', () => {
        fc.assert(
          fc.property(someCreate(resource), (input) => {
            expect(outcome(() => validateCreate(resource, input))).toEqual(
              outcome(() => exactCreate(resource, input)),
            );
          }),
          { numRuns: 400 },
        );
      });

      it('answers every patch as the exact path does', () => {
        fc.assert(
          fc.property(someCreate(resource), (patch) => {
            expect(outcome(() => validatePatch(resource, patch))).toEqual(
              outcome(() => exactPatch(resource, patch)),
            );
          }),
          { numRuns: 300 },
        );
      });

      it('answers every field value as the exact path does', () => {
        const name = fc.constantFrom(...resource.fieldNames);
        fc.assert(
          fc.property(
            name.chain((n) => someValue(resource.fields[n]!).map((v) => [n, v] as const)),
            ([n, v]) => {
              const field = resource.fields[n]!;
              const fast: FieldIssue[] = [];
              const exact: FieldIssue[] = [];
              expect([checkValue(field, v, n, fast), fast]).toEqual([
                exactValue(field, v, n, exact),
                exact,
              ]);
            },
          ),
          { numRuns: 400 },
        );
      });
    });
  }

  it('takes valid inputs itself', () => {
    for (const resource of resources) {
      fc.assert(
        fc.property(
          fc.record(
            Object.fromEntries(
              resource.fieldNames.map((n) => [n, validValue(resource.fields[n]!)]),
            ),
          ),
          (input) => {
            expect(acceptCreate(resource, input)).toEqual(exactCreate(resource, input));
            const patch = Object.fromEntries(
              Object.entries(input).filter(([n]) => !resource.fields[n]!.isImmutable),
            );
            expect(acceptPatch(resource, patch)).toEqual(exactPatch(resource, patch));
          },
        ),
        { numRuns: 100 },
      );
    }
  });

  it('leaves to the exact path what the plain-data pass refuses', () => {
    const base = { flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 } };
    const meta = (extra: (m: Record<string, unknown>) => void) => {
      const m: Record<string, unknown> = { a: 'x' };
      extra(m);
      return { ...base, metadata: m };
    };
    const odd = [
      meta((m) => Object.defineProperty(m, 'b', { get: () => 'y', enumerable: true })),
      meta((m) => Object.defineProperty(m, 'b', { value: 'y', enumerable: false })),
      meta((m) => Object.defineProperty(m, '__proto__', { value: 'y', enumerable: true })),
      meta((m) => {
        m[Symbol('b') as never] = 'y';
      }),
      meta((m) => {
        for (let i = 0; i < 128; i++) m[`k${i}`] = 'y';
      }),
      { ...base, metadata: new Proxy({ a: 'x' }, {}) },
      { ...base, flavor: Object.defineProperty({ ...base.flavor }, 'rootGb', { get: () => 0 }) },
      { ...base, displayName: Object('x') },
      Object.defineProperty({ ...base }, 'host', { get: () => 'h', enumerable: true }),
    ];
    for (const input of odd) {
      expect(acceptCreate(instanceResource, input)).toBeUndefined();
      expect(outcome(() => validateCreate(instanceResource, input))).toEqual(
        outcome(() => exactCreate(instanceResource, input)),
      );
    }
    const list = (extra: (l: unknown[]) => void) => {
      const l: unknown[] = ['x'];
      extra(l);
      return { mode: 'a', count: 0, tags: l };
    };
    const oddLists = [
      list((l) => Object.defineProperty(l, 1, { get: () => 'y', enumerable: true })),
      list((l) => Object.defineProperty(l, 1, { value: 'y', enumerable: false })),
      list((l) => {
        l.length = 2;
      }),
      list((l) => Object.assign(l, { extra: 'y' })),
      list((l) => {
        l[Symbol('b') as never] = 'y';
      }),
      list((l) => l.push('y', 'y', 'y')),
    ];
    for (const input of oddLists) {
      expect(acceptCreate(kitchen, input)).toBeUndefined();
      expect(outcome(() => validateCreate(kitchen, input))).toEqual(
        outcome(() => exactCreate(kitchen, input)),
      );
    }
  });

  it('refuses what the plain-data pass refuses for its size or depth', () => {
    const row = Array.from({ length: 150 }, (_, i) => i);
    const within = { mode: 'a', count: 0, grid: Array.from({ length: 130 }, () => row) };
    const beyond = { ...within, grid: Array.from({ length: 140 }, () => row) };
    expect(acceptCreate(kitchen, within)?.values.grid).toEqual(within.grid);
    expect(acceptCreate(kitchen, beyond)).toBeUndefined();
    expect(() => validateCreate(kitchen, beyond)).toThrow(/more than 20000 values/);

    // 32 levels of lists are allowed (the exact path takes them), 33 are not.
    let deep: Field = f.int();
    let value: unknown = 1;
    for (let i = 0; i < 32; i++) {
      deep = f.list(deep, { max: 1 });
      value = [value];
    }
    const issues: FieldIssue[] = [];
    expect(checkValue(deep, value, 'deep', issues)).toEqual(value);
    expect(checkValue(f.list(deep), [value], 'deep', issues)).toBeUndefined();
    expect(issues).toEqual([
      { field: `deep${'.0'.repeat(32)}`, message: 'is nested more than 32 levels deep' },
    ]);
  });

  it('returns fresh containers and copies of defaults', () => {
    const input = { mode: 'a', count: 1, tags: ['x'], labels: { b: { y: 1 }, a: {} } };
    const out = validateCreate(kitchen, input).values;
    expect(out.tags).not.toBe(input.tags);
    expect(out.labels).not.toBe(input.labels);
    expect(Object.keys(out.labels as object)).toEqual(['a', 'b']);
    expect(out.grid).not.toBe(kitchen.fields.grid!.defaultValue);
  });
});

describe("the fast paths of an update's expected values and of a filter", () => {
  /** An object of up to three entries from `entry`, or something else altogether. */
  const objectOf = (entry: fc.Arbitrary<readonly [string, unknown]>) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.array(entry, { maxLength: 3 }).map((e) => Object.fromEntries(e)) },
      {
        weight: 1,
        arbitrary: fc.array(entry, { maxLength: 3 }).chain((e) => twisted(Object.fromEntries(e))),
      },
      { weight: 1, arbitrary: fc.anything() },
    );

  for (const resource of resources) {
    it(`${resource.name}: answers every expected as the exact path does`, () => {
      const names = [...resource.fieldNames, 'bogus'];
      const entry = fc.constantFrom(...names).chain((n) => {
        const field = Object.hasOwn(resource.fields, n) ? resource.fields[n] : undefined;
        const one = field && isScalarKind(field.kind) ? someValue(field) : fc.anything();
        return fc
          .oneof(
            one,
            fc.array(one, { maxLength: 4 }),
            fc.array(one, { maxLength: 4 }).chain(twisted),
          )
          .map((v) => [n, v] as const);
      });
      fc.assert(
        fc.property(objectOf(entry), (expected) => {
          expect(outcome(() => validateExpected(resource, expected))).toEqual(
            outcome(() => exactExpected(resource, expected)),
          );
        }),
        { numRuns: 300 },
      );
    });

    const queryable = Object.keys(resource.queryable);
    if (queryable.length === 0) continue;
    it(`${resource.name}: normalises every filter as the exact path does`, () => {
      const entry = fc.constantFrom(...queryable, 'bogus').chain((n) => {
        const q = Object.hasOwn(resource.queryable, n) ? resource.queryable[n] : undefined;
        const one = q ? someValue(q.field) : fc.anything();
        return fc
          .oneof(
            { weight: 4, arbitrary: one },
            { weight: 1, arbitrary: fc.constant(null) },
            { weight: 1, arbitrary: one.map((v) => ({ eq: v })) },
            { weight: 1, arbitrary: fc.array(one, { maxLength: 3 }).map((v) => ({ in: v })) },
          )
          .map((v) => [n, v] as const);
      });
      fc.assert(
        fc.property(objectOf(entry), (where) => {
          expect(outcome(() => normaliseWhere(resource, where))).toEqual(
            outcome(() => exactWhere(resource, where)),
          );
        }),
        { numRuns: 300 },
      );
    });
  }
});
