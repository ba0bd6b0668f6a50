import type { Capabilities } from '@polystore/core';
import type { FailureDetails } from './conformance-failure.js';
import type { CoverageSummary } from './coverage.js';
import type { GroupName } from './group.js';

/** How one group ended. */
export interface GroupReport {
  readonly group: GroupName | 'manifest';
  readonly status: 'passed' | 'failed' | 'not-applicable';
  readonly durationMs: number;
  /** Property runs or scenarios executed. */
  readonly runs: number;
  /** Why it failed. */
  readonly message?: string;
  /** How to reproduce the failure. */
  readonly details?: FailureDetails;
  /** Extra lines (e.g. why a group does not apply). */
  readonly notes: readonly string[];
}

/** The result of a conformance run, as {@link formatReport} prints it. */
export interface ConformanceReport {
  readonly adapter: string;
  readonly seed: number;
  /** Every group passed, nothing was skipped and no declared-off feature answered. */
  readonly passed: boolean;
  readonly groups: readonly GroupReport[];
  readonly coverage: CoverageSummary;
  /** The manifest seen at the first open. */
  readonly manifest: Capabilities | undefined;
  readonly durationMs: number;
}
