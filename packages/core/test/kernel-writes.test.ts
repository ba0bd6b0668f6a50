import { describe, expect, it } from 'vitest';
import { defineCapabilities, type ResourceDriver } from '../src/adapter.js';
import {
  assertContext,
  createContext,
  InvalidInputError,
  instanceResource,
  ManualClock,
  type RequestContext,
  sequentialIds,
} from '../src/index.js';
import { StoreKernel } from '../src/resource-store.js';

/** What the write path remembers between calls must never let a changed input through. */
describe('the write path between calls', () => {
  const clock = new ManualClock(Date.parse('2026-01-02T03:04:05.678Z'));
  const kernel = new StoreKernel(instanceResource, {} as ResourceDriver, {
    clock,
    ids: sequentialIds(),
    capabilities: defineCapabilities({
      maxRecordBytes: 1 << 20,
      reads: 'linearizable',
      serverSideQueries: true,
      features: {},
    }),
  });
  const input = { flavor: { vcpus: 1, memoryMb: 1, rootGb: 0 } };

  it('checks a context that can change at every write', () => {
    const ctx = { projectId: 'p1', userId: null, isAdmin: false, readDeleted: 'no' };
    expect(kernel.prepareCreate(ctx as RequestContext, input).projectId).toBe('p1');
    ctx.readDeleted = 'sometimes';
    expect(() => kernel.prepareCreate(ctx as RequestContext, input)).toThrow(InvalidInputError);
    const frozen = createContext({ projectId: 'p2' });
    expect(kernel.prepareCreate(frozen, input).projectId).toBe('p2');
    expect(kernel.prepareCreate(frozen, input).projectId).toBe('p2');
  });

  it('stamps each write with the clock as it is then', () => {
    const ctx = createContext({ projectId: 'p1' });
    const a = kernel.prepareCreate(ctx, input);
    const b = kernel.prepareCreate(ctx, input);
    clock.advance(1);
    const c = kernel.prepareCreate(ctx, input);
    expect([a.createdAt, b.createdAt, c.createdAt]).toEqual([
      '2026-01-02T03:04:05.678Z',
      '2026-01-02T03:04:05.678Z',
      '2026-01-02T03:04:05.679Z',
    ]);
    clock.set(Number.NaN);
    expect(() => kernel.now()).toThrow(RangeError);
  });

  it('writes each millisecond as toISOString does, within a second and across seconds', () => {
    const steps = [
      Date.parse('2026-01-02T03:04:05.998Z'),
      ...[1, 1, 1, 7, 90, 900, 3, 0, 1000, -1, -5000, 1],
      -1 - Date.parse('2026-01-02T03:04:06.000Z'),
      ...[-1, 1, 1, 999],
      8.64e15 - 2,
      ...[1, 1],
    ];
    let ms = 0;
    for (const step of steps) {
      ms += step;
      clock.set(ms);
      expect(kernel.now()).toBe(new Date(ms).toISOString());
    }
    clock.set(Date.parse('2026-01-02T03:04:05.000Z') + 0.5);
    expect(kernel.now()).toBe('2026-01-02T03:04:05.000Z');
  });
});

describe('assertContext between calls (every read and write asserts its context)', () => {
  it('checks a context that can change at every call, and a frozen one once', () => {
    const ctx: Record<string, unknown> = {
      projectId: 'p1',
      userId: null,
      isAdmin: false,
      readDeleted: 'no',
    };
    const check = (c: unknown) => assertContext(c);
    check(ctx);
    ctx.readDeleted = 'sometimes';
    expect(() => check(ctx)).toThrow(InvalidInputError);
    const frozen = Object.freeze({ ...ctx, readDeleted: 'yes' });
    assertContext(frozen);
    assertContext(frozen);
    // A frozen context that never passed is refused every time.
    const bad = Object.freeze({ ...ctx, projectId: null });
    expect(() => assertContext(bad)).toThrow(InvalidInputError);
    expect(() => assertContext(bad)).toThrow(InvalidInputError);
  });
});
