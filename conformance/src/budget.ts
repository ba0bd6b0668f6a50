import type { Budget } from './conformance-options.js';

/** A budget with every value filled in. */
export type ResolvedBudget = Required<Budget>;

/** Fills in a budget's defaults; `CONFORMANCE_RUNS` raises the number of runs. */
export function resolveBudget(budget: Budget = {}): ResolvedBudget {
  const env = Number(process.env.CONFORMANCE_RUNS);
  const runs = budget.runs ?? (Number.isSafeInteger(env) && env > 0 ? env : 100);
  return {
    runs,
    maxCommands: budget.maxCommands ?? 30,
    clients: budget.clients ?? 4,
    checkerMs: budget.checkerMs ?? 10_000,
  };
}
