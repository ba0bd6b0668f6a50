/**
 * How the rounds of benchmark reports behave, for judging the method rather than polystore:
 * for each report, the spread of each ratio polystore has against a raw driver or peer
 * (highest round / lowest, the median over those ratios, p50 and ops/s apart), and in
 * which round each ratio was at its worst for polystore (p50: its highest; ops/s: its
 * lowest). With no bias, every round is the worst equally often. Usage:
 *
 * ```sh
 * node --conditions=source --import tsx src/round-stats.ts A.json [B.json …]
 * ```
 */
import { readFileSync } from 'node:fs';
import { roundRatios } from './goals.js';
import { median } from './rounds.js';
import type { BackendResult } from './run-backend.js';

function main(): number {
  const paths = process.argv.slice(2);
  if (paths.length === 0) {
    console.error('usage: round-stats A.json [B.json …]');
    return 2;
  }
  const worst = { p50: new Map<number, number>(), ops: new Map<number, number>() };
  for (const path of paths) {
    const report = JSON.parse(readFileSync(path, 'utf8')) as { results: BackendResult[] };
    const spreads = { p50: [] as number[], ops: [] as number[] };
    for (const r of report.results) {
      for (const cells of Object.values(r.operations)) {
        const [poly, ...others] = cells ?? [];
        if (poly === undefined) continue;
        for (const other of others) {
          if (other.unequal !== undefined) continue;
          const q = roundRatios(poly, other);
          for (const kind of ['p50', 'ops'] as const) {
            const ratios = kind === 'p50' ? q.p50 : q.throughput;
            // One round has no spread and no worst round; a round with no figure, no ratio.
            if (ratios === undefined || ratios.length < 2 || ratios.some(Number.isNaN)) continue;
            spreads[kind].push(Math.max(...ratios) / Math.min(...ratios));
            const bad = kind === 'p50' ? Math.max(...ratios) : Math.min(...ratios);
            const round = ratios.indexOf(bad);
            worst[kind].set(round, (worst[kind].get(round) ?? 0) + 1);
          }
        }
      }
    }
    const fmt = (xs: number[]) => (xs.length ? median(xs).toFixed(3) : '–');
    console.log(
      `${path}: spread (highest round / lowest), median over ratios: p50 ${fmt(spreads.p50)} (${spreads.p50.length}), ops/s ${fmt(spreads.ops)} (${spreads.ops.length})`,
    );
  }
  for (const kind of ['p50', 'ops'] as const) {
    const counts = [...worst[kind].entries()].sort((a, b) => a[0] - b[0]);
    const total = counts.reduce((s, [, n]) => s + n, 0);
    console.log(
      `${kind} ratios at their worst in round (first = 0), of ${total}: ${counts.map(([round, n]) => `${round}: ${n}`).join(', ')}`,
    );
  }
  return 0;
}

process.exitCode = main();
