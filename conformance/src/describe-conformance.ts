import { describe, it } from 'vitest';
import type { AdapterConformanceOptions, ConformanceOptions } from './conformance-options.js';
import { explicitOptions } from './conformance-options-for.js';
import { ConformanceRun } from './conformance-run.js';
import { coverageLine } from './coverage.js';
import { formatReport } from './format-report.js';
import { GROUP_NAMES } from './group.js';
import type { GroupReport } from './report.js';

function failureText(name: string, g: GroupReport): string {
  return formatReport(
    {
      adapter: name,
      seed: 0,
      passed: false,
      groups: [g],
      coverage: {
        tested: 0,
        refused: 0,
        notApplicable: 0,
        skipped: 0,
        unexpected: 0,
        skippedUnits: [],
        unexpectedUnits: [],
        notApplicableUnits: [],
      },
      manifest: undefined,
      durationMs: g.durationMs,
    },
    'md',
  )
    .split('\n')
    .slice(2, -2)
    .join('\n');
}

/**
 * Registers the conformance suite as vitest tests: one test per group, then the coverage
 * check (nothing skipped, no declared-off feature answering, manifest unchanged). Give it
 * an adapter and a store URL (the short form: the suite opens fresh namespaces of that
 * store through the adapter), or the explicit `open`, `faults`, `evolution` and `upgrade`.
 *
 * @example
 * ```ts
 * import { describeConformance } from '@polystore/conformance';
 * import { memoryAdapter } from '@polystore/memory';
 *
 * describeConformance({ adapter: memoryAdapter, url: 'memory:' });
 * ```
 */
export function describeConformance(given: ConformanceOptions | AdapterConformanceOptions): void {
  // The short form is resolved here, so a store it cannot namespace fails the file at once.
  const options = explicitOptions(given);
  describe(`conformance: ${options.name}`, () => {
    const run = new ConformanceRun(options);
    for (const group of GROUP_NAMES) {
      it(group, { timeout: 600_000 }, async () => {
        const g = await run.runGroup(group);
        if (g.status === 'failed') throw new Error(`\n${failureText(options.name, g)}`);
      });
    }
    it('coverage: nothing skipped, no unexpected success, manifest unchanged', async () => {
      const report = run.report();
      const c = report.coverage;
      const problems = [
        ...c.skippedUnits.map((u) => `skipped: ${u}`),
        ...c.unexpectedUnits.map((u) => `unexpected success: ${u}`),
      ];
      console.info(`${options.name}: ${coverageLine(c)} (seed ${report.seed})`);
      if (problems.length > 0) throw new Error(`${problems.join('\n')}\n${coverageLine(c)}`);
    });
  });
}
