import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addressPool,
  casRegister,
  casRegisterFrom,
  checkHistory,
  exportHistory,
  type HistoryOp,
  importHistory,
  type SequentialSpec,
  specFromExport,
  syntheticCounterHistory,
  uniqueKey,
} from '../src/internal.js';
import { bruteForceLinearizable } from './brute-force-checker.js';

/** Histories per spec in the brute-force cross-check (`CHECKER_RUNS` raises or lowers it). */
const RUNS = Number(process.env.CHECKER_RUNS ?? 10_000);

type Status = HistoryOp['status'];

function op(
  process: number,
  call: number,
  ret: number | undefined,
  input: unknown,
  status: Status,
  output?: unknown,
  key = 'k',
): HistoryOp {
  const indeterminate = status === 'info' || status === 'pending';
  return {
    process,
    key,
    call: BigInt(call),
    ret: indeterminate || ret === undefined ? undefined : BigInt(ret),
    input,
    output,
    status,
  };
}

/** Small times and lengths, so equal timestamps (touching and identical intervals) are common. */
const timing = fc.record({
  process: fc.integer({ min: 0, max: 3 }),
  call: fc.integer({ min: 0, max: 6 }),
  len: fc.integer({ min: 0, max: 4 }),
  status: fc.constantFrom<Status>('ok', 'ok', 'ok', 'fail', 'info', 'pending'),
});

const value = fc.constantFrom('a', 'b', null);

const registerOp = fc
  .record({
    t: timing,
    read: fc.boolean(),
    byValue: fc.boolean(),
    rev: fc.integer({ min: 1, max: 3 }),
    value,
    outValue: value,
    effectless: fc.boolean(),
  })
  .map(({ t, read, byValue, rev, value: v, outValue, effectless }) => {
    const input = read
      ? { op: 'read' }
      : byValue
        ? { op: 'cas', expectedValues: [outValue], value: v }
        : { op: 'cas', expectedRevision: rev, value: v };
    const output =
      t.status === 'ok'
        ? read
          ? { revision: rev, value: outValue }
          : { revision: rev + 1, value: effectless ? outValue : v }
        : t.status === 'fail'
          ? effectless
            ? { error: 'UnavailableError: refused' }
            : { conflict: rev }
          : undefined;
    return op(t.process, t.call, t.call + t.len, input, t.status, output);
  });

const uniqueOp = fc
  .record({ t: timing, release: fc.boolean(), effectless: fc.boolean() })
  .map(({ t, release, effectless }) =>
    op(
      t.process,
      t.call,
      t.call + t.len,
      { op: release ? 'release' : 'create' },
      t.status,
      t.status === 'ok'
        ? 'ok'
        : t.status === 'fail'
          ? effectless
            ? { error: 'x' }
            : 'duplicate'
          : undefined,
    ),
  );

const poolOp = fc
  .record({ t: timing, address: fc.constantFrom('x', 'y', 'z'), effectless: fc.boolean() })
  .map(({ t, address, effectless }) =>
    op(
      t.process,
      t.call,
      t.call + t.len,
      { op: 'allocate' },
      t.status,
      t.status === 'ok'
        ? address
        : t.status === 'fail'
          ? effectless
            ? { error: 'x' }
            : 'exhausted'
          : undefined,
    ),
  );

const cases: [string, SequentialSpec<unknown>, fc.Arbitrary<HistoryOp>][] = [
  [
    'cas-register',
    casRegisterFrom({ revision: 1, value: 'a' }) as SequentialSpec<unknown>,
    registerOp,
  ],
  ['unique-key', uniqueKey as SequentialSpec<unknown>, uniqueOp],
  ['address-pool', addressPool(['x', 'y']) as SequentialSpec<unknown>, poolOp],
];

describe('checkHistory agrees with a brute-force checker', () => {
  for (const [name, spec, arb] of cases) {
    it(`${name}: ${RUNS} random histories with ok, fail, info and pending ops and tied times`, () => {
      const seen = { ok: 0, violation: 0 };
      fc.assert(
        fc.property(fc.array(arb, { minLength: 1, maxLength: 8 }), (ops) => {
          const want = bruteForceLinearizable(ops, spec) ? 'ok' : 'violation';
          seen[want] += 1;
          expect(checkHistory(ops, spec).result).toBe(want);
        }),
        { numRuns: RUNS },
      );
      // Both verdicts must be common, or the comparison proves little.
      expect(seen.ok).toBeGreaterThan(RUNS / 20);
      expect(seen.violation).toBeGreaterThan(RUNS / 20);
    });
  }
});

