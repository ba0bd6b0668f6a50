import { coverageLine } from './coverage.js';
import type { ConformanceReport } from './report.js';

function indent(text: string, by = '    '): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

/**
 * Prints a report as Markdown (for humans and CI logs) or JSON (for tools).
 *
 * @example
 * ```ts
 * console.log(formatReport(await runConformance({ name: 'mine', open }), 'md'));
 * ```
 */
export function formatReport(report: ConformanceReport, format: 'md' | 'json' = 'md'): string {
  if (format === 'json') return JSON.stringify(report, null, 2);
  const lines = [
    `# conformance: ${report.adapter} ${report.passed ? 'PASSED' : 'FAILED'} (seed ${report.seed}, ${(report.durationMs / 1000).toFixed(1)} s)`,
    '',
  ];
  for (const g of report.groups) {
    const mark = g.status === 'passed' ? '✓' : g.status === 'failed' ? '✗' : '–';
    const steps =
      g.details?.steps === undefined
        ? ''
        : `, ${g.details.steps} steps${g.details.shrunkFrom ? ` shrunk from ${g.details.shrunkFrom}` : ''}`;
    lines.push(
      `${mark} ${report.adapter} › ${g.group} (${g.status}, ${g.runs} runs, ${Math.round(g.durationMs)} ms${steps})`,
    );
    for (const n of g.notes) lines.push(`    ${n}`);
    if (g.status === 'failed') {
      lines.push(indent(g.message ?? ''));
      if (g.details?.token)
        lines.push(`    POLYSTORE_REPLAY=${g.details.token}   # reproduces this exact case`);
      if (g.details?.snippet) lines.push('    ```ts', indent(g.details.snippet), '    ```');
      if (g.details?.modelBefore)
        lines.push('    model before the failing step:', indent(g.details.modelBefore, '      '));
    }
  }
  const c = report.coverage;
  lines.push('');
  for (const u of c.skippedUnits) lines.push(`skipped: ${u}`);
  for (const u of c.unexpectedUnits) lines.push(`unexpected success: ${u}`);
  for (const u of c.notApplicableUnits) lines.push(`not applicable: ${u}`);
  lines.push(coverageLine(c));
  return lines.join('\n');
}
