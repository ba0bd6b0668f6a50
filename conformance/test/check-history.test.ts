import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  casRegister,
  checkHistory,
  exportHistory,
  type HistoryOp,
  type SequentialSpec,
} from '../src/index.js';

/** Reference checker: tries every order consistent with real time (tiny histories only). */
function bruteForce<S>(ops: readonly HistoryOp[], spec: SequentialSpec<S>): boolean {
  const INF = 1n << 126n;
  const n = ops.length;
  const used = new Array<boolean>(n).fill(false);
  const go = (state: S, done: number): boolean => {
    if (done === n) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      // i may go next only if no unused op returned before i was called.
      const blocked = ops.some((o, j) => !used[j] && j !== i && (o.ret ?? INF) < ops[i]!.call);
      if (blocked) continue;
      const r = spec.step(
        state,
        ops[i]!.input,
        ops[i]!.status === 'info' ? undefined : ops[i]!.output,
      );
      if (r.ok) {
        used[i] = true;
        if (go(r.state, done + 1)) return true;
        used[i] = false;
      }
      if (ops[i]!.status === 'info') {
        // An indeterminate op may also never take effect.
        used[i] = true;
        if (go(state, done + 1)) return true;
        used[i] = false;
      }
    }
    return false;
  };
  return go(spec.init('k'), 0);
}

const opArb = fc.record({
  process: fc.integer({ min: 0, max: 3 }),
  call: fc.integer({ min: 0, max: 20 }),
  len: fc.integer({ min: 0, max: 8 }),
  kind: fc.constantFrom('read', 'cas', 'conflict', 'info'),
  rev: fc.integer({ min: 1, max: 3 }),
  value: fc.constantFrom('a', 'b'),
});

type RawOp = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

function toHistory(raw: RawOp[]): HistoryOp[] {
  return raw.map((r) => {
    const base = {
      process: r.process,
      key: 'k',
      call: BigInt(r.call),
      ret: BigInt(r.call + r.len) as bigint | undefined,
    };
    switch (r.kind) {
      case 'read':
        return {
          ...base,
          input: { op: 'read' },
          output: { revision: r.rev, value: r.value },
          status: 'ok' as const,
        };
      case 'cas':
        return {
          ...base,
          input: { op: 'cas', expectedRevision: r.rev, value: r.value },
          output: { revision: r.rev + 1, value: r.value },
          status: 'ok' as const,
        };
      case 'conflict':
        return {
          ...base,
          input: { op: 'cas', expectedRevision: r.rev, value: r.value },
          output: { conflict: r.rev === 1 ? 2 : 1 },
          status: 'fail' as const,
        };
      default:
        return {
          ...base,
          ret: undefined,
          input: { op: 'cas', expectedRevision: r.rev, value: r.value },
          output: undefined,
          status: 'info' as const,
        };
    }
  });
}

describe('checkHistory', () => {
  it('agrees with a brute-force checker on 1000 small random histories', () => {
    const spec = { ...casRegister, init: () => ({ revision: 1, value: 'a' }) };
    let valid = 0;
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 6 }), (raw) => {
        const ops = toHistory(raw);
        const want = bruteForce(ops, spec);
        const got = checkHistory(ops, spec).result;
        if (want) valid++;
        expect(got).toBe(want ? 'ok' : 'violation');
      }),
      { numRuns: 1000 },
    );
    expect(valid).toBeGreaterThan(50);
  });

  it('finds a lost update: two acknowledged writes for one revision', () => {
    const h: HistoryOp[] = [
      {
        process: 1,
        key: 'x',
        call: 0n,
        ret: 10n,
        input: { op: 'cas', expectedRevision: 1, value: 'p' },
        output: { revision: 2, value: 'p' },
        status: 'ok',
      },
      {
        process: 2,
        key: 'x',
        call: 1n,
        ret: 11n,
        input: { op: 'cas', expectedRevision: 1, value: 'q' },
        output: { revision: 2, value: 'q' },
        status: 'ok',
      },
    ];
    const v = checkHistory(h, casRegister);
    expect(v.result).toBe('violation');
    expect(v.result === 'violation' && v.explanation).toMatch(/c1 .* c2/s);
  });

  it('checks 10k operations of 32 clients over per-key partitions quickly', () => {
    const ops: HistoryOp[] = [];
    let t = 0n;
    for (let key = 0; key < 400; key++) {
      let rev = 1;
      for (let i = 0; i < 25; i++) {
        t += 10n;
        const p = (key + i) % 32;
        if (i % 2 === 0)
          ops.push({
            process: p,
            key: `k${key}`,
            call: t,
            ret: t + 15n,
            input: { op: 'cas', expectedRevision: rev, value: i },
            output: { revision: rev + 1, value: i },
            status: 'ok',
          });
        else
          ops.push({
            process: p,
            key: `k${key}`,
            call: t,
            ret: t + 5n,
            input: { op: 'read' },
            output: { revision: rev, value: i - 1 },
            status: 'ok',
          });
        if (i % 2 === 0) rev += 1;
      }
    }
    const start = performance.now();
    expect(checkHistory(ops, casRegister).result).toBe('ok');
    expect(performance.now() - start).toBeLessThan(10_000);
  });

  it('reports unknown when the time limit runs out', () => {
    const ops: HistoryOp[] = Array.from({ length: 14 }, (_, i) => ({
      process: i,
      key: 'k',
      call: 0n,
      ret: 100n,
      input: { op: 'cas', value: i },
      output: { revision: i + 2, value: i },
      status: 'ok' as const,
    }));
    expect(checkHistory(ops, casRegister, { timeoutMs: -1 }).result).toBe('unknown');
  });

  it('exports Porcupine-style partitions', () => {
    const h: HistoryOp[] = [
      {
        process: 1,
        key: 'x',
        call: 5n,
        ret: 9n,
        input: { op: 'read' },
        output: { revision: 1, value: null },
        status: 'ok',
      },
      {
        process: 2,
        key: 'x',
        call: 6n,
        ret: undefined,
        input: { op: 'cas', value: 'z' },
        output: undefined,
        status: 'info',
      },
    ];
    const out = JSON.parse(exportHistory(h, 'porcupine', 'cas-register'));
    expect(out.partitions[0].operations).toEqual([
      {
        clientId: 1,
        input: { op: 'read' },
        call: 0,
        output: { revision: 1, value: null },
        return: 4,
      },
      { clientId: 2, input: { op: 'cas', value: 'z' }, call: 1, output: null, return: null },
    ]);
  });
});
