/** Details of a failed group, as the report prints them. */
export interface FailureDetails {
  /** `POLYSTORE_REPLAY` token reproducing it. */
  readonly token?: string;
  /** The shrunk command sequence as a pasteable vitest test. */
  readonly snippet?: string;
  /** The reference model's state before the failing step. */
  readonly modelBefore?: string;
  /** Commands in the shrunk counterexample. */
  readonly steps?: number;
  /** Commands in the first failing sequence found, before shrinking. */
  readonly shrunkFrom?: number;
  /** Runs made before the failure. */
  readonly runs?: number;
}

/** A conformance check failed: which group, what, and how to reproduce it. */
export class ConformanceFailure extends Error {
  constructor(
    /** The group (or `manifest`) that failed. */
    readonly group: string,
    message: string,
    readonly details: FailureDetails = {},
  ) {
    super(message);
    this.name = 'ConformanceFailure';
  }
}
