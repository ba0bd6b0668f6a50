import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ROW_SEPARATOR, RowError, RowReader } from '../src/record-reader.js';
import { shakeScript } from '../tools/shake-lua.mjs';
import { useRawRedis } from './helpers.js';

const raw = useRawRedis([]);

/**
 * The row of a record's texts (`undefined` where it lacks the field), as prelude.lua's
 * row_of writes it: the texts, 'null' for an absent one and then the list of those.
 */
function rowOf(texts: readonly (string | undefined)[]): string {
  const absent = texts.flatMap((t, i) => (t === undefined ? [i] : []));
  const parts = texts.map((t) => t ?? 'null');
  if (absent.length > 0) parts.push(`[${absent.join(',')}]`);
  return `[${parts.join(ROW_SEPARATOR)}]`;
}

/** Field names: plain identifiers (the compiled reader) and names it cannot write bare. */
const NAMES = [
  ['id', 'name', 'spec', 'zone'],
  ['id', 'a-b', 'two words', 'zone'],
] as const;

/** A record of some of `names`' fields (id always), as JSON values; the rest absent. */
const recordOf = (names: readonly string[]) =>
  fc
    .tuple(
      fc.string({ unit: 'binary' }),
      fc.array(
        fc.option(fc.oneof(fc.string({ unit: 'binary' }), fc.jsonValue()), { nil: undefined }),
        {
          minLength: names.length - 1,
          maxLength: names.length - 1,
        },
      ),
    )
    .map(([id, rest]) => [id, ...rest] as unknown[]);

describe('RowReader', () => {
  for (const names of NAMES) {
    it(`reads back every record from its row, absent fields left out (${names.join(', ')})`, () => {
      const reader = new RowReader(names);
      fc.assert(
        fc.property(recordOf(names), (values) => {
          const texts = values.map((v) => (v === undefined ? undefined : JSON.stringify(v)));
          const want: Record<string, unknown> = {};
          names.forEach((n, i) => {
            if (texts[i] !== undefined) want[n] = JSON.parse(texts[i]!);
          });
          const got = reader.read(rowOf(texts));
          expect(Object.entries(got)).toEqual(Object.entries(want));
          // A stored row comes with its head (prelude.lua ROW_HEAD): the same record.
          const stored = reader.read(`0123456789ab 7 "2026-01-01T00:00:00.000Z"\0${rowOf(texts)}`);
          expect(Object.entries(stored)).toEqual(Object.entries(want));
        }),
        { numRuns: 400 },
      );
    });
  }

  it('names the field whose text is not JSON, and refuses a row of another shape', () => {
    const reader = new RowReader(['id', 'name', 'zone']);
    for (const text of ['"tab\there"', '"open', 'plain', '']) {
      const row = rowOf(['"a"', text, 'null']);
      expect(() => reader.read(row)).toThrow(RowError);
      try {
        reader.read(row);
      } catch (err) {
        expect((err as RowError).field).toBe('name');
      }
    }
    // A text of another program that holds the separator shifts the row: the last element
    // is then no list of absent positions.
    for (const row of [
      '["a"]',
      '{"id":"a"}',
      '"a"',
      '["a",1,2,[0],5]',
      'x',
      // A head and no row, a head with no NUL, a row after two heads.
      'abc 1 "t"\0',
      'abc 1 "t"["a",1,2]',
      'abc 1 "t"\0abc 1 "t"\0["a",1,2]',
      '["a",1,2,5]',
      '["a",1,2,"ab"]',
    ]) {
      expect(() => reader.read(row), row).toThrow(RowError);
    }
  });

  it('is what the scripts reply: row_of on the server writes the rows RowReader.row does', async () => {
    const prelude = readFileSync(new URL('../src/scripts/prelude.lua', import.meta.url), 'utf8');
    // ARGV: the count of names, the names, then a text per name ('' for absent).
    const script = shakeScript(
      prelude,
      `local n = tonumber(ARGV[1])
local names, v = {}, {}
for k = 1, n do
  names[k] = ARGV[1 + k]
  local t = ARGV[1 + n + k]
  v[k] = t ~= '' and t
end
return row_of(v, names)`,
    );
    const names = ['id', 'name', 'spec', 'zone'];
    const reader = new RowReader(names);
    await fc.assert(
      fc.asyncProperty(recordOf(names), async (values) => {
        const texts = values.map((v) => (v === undefined ? undefined : JSON.stringify(v)));
        const row = (await raw().eval(
          script,
          0,
          names.length,
          ...names,
          ...texts.map((t) => t ?? ''),
        )) as string;
        expect(row).toBe(rowOf(texts));
        // And the reader takes it back to the values, absent fields left out.
        const want = Object.fromEntries(
          names.flatMap((n, i) => (values[i] === undefined ? [] : [[n, JSON.parse(texts[i]!)]])),
        );
        expect(reader.read(row)).toEqual(want);
      }),
      { numRuns: 200 },
    );
  });
});
