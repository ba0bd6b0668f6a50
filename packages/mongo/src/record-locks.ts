/** The process-wide lock table, on globalThis so that every copy of this module shares it. */
const REGISTRY = Symbol.for('@polystore/mongo/record-locks');

function table(): Map<string, Promise<void>> {
  const g = globalThis as { [REGISTRY]?: Map<string, Promise<void>> };
  g[REGISTRY] ??= new Map();
  return g[REGISTRY];
}

/**
 * Per-record mutual exclusion among every client of one process.
 *
 * FerretDB v1.24 runs `findAndModify` as a read followed by an unconditional write by
 * `_id`, so two concurrent conditional updates of one record can both succeed (a lost
 * update). Running the conditional writes of a record one at a time closes that race for
 * all stores of this process; across processes FerretDB v1 gives no such guarantee.
 *
 * @example
 * ```ts
 * const locks = new RecordLocks('127.0.0.1:27017/app');
 * await locks.run('instances', id, () => collection.findOneAndUpdate(filter, update));
 * ```
 */
export class RecordLocks {
  readonly #scope: string;

  /** `scope` names the database (server and database name) the records live in. */
  constructor(scope: string) {
    this.#scope = scope;
  }

  /** Runs `fn` once no other `run` for the same record of this process is running. */
  async run<T>(collection: string, id: string, fn: () => Promise<T>): Promise<T> {
    const key = `${this.#scope}\u0000${collection}\u0000${id}`;
    const locks = table();
    const before = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => mine);
    locks.set(key, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(key) === tail) locks.delete(key);
    }
  }
}
