import type { Predicate, ReadScope, StoredRecord } from '@polystore/core/adapter';
import { at, gadgetV11 } from '@polystore/testing/evolution-fixtures';
import { describe, expect, it } from 'vitest';
import { postgresSupport } from '../src/dialect/postgres-dialect-support.js';
import { sqliteSupport } from '../src/dialect/sqlite-dialect-support.js';
import { tableLayout } from '../src/layout.js';
import { RowCodec } from '../src/sql-resource-driver.js';
import { SqlStatements, type Statement } from '../src/sql-statements.js';
import { DIALECTS, type Dialect } from './support.js';

// Each hot statement's text is built once per shape and its parameters are written by one
// writer on every call: these tests hold the placeholders a text has to the parameters
// the writer binds, shape by shape, in both dialects.

const layout = tableLayout(gadgetV11, 'p_');
const statements = (dialect: Dialect) =>
  new SqlStatements(
    new RowCodec(layout, dialect === 'sqlite' ? sqliteSupport : postgresSupport),
    dialect,
    dialect === 'postgres' ? 'app' : undefined,
  );

/** The placeholders of a text in order: `$n` numbers on PostgreSQL, one per `?` on SQLite. */
function placeholders(dialect: Dialect, text: string): number[] {
  if (dialect === 'sqlite') return [...text.matchAll(/\?/g)].map((_, i) => i + 1);
  return [...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
}

/** Every parameter has its placeholder, in order, and none is left unbound. */
function expectBound(dialect: Dialect, { text, params }: Statement): void {
  const marks = placeholders(dialect, text);
  expect(marks, text).toEqual(params.map((_, i) => i + 1));
  for (const p of params) expect(p, text).not.toBeUndefined();
}

const scopes: ReadScope[] = [
  { projectId: 'p1', includeShared: false, deleted: 'no' },
  { projectId: null, includeShared: true, deleted: 'yes' },
  { projectId: 'p1', includeShared: true, deleted: 'only' },
];
const filters: Predicate[][] = [
  [],
  [{ field: 'label', op: 'eq', value: 'a' }],
  [{ field: 'color', op: 'eq', value: null }],
  [{ field: 'color', op: 'in', value: ['a', null, 'b', 'c'] }],
  [{ field: 'color', op: 'in', value: [null] }],
  [{ field: 'color', op: 'in', value: [] }],
  [
    { field: 'label', op: 'gte', value: 'a' },
    { field: 'label', op: 'lt', value: 'm' },
    { field: 'color', op: 'in', value: ['x'] },
  ],
];
const expecteds: (Record<string, readonly unknown[]> | undefined)[] = [
  undefined,
  { color: ['blue'] },
  { color: [null, 'b', 'c'], label: ['l'] },
  { objectVersion: ['1.1'] },
  { color: [], objectVersion: ['1.0'] },
];

describe('SqlStatements count texts', () => {
  // A count of the shape the last count had reuses its text without writing a key: every
  // pair of shapes in a row must still get the text its own shape builds.
  const shapes: Predicate[][] = [
    ...filters,
    [{ field: 'color', op: 'eq', value: 'red' }],
    [{ field: 'label', op: 'eq', value: null }],
    [{ field: 'label', op: 'gte', value: 'a' }],
    [{ field: 'label', op: 'lt', value: 'a' }],
    [
      { field: 'color', op: 'eq', value: 'x' },
      { field: 'label', op: 'eq', value: 'a' },
    ],
    [
      { field: 'label', op: 'eq', value: 'a' },
      { field: 'color', op: 'eq', value: 'x' },
    ],
  ];
  for (const dialect of DIALECTS) {
    it(`after any count, a count gets the text of its own shape, on ${dialect}`, () => {
      const fresh = (scope: ReadScope, where: Predicate[]) =>
        statements(dialect).count(scope, where).text;
      const s = statements(dialect);
      for (const a of scopes)
        for (const b of scopes)
          for (const x of shapes)
            for (const y of shapes) {
              s.count(a, x);
              const { text } = s.count(b, y);
              expect(text, `${JSON.stringify(x)} then ${JSON.stringify(y)}`).toBe(fresh(b, y));
              expectBound(dialect, s.count(b, y));
            }
    });
  }
});

describe('SqlStatements parameters', () => {
  for (const dialect of DIALECTS) {
    it(`binds one parameter per placeholder, in order, on ${dialect} (built and kept alike)`, () => {
      const s = statements(dialect);
      // Twice each: the first call builds the shape's text, the second finds it kept.
      const check = (call: () => Statement) => {
        expectBound(dialect, call());
        expectBound(dialect, call());
      };
      for (const scope of scopes) {
        check(() => s.get(scope, 'r1'));
        for (const ids of [['a'], ['a', 'b', 'c']]) check(() => s.getMany(scope, ids));
        for (const where of filters) {
          check(() => s.count(scope, where));
          for (const after of [null, { id: 'x', value: 'y' }])
            for (const orderBy of [
              { field: 'id', direction: 'asc' },
              { field: 'label', direction: 'desc' },
            ] as const)
              for (const limit of [11, 2.5])
                check(() => s.list(scope, { where, orderBy, limit, after }));
        }
      }
      for (const projectId of [null, 'p1'])
        for (const expected of expecteds)
          for (const expectedRevision of [undefined, 3]) {
            const w = { projectId };
            for (const set of [{ label: 'l' }, { color: null, label: 'l' }])
              check(() =>
                s.update(w, 'r1', {
                  set,
                  updatedAt: at,
                  objectVersion: '1.1',
                  expectedRevision,
                  expected,
                }),
              );
            for (const soft of [true, false])
              check(() => s.delete(w, 'r1', { soft, at, expectedRevision, expected }));
            check(() => s.current(w, 'r1'));
          }
      check(() => s.idTaken('r1'));
      check(() => s.insert({ id: 'r1', projectId: 'p1', revision: 1 } as StoredRecord));
    });
  }
});
