import type { Predicate, ReadScope } from '@polystore/core/adapter';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gadgetResource, widgetResource } from '../../../test/contract/resources.js';
import { keyspace, ResourceLayout } from '../src/layout.js';
import { countIndex, indexOfPlan, planQuery } from '../src/query-plan.js';

const gadgets = new ResourceLayout(gadgetResource, keyspace('polystore:', 'ns'));
const widgets = new ResourceLayout(widgetResource, keyspace('polystore:', 'ns'));

const scopes: fc.Arbitrary<ReadScope> = fc.record({
  projectId: fc.constantFrom(null, 'p1', 'p"2'),
  includeShared: fc.boolean(),
  deleted: fc.constantFrom('no' as const, 'yes' as const, 'only' as const),
});

const predicates: fc.Arbitrary<Predicate> = fc.oneof(
  fc.record({
    field: fc.constantFrom('color', 'rank', 'projectId', 'zone'),
    op: fc.constantFrom('eq' as const, 'in' as const),
    value: fc.constantFrom<Predicate['value']>('red', 3, null, 'p1', ['red', 'blue'], [1]),
  }),
  fc.record({
    field: fc.constantFrom('name', 'size'),
    op: fc.constantFrom('eq' as const, 'gt' as const, 'lte' as const),
    value: fc.constantFrom<Predicate['value']>('b', 7),
  }),
);

/** The index planning finds for a count, as the driver read it before the fast path. */
function planned(layout: ResourceLayout, scope: ReadScope, where: readonly Predicate[]) {
  const plan = planQuery(layout, scope, where, { maxPartitions: Number.POSITIVE_INFINITY });
  return plan && indexOfPlan(layout, plan);
}

describe('countIndex', () => {
  it('finds, whenever it answers, the index planning finds', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(gadgets, widgets),
        scopes,
        fc.array(predicates, { maxLength: 2 }),
        (layout, scope, where) => {
          const fast = countIndex(layout, scope, where);
          if (fast !== undefined) expect(fast).toEqual(planned(layout, scope, where));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('answers the common counts without planning: none or one equality, live, one project or all', () => {
    const live = (projectId: string | null): ReadScope => ({
      projectId,
      includeShared: false,
      deleted: 'no',
    });
    const one: Predicate = { field: 'color', op: 'eq', value: 'red' };
    expect(countIndex(gadgets, live('p1'), [one])).toEqual({
      key: 'polystore:{ns}:gadgets:q:color:l:"p1":"red"',
      legacy: 'polystore:{ns}:gadgets:e:color:l:"p1":"red"',
    });
    expect(countIndex(gadgets, live(null), [])).toEqual({
      key: 'polystore:{ns}:gadgets:z:id:l:*',
    });
    // Shared records, deleted ones, an `in`, a sortable field: planned as before.
    expect(countIndex(gadgets, { ...live('p1'), includeShared: true }, [one])).toBeUndefined();
    expect(countIndex(gadgets, { ...live('p1'), deleted: 'yes' }, [one])).toBeUndefined();
    expect(
      countIndex(gadgets, live('p1'), [{ field: 'color', op: 'in', value: ['red'] }]),
    ).toBeUndefined();
    expect(
      countIndex(gadgets, live('p1'), [{ field: 'name', op: 'eq', value: 'b' }]),
    ).toBeUndefined();
  });
});
