/**
 * Two benchmark reports of the same commit side by side: the goals whose verdict differs,
 * and how far each ratio's median moved (as a factor, larger / smaller), so the README can
 * say how far two runs may be apart. Usage:
 *
 * ```sh
 * node --conditions=source --import tsx src/compare-runs.ts A.json B.json
 * ```
 *
 * Exits 1 when the two runs disagree on any goal.
 */
import { readFileSync } from 'node:fs';
import type { GoalCheck } from './goals.js';

/** The key one goal is matched by across runs. */
const keyOf = (g: GoalCheck) => `${g.backend} ${g.operation ?? ''}: ${g.goal}`;

/** The goals of a report's JSON file, by key. */
function goalsOf(path: string): Map<string, GoalCheck> {
  const report = JSON.parse(readFileSync(path, 'utf8')) as { goals: GoalCheck[] };
  // Scale goals name the size reached; match them on the goal's stem only.
  return new Map(report.goals.map((g) => [keyOf(g).replace(/ \(target .*$/, ''), g]));
}

/** How far apart two positive values are, as a factor ≥ 1. */
const factor = (a: number, b: number) => (a > 0 && b > 0 ? Math.max(a / b, b / a) : Number.NaN);

function main(): number {
  const [pathA, pathB] = process.argv.slice(2);
  if (pathA === undefined || pathB === undefined) {
    console.error('usage: compare-runs A.json B.json');
    return 2;
  }
  const a = goalsOf(pathA);
  const b = goalsOf(pathB);
  const disagree: string[] = [];
  const moves: { key: string; f: number }[] = [];
  for (const [key, ga] of a) {
    const gb = b.get(key);
    if (gb === undefined) {
      disagree.push(`${key}: only in A`);
      continue;
    }
    if (ga.met !== gb.met)
      disagree.push(
        `${key}: A ${ga.met ? 'met' : 'not met'} (${ga.value}), B ${gb.met ? 'met' : 'not met'} (${gb.value})`,
      );
    const f = factor(ga.value, gb.value);
    if (Number.isFinite(f)) moves.push({ key, f });
  }
  for (const key of b.keys()) if (!a.has(key)) disagree.push(`${key}: only in B`);
  moves.sort((x, y) => x.f - y.f);
  const at = (q: number) => moves[Math.min(moves.length - 1, Math.floor(q * moves.length))]?.f;
  const metA = [...a.values()].filter((g) => g.met).length;
  const metB = [...b.values()].filter((g) => g.met).length;
  console.log(`goals: A ${metA} of ${a.size} met, B ${metB} of ${b.size} met`);
  console.log(`verdicts that differ: ${disagree.length}`);
  for (const d of disagree) console.log(`  ${d}`);
  console.log(
    `median of each goal's value, run A vs run B, as a factor: median ${at(0.5)?.toFixed(2)}, 90th percentile ${at(0.9)?.toFixed(2)}, largest ${moves.at(-1)?.f.toFixed(2)} (${moves.at(-1)?.key})`,
  );
  return disagree.length === 0 ? 0 : 1;
}

process.exitCode = main();
