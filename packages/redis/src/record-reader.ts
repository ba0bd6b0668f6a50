import { bareKeys, compileFunction } from '@polystore/core/adapter';

/** A JSON string with nothing to unescape: no quote, backslash or control character inside. */
const PLAIN_STRING = /^"[^"\\\u0000-\u001f]*"$/;

/**
 * The value of one field's JSON text. Most texts are strings with nothing escaped, whose
 * value is the text between the quotes: taken as it is, that is about three times cheaper
 * than `JSON.parse`, which everything else goes through (and which throws on text that is
 * not JSON).
 */
export function jsonValue(text: string): unknown {
  return PLAIN_STRING.test(text) ? text.slice(1, -1) : JSON.parse(text);
}

/** Reads the JSON texts of a record's fields, in a fixed order, into the record. */
export type TextsReader = (
  texts: readonly (string | null | undefined)[],
) => Record<string, unknown>;

/**
 * {@link TextsReader} for the fields `names`, as one function with a store site per field
 * (`new Function`): a loop setting `record[name]` for name after name makes one store site
 * see every name, which V8 then looks up on each store. A text that is `null`, `undefined`
 * or `''` leaves its field out. `undefined` where a name is not a plain identifier or the
 * runtime refuses `new Function`: the caller keeps its loop, which reads the same record.
 * A text that is not JSON makes the reader throw `SyntaxError`.
 */
export function compileTextsReader(names: readonly string[]): TextsReader | undefined {
  if (!bareKeys(names)) return undefined;
  const steps = names.map(
    (n, i) => `  t = texts[${i}];
  if (t !== null && t !== undefined && t !== '') r.${n} = value(t);`,
  );
  const source = `return function readTexts(texts) {
  const r = {};
  let t;
${steps.join('\n')}
  return r;
};`;
  return compileFunction<TextsReader>(['value'], source, [jsonValue]);
}