describe('checkHistory semantics', () => {
  const cas = (rev: number, v: unknown) => ({ op: 'cas', expectedRevision: rev, value: v });
  const read = { op: 'read' };

  it('keeps an indeterminate read (info) without crashing', () => {
    const h = [
      op(1, 0, undefined, read, 'info'),
      op(2, 1, 5, cas(1, 'b'), 'ok', { revision: 2, value: 'b' }),
    ];
    expect(checkHistory(h, casRegister).result).toBe('ok');
  });

  it('checks the value a successful CAS reply claims', () => {
    const h = [op(1, 0, 5, cas(1, 'b'), 'ok', { revision: 2, value: 'zz' })];
    expect(checkHistory(h, casRegister).result).toBe('violation');
    expect(
      checkHistory([op(1, 0, 5, cas(1, 'b'), 'ok', { revision: 2, value: 'b' })], casRegister)
        .result,
    ).toBe('ok');
  });

  it('reads a definite failure with another error as no effect, never as a conflict or duplicate', () => {
    const failed = op(1, 0, 5, cas(1, 'b'), 'fail', { error: 'InvalidInputError: no' });
    const later = op(2, 10, 15, read, 'ok', { revision: 1, value: null });
    expect(checkHistory([failed, later], casRegister).result).toBe('ok');
    const refused = op(1, 0, 5, { op: 'create' }, 'fail', { error: 'UnavailableError: down' });
    const winner = op(2, 10, 15, { op: 'create' }, 'ok', 'ok');
    expect(checkHistory([refused, winner], uniqueKey).result).toBe('ok');
    // A real duplicate before anything was taken is still a violation.
    const dup = op(1, 0, 5, { op: 'create' }, 'fail', 'duplicate');
    expect(checkHistory([dup, winner], uniqueKey).result).toBe('violation');
  });

  it('keeps pending ops: a write that never returned may explain a later read', () => {
    const h = [
      op(1, 0, undefined, cas(1, 'b'), 'pending'),
      op(2, 10, 15, read, 'ok', { revision: 2, value: 'b' }),
    ];
    expect(checkHistory(h, casRegister).result).toBe('ok');
    // Without it the read is impossible.
    expect(checkHistory([h[1]!], casRegister).result).toBe('violation');
  });

  it('lets an indeterminate write take effect late, or never', () => {
    const w = op(1, 0, undefined, cas(1, 'b'), 'info');
    const before = op(2, 10, 15, read, 'ok', { revision: 1, value: null });
    const after = op(2, 20, 25, read, 'ok', { revision: 2, value: 'b' });
    expect(checkHistory([w, before, after], casRegister).result).toBe('ok');
    expect(checkHistory([w, before], casRegister).result).toBe('ok');
    // ...but not take effect and then be undone.
    const again = op(2, 30, 35, read, 'ok', { revision: 1, value: null });
    expect(checkHistory([w, after, again], casRegister).result).toBe('violation');
  });

  it('checks a pool allocation for the exact lowest free address', () => {
    const pool = addressPool(['10.0.0.2', '10.0.0.3']);
    const a = op(1, 0, 5, { op: 'allocate' }, 'ok', '10.0.0.3');
    expect(checkHistory([a], pool).result).toBe('violation');
    const b = op(2, 0, 5, { op: 'allocate' }, 'ok', '10.0.0.2');
    expect(checkHistory([a, b], pool).result).toBe('ok');
  });

  it('finds a lost update and points at the op no order gets past', () => {
    const h = [
      op(1, 0, 10, cas(1, 'p'), 'ok', { revision: 2, value: 'p' }, 'x'),
      op(2, 1, 11, cas(1, 'q'), 'ok', { revision: 2, value: 'q' }, 'x'),
    ];
    const v = checkHistory(h, casRegister);
    expect(v.result).toBe('violation');
    if (v.result !== 'violation') return;
    expect(v.explanation).toMatch(/c1 .* c2/s);
    expect(v.stuckAt).toBeDefined();
  });

  it('decides 8 clients x 200 ops with two winners mid-history, with and without lost replies', () => {
    const spec = casRegisterFrom({ revision: 1, value: 0 });
    for (const infoRate of [0, 0.2]) {
      for (const seed of [1, 2, 3]) {
        const options = { clients: 8, opsPerClient: 200, seed, infoRate };
        expect(checkHistory(syntheticCounterHistory(options), spec).result).toBe('ok');
        const bad = syntheticCounterHistory({ ...options, violation: true });
        expect(checkHistory(bad, spec).result).toBe('violation');
      }
    }
  });

  it('reports unknown when the time limit runs out', () => {
    const ops = Array.from({ length: 14 }, (_, i) =>
      op(i, 0, 100, { op: 'cas', value: i }, 'ok', { revision: i + 2, value: i }),
    );
    expect(checkHistory(ops, casRegister, { timeoutMs: -1 }).result).toBe('unknown');
  });
});

describe('exportHistory', () => {
  const h: HistoryOp[] = [
    op(1, 5, 9, { op: 'read' }, 'ok', { revision: 1, value: null }),
    op(2, 6, undefined, { op: 'cas', value: 'z' }, 'info'),
    op(3, 7, undefined, { op: 'cas', value: 'y' }, 'pending'),
    op(4, 8, 12, { op: 'cas', expectedRevision: 1, value: 'w' }, 'fail', { conflict: 2 }),
    op(1, 9, 11, { op: 'read' }, 'ok', { revision: 1, value: 'v' }, 'other'),
  ];
  const spec = casRegisterFrom({ revision: 3, value: { a: [1, null] } });

  it('round-trips every op, status, null output, pending op and the spec parameters', () => {
    const json = exportHistory(h, spec as SequentialSpec<unknown>);
    const back = importHistory(json);
    expect(back.ops).toEqual(h);
    expect(back.model).toEqual({
      name: 'cas-register',
      params: { initial: { revision: 3, value: { a: [1, null] } } },
    });
    const rebuilt = specFromExport(back.model.name, back.model.params);
    expect(rebuilt.init('k')).toEqual(spec.init('k'));
    expect(checkHistory(back.ops, rebuilt).result).toBe(checkHistory(h, spec).result);
  });

  it('writes Porcupine fields, a real null apart from an unknown outcome', () => {
    const out = JSON.parse(exportHistory(h, addressPool(['a', 'b']) as SequentialSpec<unknown>));
    expect(out.format).toBe('polystore-history/1');
    expect(out.model).toEqual({ name: 'address-pool', params: { addresses: ['a', 'b'] } });
    expect(out.partitions[0].operations.slice(0, 2)).toEqual([
      {
        clientId: 1,
        input: { op: 'read' },
        call: 0,
        return: 4,
        status: 'ok',
        output: { revision: 1, value: null },
      },
      { clientId: 2, input: { op: 'cas', value: 'z' }, call: 1, return: null, status: 'info' },
    ]);
    expect(out.partitions[1].key).toBe('other');
  });
});
