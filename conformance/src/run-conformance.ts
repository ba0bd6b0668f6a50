import type { ConformanceOptions } from './conformance-options.js';
import { ConformanceRun } from './conformance-run.js';
import { GROUP_NAMES, type GroupName } from './group.js';
import type { ConformanceReport } from './report.js';

/**
 * Runs the whole suite (or some groups) programmatically and returns the report; the CLI
 * prints it with `formatReport`.
 *
 * @example
 * ```ts
 * const report = await runConformance({ name: 'memory', open: (ns, deps) => openMemoryStores({ name: ns, ...deps }), faults: { inProcess: 'no network' } });
 * console.log(formatReport(report));
 * process.exitCode = report.passed ? 0 : 1;
 * ```
 */
export async function runConformance(
  options: ConformanceOptions,
  groups: readonly GroupName[] = GROUP_NAMES,
): Promise<ConformanceReport> {
  const run = new ConformanceRun(options);
  for (const g of groups) await run.runGroup(g);
  return run.report();
}
