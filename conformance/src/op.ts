import type { Stores } from '@polystore/core';
import { STORE_NAMES } from '@polystore/core/adapter';
import { CONTEXTS, type ContextName, contextVar } from './contexts.js';

/** One store method call under a named context. */
export interface CallOp {
  readonly kind: 'call';
  readonly store: StoreName;
  readonly method: string;
  readonly ctx: ContextName;
  readonly args: readonly unknown[];
}

/** A store property of the bag. */
export type StoreName = (typeof STORE_NAMES)[number];

/**
 * One command as data: a store call under a named context, a walk over every page of a
 * listing, or a clock tick. Plain data so it can be shrunk, compared and printed.
 */
export type Op =
  | CallOp
  | {
      readonly kind: 'pages';
      readonly store: StoreName;
      readonly ctx: ContextName;
      readonly options: Readonly<Record<string, unknown>>;
    }
  | { readonly kind: 'tick'; readonly ms: number };

/** Most pages a `pages` command walks before it calls the listing endless. */
export const MAX_PAGES = 60;

/** The coverage unit of an op (`instances.update`), or `undefined` for a tick. */
export function unitOf(op: Op): string | undefined {
  if (op.kind === 'tick') return undefined;
  return `${op.store}.${op.kind === 'pages' ? 'list' : op.method}`;
}

/**
 * Runs an op against a bag. A `pages` op follows `next` until the end and returns the
 * pages; a cursor that never ends is an error of its own.
 */
export async function executeOp(
  stores: Stores,
  op: Op,
  tick: (ms: number) => void,
): Promise<unknown> {
  if (op.kind === 'tick') {
    tick(op.ms);
    return undefined;
  }
  const store = stores[op.store] as unknown as Record<
    string,
    (...a: unknown[]) => Promise<unknown>
  >;
  const ctx = CONTEXTS[op.ctx];
  if (op.kind === 'call') {
    const fn = store[op.method];
    if (typeof fn !== 'function') throw new TypeError(`${op.store}.${op.method} is not a function`);
    return fn.call(store, ctx, ...op.args);
  }
  const pages: unknown[] = [];
  let after: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const page = (await store.list!.call(store, ctx, { ...op.options, after })) as {
      items: unknown[];
      next: string | null;
    };
    pages.push(page);
    if (page.next === null) return pages;
    after = page.next;
  }
  throw new Error(`${op.store}.list: still a next page after ${MAX_PAGES} pages`);
}

/** A JS literal for a value, readable and pasteable. */
export function literal(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return `[${v.map(literal).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    const entries = Object.entries(v).map(
      ([k, x]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k)}: ${literal(x)}`,
    );
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return String(v);
}

function quote(s: string): string {
  // JSON escapes control characters and lone surrogates, so the snippet is byte-exact.
  const json = JSON.stringify(s).replace(
    /[\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16)}`,
  );
  const chars = [...s];
  return chars.length > 40 && new Set(chars).size === 1
    ? `${quote(chars[0]!)}.repeat(${chars.length})`
    : json.replace(/[\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}

/** The call of an op as an expression against a bag named `s` (a tick has none). */
export function opExpression(op: Op): string {
  if (op.kind === 'tick') return `clock.advance(${op.ms})`;
  if (op.kind === 'pages') {
    return `listAllPages(s.${op.store}, ${contextVar(op.ctx)}, ${literal(op.options)})`;
  }
  return `s.${op.store}.${op.method}(${[contextVar(op.ctx), ...op.args.map(literal)].join(', ')})`;
}

/** The op as one statement of code against a bag named `s`. */
export function opSource(op: Op): string {
  return op.kind === 'tick' ? `${opExpression(op)};` : `await ${opExpression(op)};`;
}

export { STORE_NAMES };
