import type { ResolvedBudget } from './budget.js';
import type { Coverage } from './coverage.js';
import type { ReplayToken } from './replay-token.js';
import type { Session } from './session.js';

/** What a group gets: the session, the coverage to record into, the budget and seed. */
export interface GroupContext {
  readonly session: Session;
  readonly coverage: Coverage;
  readonly budget: ResolvedBudget;
  /** The run's seed (each group derives its own from it). */
  readonly seed: number;
  /** The replay token, when it is for this group. */
  readonly replay: ReplayToken | undefined;
}

/** How a group ended when it did not fail. */
export interface GroupOutcome {
  readonly status: 'passed' | 'not-applicable';
  /** Property runs or scenarios executed. */
  readonly runs: number;
  /** Lines for the report. */
  readonly notes: readonly string[];
}

/** A group of checks; throws `ConformanceFailure` when the adapter fails it. */
export type GroupFn = (g: GroupContext) => Promise<GroupOutcome>;

/** The group names, in the order they run. */
export const GROUP_NAMES = [
  'shape',
  'behaviour',
  'invariants',
  'isolation',
  'concurrency',
  'faults',
  'evolution',
  'upgrade',
] as const;

/** A group's name. */
export type GroupName = (typeof GROUP_NAMES)[number];
