import { bareKeys, compileFunction } from '@polystore/core/adapter';

/**
 * What separates the JSON texts of a row (see row_of in prelude.lua): JSON whitespace
 * and a comma, so the row is a JSON array the client reads with one `JSON.parse`, and no
 * JSON text polystore writes holds it (`JSON.stringify` writes no raw newline), so a row
 * that does not parse can still be cut into its texts to name the field at fault.
 */
export const ROW_SEPARATOR = '\n,';

/** `[`, which a row starts with and a stored row's head (a hex signature) does not. */
const OPEN_BRACKET = 0x5b;

/** A row that is not the JSON array of a record's texts; `field` names the text at fault. */
export class RowError extends Error {
  readonly field: string | undefined;
  constructor(field: string | undefined, options?: ErrorOptions) {
    super(field === undefined ? 'not a record row' : `field ${field} is not JSON`, options);
    this.name = 'RowError';
    this.field = field;
  }
}

/** Sets the values of a row's fields, in the reader's order, on a new record. */
type ValuesReader = (values: readonly unknown[]) => Record<string, unknown>;

/**
 * Reads the rows of one resource's records: the JSON array of the texts of its fields
 * `names`, in that order, where a field the record lacks is `null` and the array ends with
 * one more element, the list of those positions (from 0). One `JSON.parse` per row: about
 * half the client's time of parsing each text on its own.
 */
export class RowReader {
  readonly #names: readonly string[];
  /** One function with a store site per field (`new Function`), where it can be compiled. */
  readonly #read: ValuesReader | undefined;

  constructor(names: readonly string[]) {
    this.#names = names;
    this.#read = compileValuesReader(names);
  }

  /**
   * The record of a row. A stored row (prelude.lua record_row) comes with its head, which
   * ends at the first NUL (no JSON text holds one): the row is what follows. Throws
   * {@link RowError} for a row that is not one.
   */
  read(reply: string): Record<string, unknown> {
    // V8 slices without copying; the server would copy the whole row to cut its head.
    const row = reply.charCodeAt(0) === OPEN_BRACKET ? reply : reply.slice(reply.indexOf('\0') + 1);
    let values: unknown;
    try {
      values = JSON.parse(row);
    } catch (err) {
      throw new RowError(this.#culprit(row), { cause: err });
    }
    const n = this.#names.length;
    if (
      !Array.isArray(values) ||
      (values.length !== n && (values.length !== n + 1 || !Array.isArray(values[n])))
    ) {
      throw new RowError(undefined);
    }
    if (values.length === n && this.#read !== undefined) return this.#read(values);
    const absent = new Set<unknown>(values.length > n ? (values[n] as unknown[]) : []);
    const record: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      if (!absent.has(i)) record[this.#names[i]!] = values[i];
    }
    return record;
  }

  /** The field whose text does not parse, in a row that does not. */
  #culprit(row: string): string | undefined {
    if (!row.startsWith('[') || !row.endsWith(']')) return undefined;
    const texts = row.slice(1, -1).split(ROW_SEPARATOR);
    for (let i = 0; i < Math.min(texts.length, this.#names.length); i++) {
      try {
        JSON.parse(texts[i]!);
      } catch {
        return this.#names[i];
      }
    }
    return undefined;
  }
}

/**
 * {@link ValuesReader} for the fields `names`, as one function with a store site per field:
 * a loop setting `record[name]` for name after name makes one store site see every name,
 * which V8 then looks up on each store. `undefined` where a name is not a plain identifier
 * or the runtime refuses `new Function`: the caller keeps its loop, which reads the same.
 */
function compileValuesReader(names: readonly string[]): ValuesReader | undefined {
  if (!bareKeys(names)) return undefined;
  const steps = names.map((n, i) => `  r.${n} = values[${i}];`);
  const source = `return function readValues(values) {
  const r = {};
${steps.join('\n')}
  return r;
};`;
  return compileFunction<ValuesReader>([], source, []);
}
