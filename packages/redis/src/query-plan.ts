import type { FilterValue } from '@polystore/core';
import type { Predicate, ReadScope } from '@polystore/core/adapter';
import { type Liveness, MEMBER_SEPARATOR, type ResourceLayout } from './layout.js';

/** One end of a range of sorted-set members. */
export interface Bound {
  /** The member bytes the bound compares with. */
  readonly bytes: Buffer;
  /** Whether a member equal to `bytes` is inside. */
  readonly inclusive: boolean;
}

/** A range of sorted-set members; `null` ends are open. */
export interface MemberRange {
  readonly lo: Bound | null;
  readonly hi: Bound | null;
}

/**
 * A predicate of a plan as the driver sees it: an equality on JSON texts (`e`) or sort tokens
 * (`v`), or a member range (`r`), and whether its own index can yield its records.
 */
export interface PlannedPredicate {
  readonly kind: 'e' | 'v' | 'r';
  readonly field: string;
  /** Whether the field's own index holds the matching records (not so for `projectId`). */
  readonly indexed: boolean;
  /** The JSON texts (`e`) or sort tokens (`v`) it accepts; empty for a range. */
  readonly values: readonly string[];
}

/** What the list and count scripts get for a `where` within a scope. */
export interface QueryPlan {
  /** The partitions (`<l|d>:<*|project>`) to read. */
  readonly partitions: readonly string[];
  /** The encoded predicates, starting with their count (see `read_preds` in prelude.lua). */
  readonly predicates: readonly (string | Buffer)[];
  /** The same predicates, each as one object (so a count of one index can skip the script). */
  readonly conditions: readonly PlannedPredicate[];
  /** Ranges on the order field, which bound the walk of its index instead of being checked. */
  readonly order: MemberRange;
}

const SEP = Buffer.from(MEMBER_SEPARATOR);
const TOP = Buffer.from([0xff]);

/** The tighter of two lower bounds. */
export function maxLower(a: Bound | null, b: Bound | null): Bound | null {
  if (a === null) return b;
  if (b === null) return a;
  const c = Buffer.compare(a.bytes, b.bytes);
  return c > 0 || (c === 0 && !a.inclusive) ? a : b;
}

/** The tighter of two upper bounds. */
export function minUpper(a: Bound | null, b: Bound | null): Bound | null {
  if (a === null) return b;
  if (b === null) return a;
  const c = Buffer.compare(a.bytes, b.bytes);
  return c < 0 || (c === 0 && !a.inclusive) ? a : b;
}

/** A bound as a ZRANGEBYLEX argument (`-`/`+` when open). */
export function lexArg(bound: Bound | null, open: '-' | '+'): string | Buffer {
  if (bound === null) return open;
  return Buffer.concat([Buffer.from(bound.inclusive ? '[' : '('), bound.bytes]);
}

/** The members `<token>\0<id>` of records whose token compares with `token` as `op` says. */
function rangeOf(token: string, op: 'gt' | 'gte' | 'lt' | 'lte'): MemberRange {
  const t = Buffer.concat([Buffer.from(token, 'utf8'), SEP]);
  // `<token>\0` is below every member of the token, `<token>\0\xff` above them (ids are ASCII).
  const above = Buffer.concat([t, TOP]);
  switch (op) {
    case 'gt':
      return { lo: { bytes: above, inclusive: false }, hi: null };
    case 'gte':
      return { lo: { bytes: t, inclusive: true }, hi: null };
    case 'lt':
      return { lo: null, hi: { bytes: t, inclusive: false } };
    case 'lte':
      return { lo: null, hi: { bytes: above, inclusive: true } };
  }
}

/** The sorted-set member of a record: its token and id. */
export function memberOf(token: string, id: string): Buffer {
  return Buffer.concat([Buffer.from(token, 'utf8'), SEP, Buffer.from(id, 'utf8')]);
}

function values(p: Predicate): readonly FilterValue[] {
  return p.op === 'in' ? (p.value as readonly FilterValue[]) : [p.value as FilterValue];
}

/**
 * Plans a `where` within a read scope: which partitions to read (liveness from
 * `readDeleted`, projects from the scope and any `projectId` condition), and each other
 * condition as an equality on JSON texts (`e`, equality-indexed fields), an equality on
 * sort tokens (`v`) or a member range (`r`) of a sortable field. Returns `undefined` when
 * nothing can match, so the caller skips the round trip.
 *
 * More than `maxPartitions` partitions (an admin's `projectId: { in: [...] }`) are read as
 * the all-projects partitions with a `projectId` check instead, so a list merges few
 * indexes; `count` adds partition sizes and takes any number.
 */
