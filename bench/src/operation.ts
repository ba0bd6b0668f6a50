/** The operations measured on every backend, in report order. */
export const OPERATIONS = [
  'get',
  'create',
  'updateRevision',
  'updateExpected',
  'list',
  'count',
  'allocate',
] as const;

/** One measured operation. */
export type Operation = (typeof OPERATIONS)[number];

/** How each operation is named in the report. */
export const OPERATION_LABELS: Readonly<Record<Operation, string>> = Object.freeze({
  get: 'get',
  create: 'create',
  updateRevision: 'update (revision-checked)',
  updateExpected: 'update (expected value)',
  list: 'list page of 50, indexed filter',
  count: 'count, indexed filter',
  allocate: 'allocate fixed IP',
});

/** One call of a prepared operation; each call is one operation. */
export type OpFn = () => Promise<unknown>;

/** Prepares an operation's fixture (seed records, a network, ...) and returns the call. */
export type PrepareOp = () => Promise<OpFn>;

/**
 * Something measured on the same work: polystore itself, the raw driver baseline, or a
 * peer library. It implements the operations it has an equivalent for.
 */
export interface Subject {
  /** Shown in the report, e.g. `polystore`, `raw pg`, `keyv`, `drizzle`. */
  readonly name: string;
  /** What it is compared as. */
  readonly role: 'polystore' | 'raw' | 'peer';
  /** A raw subject that is the best use of the driver (the floor), not the fair baseline. */
  readonly floor?: boolean;
  /**
   * Operations it measures but cannot do at equal work (why): shown, never compared in a goal.
   */
  readonly unequal?: Partial<Record<Operation, string>>;
  /** The statements or calls each operation makes, stated in the report. */
  readonly statements?: Partial<Record<Operation, string>>;
  /** What each operation means for it, when it is not the polystore operation itself. */
  readonly notes?: Partial<Record<Operation, string>>;
  /** The operations it implements. */
  readonly ops: Partial<Record<Operation, PrepareOp>>;
  /** Releases its connections. */
  close(): Promise<void>;
}
