import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  findPlainDataIssue,
  normaliseWhere,
  validateCreate,
  validatePatch,
} from '../src/adapter.js';
import {
  assertContext,
  createContext,
  InvalidInputError,
  InvalidQueryError,
  instanceResource,
  PLAIN_DATA_LIMITS,
} from '../src/index.js';

/** A Proxy that records whether any trap ran (and throws, as a hostile one would). */
function watchedProxy<T extends object>(target: T): { value: T; touched: () => boolean } {
  let touched = false;
  const value = new Proxy(target, {
    get() {
      touched = true;
      throw new Error('proxy trap');
    },
    ownKeys() {
      touched = true;
      throw new Error('proxy trap');
    },
    getPrototypeOf() {
      touched = true;
      throw new Error('proxy trap');
    },
    getOwnPropertyDescriptor() {
      touched = true;
      throw new Error('proxy trap');
    },
  });
  return { value, touched: () => touched };
}

const FLAVOR = { vcpus: 1, memoryMb: 1, rootGb: 0 };

describe('findPlainDataIssue', () => {
  it('accepts any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        expect(findPlainDataIssue(v, 'v')).toBeUndefined();
      }),
    );
  });

  it('accepts shared references and null-prototype objects, which are still data', () => {
    const shared = { a: 1 };
    expect(findPlainDataIssue({ x: shared, y: [shared, shared] }, 'v')).toBeUndefined();
    expect(findPlainDataIssue(Object.assign(Object.create(null), { a: 1 }), 'v')).toBeUndefined();
    expect(findPlainDataIssue(Object.freeze({ a: Object.freeze([1]) }), 'v')).toBeUndefined();
  });

  it.each([
    ['a Proxy', () => new Proxy({}, {}), 'v.x', /Proxy/],
    ['a Promise', () => Promise.resolve(1), 'v.x', /Promise/],
    ['a Date', () => new Date(0), 'v.x', /Date/],
    ['a Map', () => new Map(), 'v.x', /Map/],
    ['a class instance', () => new (class A {})(), 'v.x', /class/],
    ['a boxed string', () => Object('s'), 'v.x', /boxed/],
    ['a BigInt', () => 1n, 'v.x', /BigInt/],
    ['a Symbol', () => Symbol('s'), 'v.x', /Symbol/],
    ['a function', () => () => 1, 'v.x', /function/],
    ['a Uint8Array', () => new Uint8Array(1), 'v.x', /class/],
    ['a sparse array', () => Object.assign(new Array(2), { 1: 1 }), 'v.x', /sparse/],
    ['an array with a named key', () => Object.assign([1], { k: 1 }), 'v.x.k', /array/],
    // biome-ignore lint/suspicious/noThenProperty: a thenable is exactly the odd value under test.
    ['a thenable', () => ({ then: () => {} }), 'v.x', /thenable/],
    ['a symbol key', () => ({ [Symbol('k')]: 1 }), 'v.x', /Symbol key/],
    [
      'a getter',
      () => Object.defineProperty({}, 'g', { get: () => 1, enumerable: true }),
      'v.x.g',
      /accessor/,
    ],
    [
      'a non-enumerable key',
      () => Object.defineProperty({}, 'h', { value: 1, enumerable: false }),
      'v.x.h',
      /non-enumerable/,
    ],
  ])('refuses %s, naming its path', (_name, make, path, message) => {
    const issue = findPlainDataIssue({ x: make() }, 'v');
    expect(issue?.path).toBe(path);
    expect(issue?.message).toMatch(message);
  });

  it('refuses a cycle, but not the same object reached twice', () => {
    const o: Record<string, unknown> = {};
    o.self = { back: o };
    expect(findPlainDataIssue(o, 'v')).toEqual({
      path: 'v.self.back',
      message: 'refers to itself (a cycle)',
    });
  });

  it('never runs a trap, getter or then', () => {
    let ran = false;
    const mark = () => {
      ran = true;
      return 1;
    };
    const proxy = watchedProxy({ a: 1 });
    const p = Promise.resolve(1);
    Object.defineProperty(p, 'then', { value: mark });
    const values = [
      proxy.value,
      Object.defineProperty({}, 'g', { get: mark, enumerable: true }),
      Object.defineProperty([], 0, { get: mark, enumerable: true }),
      p,
      // biome-ignore lint/suspicious/noThenProperty: a thenable is exactly the odd value under test.
      { then: mark },
    ];
    for (const v of values) expect(findPlainDataIssue({ v }, 'x')).toBeDefined();
    expect(ran).toBe(false);
    expect(proxy.touched()).toBe(false);
  });

  it('stops at the generic depth and node limits', () => {
    let deep: unknown = 1;
    for (let i = 0; i < PLAIN_DATA_LIMITS.maxDepth + 1; i++) deep = [deep];
    expect(findPlainDataIssue(deep, 'v')?.message).toMatch(/nested more than/);
    let graph: unknown = 1;
    for (let i = 0; i < 25; i++) graph = { a: graph, b: graph };
    expect(findPlainDataIssue(graph, 'v')?.message).toMatch(/values in all/);
  });
});

describe('validation checks limits and plain data before the parse', () => {
  it('refuses a dict over its entry limit without looking at any entry', () => {
    const metadata: Record<string, unknown> = {};
    const proxies = Array.from({ length: 200 }, () => watchedProxy({}));
    proxies.forEach((p, i) => {
      metadata[`k${i}`] = p.value;
    });
    const err = (() => {
      try {
        validateCreate(instanceResource, { flavor: FLAVOR, metadata });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues).toEqual([
      { field: 'metadata', message: 'must have at most 128 entries' },
    ]);
    expect(proxies.some((p) => p.touched())).toBe(false);
  });

  it('refuses a string far over its length without scanning it', () => {
    expect(() =>
      validatePatch(instanceResource, { displayName: `${'x'.repeat(600)}\u0000` }),
    ).toThrow(/displayName: must be at most 255 characters/);
  });

  it('names the bad field in values, patches and where', () => {
    const proxy = watchedProxy({});
    expect(() =>
      validateCreate(instanceResource, { flavor: { ...FLAVOR, vcpus: proxy.value } }),
    ).toThrow(/flavor\.vcpus: is a Proxy/);
    expect(() => validatePatch(instanceResource, { metadata: { a: 1n } })).toThrow(
      /metadata\.a: is a BigInt/,
    );
    expect(() =>
      normaliseWhere(instanceResource, { vmState: { in: ['active', Promise.resolve()] } }),
    ).toThrow(InvalidQueryError);
    expect(() =>
      normaliseWhere(instanceResource, { vmState: { in: ['active', Promise.resolve()] } }),
    ).toThrow(/where\.vmState\.in\.1: is a Promise/);
    expect(proxy.touched()).toBe(false);
  });

  it('refuses a context that is not plain data', () => {
    const proxy = watchedProxy({ projectId: 'p', isAdmin: false, readDeleted: 'no', userId: null });
    expect(() => assertContext(proxy.value)).toThrow(InvalidInputError);
    expect(() => assertContext({ ...createContext({ projectId: 'p' }), extra: () => 1 })).toThrow(
      /ctx\.extra: is a function/,
    );
    expect(proxy.touched()).toBe(false);
  });
});
