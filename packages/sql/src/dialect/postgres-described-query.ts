/**
 * A named statement's result, as a RowDescription told it on one connection: the fields,
 * their parsers and the empty row `pg` copies per object row (`pg`'s `Result` state).
 */
interface Description {
  readonly fields: unknown;
  readonly parsers: unknown;
  readonly empty: unknown;
}

/** The parts of `pg`'s `Connection` a query writes to. */
interface Connection {
  describe(msg: object): void;
}

/** The parts of `pg`'s `Query` (and its `Result`) {@link describedQueries} builds on. */
interface PgQuery {
  name?: string;
  types?: unknown;
  callback?: unknown;
  _rowMode?: string;
  _result: { fields?: unknown; _parsers?: unknown; _prebuiltEmptyResultObject?: unknown };
  _results?: unknown;
  _accumulateRows?: boolean;
  hasBeenParsed(connection: Connection): boolean;
  prepare(connection: Connection): void;
  submit(connection: Connection): Error | null;
  handleRowDescription(msg: unknown): void;
}

/** A named statement's query: its name, text and values, rows as arrays or objects. */
export type DescribedQueryFactory = (
  name: string,
  text: string,
  values: unknown[],
  arrays: boolean,
) => PgQuery;

/** What each connection was told of each named statement's result. */
const described = new WeakMap<Connection, Map<string, Description>>();

/**
 * `pg`'s `Query` for named statements, without the Describe `pg` sends on every call.
 *
 * `pg` asks the server to describe a statement's result each time it runs it, and builds
 * the result's parsers and empty row from the answer again: some 10 µs of client CPU per
 * call (measured on a 15-column row) and a message each way. A named statement's result
 * cannot change while it stays prepared on its connection: when the table's columns
 * change, the server refuses to run it ("cached plan must not change result type") and the
 * runner prepares the text again under a new name. So the first call of a name on a
 * connection describes it, and later calls reuse that description.
 *
 * It builds on `pg`'s `Query` and its result's internals (`prepare`, `hasBeenParsed`,
 * `_result._parsers`, `_prebuiltEmptyResultObject`), as `pg-cursor` builds on them; where
 * this `pg`'s `Query` lacks the methods, there is no such class and the runner sends plain
 * query configs. `statement-cache.test.ts` checks that a second call sends no Describe and
 * reads the same rows, so an upgrade of `pg` that changed the internals fails there.
 *
 * A query is made from its text and values, and given its name and row mode after: from an
 * object config, `pg` copies the config property by property first (`cloneQueryConfig`,
 * 2.5 µs a query).
 *
 * @param Query `pg`'s `Query` class (`pg.Client.Query`), or `undefined`.
 */
export function describedQueries(Query: unknown): DescribedQueryFactory | undefined {
  const proto = (Query as { prototype?: Partial<PgQuery> } | undefined)?.prototype;
  if (
    typeof Query !== 'function' ||
    typeof proto?.prepare !== 'function' ||
    typeof proto.hasBeenParsed !== 'function' ||
    typeof proto.handleRowDescription !== 'function' ||
    typeof proto.submit !== 'function'
  ) {
    return undefined;
  }
  const Base = Query as new (text: string, values: unknown[]) => PgQuery;
  class DescribedQuery extends Base {
    #connection: Connection | undefined;

    override submit(connection: Connection): Error | null {
      this.#connection = connection;
      return super.submit(connection);
    }

    override prepare(connection: Connection): void {
      const name = this.name;
      const known = name ? described.get(connection)?.get(name) : undefined;
      if (known === undefined || !this.hasBeenParsed(connection)) {
        super.prepare(connection);
        return;
      }
      // pg's own steps (bind, execute, sync; no parse, the statement is parsed), but for
      // the Describe, which the connection's describe skips while `skipping` is set.
      quietDescribe(connection);
      skipping = true;
      try {
        super.prepare(connection);
      } finally {
        skipping = false;
      }
      const result = this._result;
      result.fields = known.fields;
      result._parsers = known.parsers;
      result._prebuiltEmptyResultObject = known.empty;
      // What pg's handleRowDescription would have set: keep the rows for the callback.
      this._accumulateRows = true;
    }

    override handleRowDescription(msg: unknown): void {
      super.handleRowDescription(msg);
      const connection = this.#connection;
      const name = this.name;
      const { fields, _parsers: parsers, _prebuiltEmptyResultObject: empty } = this._result;
      if (!connection || !name || !Array.isArray(fields) || !Array.isArray(parsers)) return;
      let byName = described.get(connection);
      if (byName === undefined) {
        byName = new Map();
        described.set(connection, byName);
      }
      byName.set(name, { fields, parsers, empty });
    }
  }
  return (name, text, values, arrays) => {
    const query = new DescribedQuery(text, values);
    query.name = name;
    if (arrays) {
      // What pg's constructor does with `rowMode: 'array'`: a result that makes arrays.
      const Result = query._result.constructor as new (
        rowMode: string,
        types: unknown,
      ) => PgQuery['_result'];
      query._rowMode = 'array';
      query._result = new Result('array', query.types);
      query._results = query._result;
    }
    return query;
  };
}

/** Set while a {@link describedQueries} query prepares a statement already described. */
let skipping = false;

/** The connections whose `describe` consults {@link skipping}. */
const quiet = new WeakSet<Connection>();

/**
 * Makes `connection.describe` send nothing while {@link skipping} is set: once per
 * connection, an own method in front of `pg`'s (prepare is synchronous, so the flag cannot
 * leak into another query's prepare).
 */
function quietDescribe(connection: Connection): void {
  if (quiet.has(connection)) return;
  const describe = connection.describe;
  connection.describe = function (this: Connection, msg: object) {
    if (!skipping) describe.call(this, msg);
  };
  quiet.add(connection);
}
