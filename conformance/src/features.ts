import type { FeatureName } from '@polystore/core';
import type { Op } from './op.js';

function whereOf(op: Op): Record<string, unknown> | undefined {
  if (op.kind === 'pages') return op.options.where as Record<string, unknown> | undefined;
  if (op.kind !== 'call') return undefined;
  if (op.method === 'list')
    return (op.args[0] as { where?: Record<string, unknown> } | undefined)?.where;
  if (op.method === 'count') return op.args[0] as Record<string, unknown> | undefined;
  return undefined;
}

function usesOperator(op: Op, ops: readonly string[]): boolean {
  const where = whereOf(op);
  if (typeof where !== 'object' || where === null) return false;
  return Object.values(where).some(
    (c) =>
      typeof c === 'object' &&
      c !== null &&
      !Array.isArray(c) &&
      Object.keys(c).some((k) => ops.includes(k)),
  );
}

function orderOf(op: Op): { direction?: unknown } | undefined {
  if (op.kind === 'pages') return op.options.orderBy as { direction?: unknown } | undefined;
  if (op.kind === 'call' && op.method === 'list') {
    return (op.args[0] as { orderBy?: { direction?: unknown } } | undefined)?.orderBy;
  }
  return undefined;
}

/**
 * The optional features the suite knows, each with the test of whether a command uses it.
 * An adapter may declare any of them off in `capabilities.features`; commands using it are
 * still generated and must be refused with `NotSupportedError(name)`. A feature name the
 * suite does not know cannot be tested and counts as skipped.
 */
export const FEATURES: Readonly<Record<FeatureName, (op: Op) => boolean>> = Object.freeze({
  'query.in': (op) => usesOperator(op, ['in']),
  'query.range': (op) => usesOperator(op, ['gt', 'gte', 'lt', 'lte']),
  'query.orderDesc': (op) => orderOf(op)?.direction === 'desc',
  'update.expected': (op) =>
    op.kind === 'call' &&
    op.method === 'update' &&
    (op.args[2] as { expected?: unknown } | undefined)?.expected !== undefined,
  purge: (op) => op.kind === 'call' && op.method === 'purge',
});

/** The features an op uses that the manifest declares off. */
export function offFeaturesUsed(op: Op, features: Readonly<Record<string, boolean>>): string[] {
  return Object.entries(FEATURES)
    .filter(([name, uses]) => features[name] === false && uses(op))
    .map(([name]) => name);
}

/** Every known feature an op uses. */
export function featuresUsed(op: Op): string[] {
  return Object.entries(FEATURES)
    .filter(([, uses]) => uses(op))
    .map(([name]) => name);
}
