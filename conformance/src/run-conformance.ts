import type { AdapterConformanceOptions, ConformanceOptions } from './conformance-options.js';
import { explicitOptions } from './conformance-options-for.js';
import { ConformanceRun } from './conformance-run.js';
import { GROUP_NAMES, type GroupName } from './group.js';
import type { ConformanceReport } from './report.js';

/**
 * Runs the whole suite (or some groups) programmatically and returns the report; the CLI
 * prints it with `formatReport`. Takes the short form (an adapter and a store URL) or the
 * explicit options, as {@link describeConformance} does.
 *
 * @example
 * ```ts
 * const report = await runConformance({ adapter: memoryAdapter, url: 'memory:' });
 * console.log(formatReport(report));
 * process.exitCode = report.passed ? 0 : 1;
 * ```
 */
export async function runConformance(
  options: ConformanceOptions | AdapterConformanceOptions,
  groups: readonly GroupName[] = GROUP_NAMES,
): Promise<ConformanceReport> {
  const run = new ConformanceRun(explicitOptions(options));
  for (const g of groups) await run.runGroup(g);
  return run.report();
}
