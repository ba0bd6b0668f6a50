import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defineCapabilities, type ResourceDriver } from '../src/adapter.js';
import {
  computeResources,
  createContext,
  type Field,
  f,
  InvalidInputError,
  instanceResource,
  ManualClock,
  sequentialIds,
} from '../src/index.js';
import { StoreKernel } from '../src/resource-store.js';
import { canonicalFieldValue, fieldFreezer, jsonBytesBound } from '../src/schema/values.js';
import { validValue } from './arbitraries.js';

/** Every object reachable from `v` is frozen. */
function isDeepFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  return Object.isFrozen(v) && Object.values(v).every(isDeepFrozen);
}

const fields: Field[] = [
  ...computeResources.flatMap((r) => Object.values(r.fields) as Field[]),
  f.list(f.string()),
  f.list(f.dict(f.list(f.int()))),
  f.dict(f.object({ a: f.list(f.int()), b: f.dict(f.string()).nullable() })),
];

describe('fieldFreezer', () => {
  it('is canonicalFieldValue, deeply frozen', () => {
    fc.assert(
      fc.property(
        fc
          .constantFrom(...fields)
          .chain((field) => validValue(field).map((v) => [field, v] as const)),
        ([field, v]) => {
          const expected = canonicalFieldValue(field, structuredClone(v));
          const out = fieldFreezer(field)(v);
          expect(out).toEqual(expected);
          expect(JSON.stringify(out)).toBe(JSON.stringify(expected));
          expect(isDeepFrozen(out)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('freezes what it passes through: undeclared keys, stray objects in scalar fields', () => {
    const obj = f.object({ a: f.int() });
    const out = fieldFreezer(obj)({ extra: { deep: [1] }, a: 1 }) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['a', 'extra']);
    expect(isDeepFrozen(out)).toBe(true);
    expect(isDeepFrozen(fieldFreezer(f.string())({ odd: [{}] }))).toBe(true);
  });
});

describe('jsonBytesBound', () => {
  const text = fc.string({
    unit: fc.oneof(
      fc.constantFrom('"', '\\', '\u0000', '\u001f', '\ud800', '😀', 'é', '\u2028'),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    ),
  });
  const plain = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      text,
      fc.double(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value')),
      fc.dictionary(text, tie('value')),
    ),
  })).value;

  it('bounds the longest number JSON writes (17 digits just above 1e-6, no exponent)', () => {
    // fast-check found it (seed -432451353): 25 bytes, one more than the exponent forms.
    for (const n of [
      -0.0000010000384053841032, -0.0000012345678901234567, -1.7976931348623157e308,
    ]) {
      expect(jsonBytesBound(n, Number.MAX_SAFE_INTEGER)).toBeGreaterThanOrEqual(
        JSON.stringify(n).length,
      );
    }
    expect(JSON.stringify(-0.0000010000384053841032)).toHaveLength(25);
  });

  it('bounds the encoded size of plain data from above', () => {
    fc.assert(
      fc.property(plain, (v) => {
        const bytes = Buffer.byteLength(JSON.stringify(v), 'utf8');
        const bound = jsonBytesBound(v, Number.MAX_SAFE_INTEGER);
        expect(bound).toBeGreaterThanOrEqual(bytes);
        // Past the limit it says so rather than counting on.
        expect(jsonBytesBound(v, bytes - 1)).toBe(
          bytes - 1 < bound ? Number.POSITIVE_INFINITY : bound,
        );
      }),
      { numRuns: 500 },
    );
  });

  it('leaves to the encoder what is not plain data', () => {
    const limit = 1 << 20;
    for (const odd of [
      { at: new Date(0) },
      [new Map()],
      { n: 10n },
      new Proxy({}, {}),
      { f: () => 1 },
    ]) {
      expect(jsonBytesBound(odd, limit)).toBe(Number.POSITIVE_INFINITY);
    }
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(jsonBytesBound(cycle, limit)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('the size check of a create', () => {
  const kernel = (maxRecordBytes: number) =>
    new StoreKernel(instanceResource, {} as ResourceDriver, {
      clock: new ManualClock(0),
      ids: sequentialIds(),
      capabilities: defineCapabilities({
        maxRecordBytes,
        reads: 'linearizable',
        serverSideQueries: true,
        features: {},
      }),
    });
  const ctx = createContext({ projectId: 'p1' });
  const input = {
    flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 },
    metadata: { note: '"é😀\u0001'.repeat(40) },
  };

  it('refuses a record over the limit by its encoded size, and takes one at it', () => {
    const record = kernel(1 << 20).prepareCreate(ctx, input);
    const bytes = Buffer.byteLength(JSON.stringify(record), 'utf8');
    expect(() => kernel(bytes).prepareCreate(ctx, input)).not.toThrow();
    expect(() => kernel(bytes - 1).prepareCreate(ctx, input)).toThrow(
      new InvalidInputError('instance', [
        {
          field: 'values',
          message: `record is ${bytes} bytes, more than the backend's limit of ${bytes - 1}`,
        },
      ]),
    );
  });
});
