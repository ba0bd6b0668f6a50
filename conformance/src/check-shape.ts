import { InvalidInputError, type Stores } from '@polystore/core';
import { STORE_METHODS, STORE_NAMES } from '@polystore/core/adapter';

/** The public methods each store of the bag must have, with their arities (core owns the table). */
export { STORE_METHODS };

/** The result of {@link checkShape}: one named line per problem. */
export interface ShapeReport {
  readonly ok: boolean;
  readonly problems: readonly string[];
}

/** Every function-valued property name along an object's prototype chain, `Object.prototype` excluded. */
function publicMethods(obj: object): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (
    let o: object | null = obj;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || out.has(name)) continue;
      const d = Object.getOwnPropertyDescriptor(o, name)!;
      // Getters are not called: a property is a method only if its value is a function.
      if ('value' in d && typeof d.value === 'function') out.set(name, d.value);
    }
  }
  return out;
}

/**
 * Checks by run-time introspection (so plain-JS adapters are judged too) that each store
 * has exactly the methods of its interface with the declared arity, and that each returns
 * a thenable that rejects a missing context with `InvalidInputError`.
 *
 * @example
 * ```ts
 * const { ok, problems } = await checkShape(await openMyStores());
 * ```
 */
export async function checkShape(stores: Stores): Promise<ShapeReport> {
  const problems: string[] = [];
  if (typeof stores !== 'object' || stores === null)
    return { ok: false, problems: ['stores: not an object'] };
  for (const name of STORE_NAMES) {
    const store = (stores as unknown as Record<string, unknown>)[name];
    if (typeof store !== 'object' || store === null) {
      problems.push(`${name}: missing store`);
      continue;
    }
    const expected = STORE_METHODS[name];
    const actual = publicMethods(store);
    for (const [method, arity] of Object.entries(expected)) {
      const fn = actual.get(method);
      if (fn === undefined) {
        problems.push(`${name}.${method}: missing method`);
        continue;
      }
      const length = (fn as (...a: unknown[]) => unknown).length;
      if (length !== arity) problems.push(`${name}.${method}: arity ${length}, expected ${arity}`);
      let result: unknown;
      try {
        result = (fn as (...a: unknown[]) => unknown).call(
          store,
          undefined,
          undefined,
          undefined,
          undefined,
        );
      } catch (err) {
        problems.push(
          `${name}.${method}: threw synchronously (${(err as Error)?.name}); every method must return a promise`,
        );
        continue;
      }
      if (typeof (result as { then?: unknown } | null)?.then !== 'function') {
        problems.push(`${name}.${method}: returned ${typeof result}, not a thenable`);
        continue;
      }
      try {
        await result;
        problems.push(`${name}.${method}: accepted a call without a request context`);
      } catch (err) {
        if (!(err instanceof InvalidInputError)) {
          problems.push(
            `${name}.${method}: a missing context must be InvalidInputError, got ${(err as Error)?.name ?? typeof err}`,
          );
        }
      }
    }
    for (const method of actual.keys()) {
      if (!Object.hasOwn(expected, method))
        problems.push(`${name}.${method}: undeclared extra public method`);
    }
  }
  const bag = stores as unknown as Record<string, unknown>;
  if (typeof bag.backend !== 'string') problems.push('stores.backend: must be a string');
  if (typeof bag.close !== 'function') problems.push('stores.close: must be a function');
  if (typeof bag.store !== 'function') problems.push('stores.store: must be a function');
  const caps = bag.capabilities as Record<string, unknown> | undefined;
  if (
    typeof caps !== 'object' ||
    caps === null ||
    !Number.isSafeInteger(caps.maxRecordBytes) ||
    (caps.reads !== 'linearizable' && caps.reads !== 'sequential') ||
    typeof caps.serverSideQueries !== 'boolean' ||
    typeof caps.features !== 'object' ||
    caps.features === null ||
    Object.values(caps.features).some((v) => typeof v !== 'boolean')
  ) {
    problems.push(
      'stores.capabilities: must be a manifest { maxRecordBytes, reads, serverSideQueries, features }',
    );
  }
  return { ok: problems.length === 0, problems };
}