export function planQuery(
  layout: ResourceLayout,
  scope: ReadScope,
  where: readonly Predicate[],
  options: { readonly orderField?: string; readonly maxPartitions: number },
): QueryPlan | undefined {
  const liveness: Liveness[] =
    scope.deleted === 'no' ? ['l'] : scope.deleted === 'only' ? ['d'] : ['l', 'd'];
  if (!layout.resource.softDelete && scope.deleted === 'only') return undefined;

  let projects: Set<string> | null =
    scope.projectId === null || layout.global
      ? null
      : new Set([JSON.stringify(scope.projectId), ...(scope.includeShared ? ['null'] : [])]);
  const preds: (string | Buffer)[] = [];
  const conditions: PlannedPredicate[] = [];
  const ranges = new Map<string, MemberRange>();

  for (const p of where) {
    if (p.field === 'projectId') {
      const wanted = new Set(values(p).map((v) => JSON.stringify(v)));
      projects = projects === null ? wanted : new Set([...projects].filter((x) => wanted.has(x)));
      continue;
    }
    if (layout.isSortField(p.field)) {
      if (p.op === 'eq' || p.op === 'in') {
        // Sortable fields are never null, so a null operand matches nothing.
        const tokens = values(p)
          .filter((v) => v !== null)
          .map((v) => layout.sortToken(p.field, v as string | number));
        if (tokens.length === 0) return undefined;
        preds.push('v', p.field, '1', String(tokens.length), ...tokens);
        conditions.push({ kind: 'v', field: p.field, indexed: true, values: tokens });
      } else {
        const r = rangeOf(layout.sortToken(p.field, p.value as string | number), p.op);
        const had = ranges.get(p.field) ?? { lo: null, hi: null };
        ranges.set(p.field, { lo: maxLower(had.lo, r.lo), hi: minUpper(had.hi, r.hi) });
      }
      continue;
    }
    const texts = values(p).map((v) => layout.valueJson(v));
    preds.push('e', p.field, '1', String(texts.length), ...texts);
    conditions.push({ kind: 'e', field: p.field, indexed: true, values: texts });
  }

  let order: MemberRange = { lo: null, hi: null };
  for (const [field, range] of ranges) {
    if (field === options.orderField) {
      order = range;
    } else {
      preds.push('r', field, '1', lexArg(range.lo, '-'), lexArg(range.hi, '+'));
      conditions.push({ kind: 'r', field, indexed: true, values: [] });
    }
  }

  let projectParts: string[] = ['*'];
  if (projects !== null) {
    if (projects.size === 0) return undefined;
    if (projects.size * liveness.length <= options.maxPartitions) {
      projectParts = [...projects];
    } else {
      preds.push('e', 'projectId', '0', String(projects.size), ...projects);
      conditions.push({ kind: 'e', field: 'projectId', indexed: false, values: [...projects] });
    }
  }
  const partitions = liveness.flatMap((l) => projectParts.map((p) => `${l}:${p}`));
  return { partitions, predicates: [String(conditions.length), ...preds], conditions, order };
}

/** A sorted set whose size is a count, and the plain set of an earlier release it may still have. */
export interface CountIndex {
  readonly key: string;
  /** The equality index's plain set of an earlier release ({@link ResourceLayout.legacyEqKey}). */
  readonly legacy?: string;
}

/**
 * The one index whose size is the count of a plan, when there is one: the id index of the
 * partition without predicates, the equality index of the value with one equality
 * predicate on an indexed field. Its size is what count.lua would return (see there).
 */
export function indexOfPlan(layout: ResourceLayout, plan: QueryPlan): CountIndex | undefined {
  if (plan.partitions.length !== 1) return undefined;
  const part = plan.partitions[0]!;
  const [only, ...rest] = plan.conditions;
  if (only === undefined) return { key: layout.sortKey('id', part) };
  if (rest.length > 0 || only.kind !== 'e' || !only.indexed || only.values.length !== 1) {
    return undefined;
  }
  const value = only.values[0]!;
  return {
    key: layout.eqKey(only.field, part, value),
    legacy: layout.legacyEqKey(only.field, part, value),
  };
}

/**
 * {@link indexOfPlan} of the most common count, found without planning: live records of
 * one project (or of all), with no predicate or one equality on an equality-indexed field.
 * `undefined` for any other count (which may still have one index: plan it and see).
 */
export function countIndex(
  layout: ResourceLayout,
  scope: ReadScope,
  where: readonly Predicate[],
): CountIndex | undefined {
  if (scope.deleted !== 'no' || scope.includeShared || where.length > 1) return undefined;
  const part = layout.partition(
    'l',
    scope.projectId === null || layout.global ? '*' : scope.projectId,
  );
  const p = where[0];
  if (p === undefined) return { key: layout.sortKey('id', part) };
  if (p.op !== 'eq' || p.field === 'projectId' || layout.isSortField(p.field)) return undefined;
  const value = layout.valueJson(p.value as FilterValue);
  return {
    key: layout.eqKey(p.field, part, value),
    legacy: layout.legacyEqKey(p.field, part, value),
  };
}
