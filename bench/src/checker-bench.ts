/**
 * How long the linearizability checker takes to decide growing histories: a counter
 * incremented with CAS retries by 8 clients, 50 to 200 ops each, correct and with a lost
 * update in the middle (two winners of one revision), without and with lost replies (`info`).
 * Prints the median decision time of several runs per cell. Run: `npm run checker -w bench`.
 */
import {
  type CheckResult,
  casRegisterFrom,
  checkHistory,
  type RegisterState,
  type SequentialSpec,
  syntheticCounterHistory,
} from '@polystore/conformance/internal';
import { median } from './rounds.js';

const CLIENTS = 8;
const SIZES = [50, 75, 100, 200];
const RUNS = Number(process.env.CHECKER_BENCH_RUNS ?? 5);
/** Generous: the goal is 2 s for 8 × 200 with a violation; a run past this prints `unknown`. */
const TIME_LIMIT_MS = 30_000;

const spec = casRegisterFrom({ revision: 1, value: 0 });
/** The same spec without its `spent` rule: Wing–Gong–Lowe with the memo cache alone. */
const memoOnly: SequentialSpec<RegisterState> = { ...spec, spent: undefined };

const rows: string[] = [
  '| checker | ops per client | total ops | history | info | verdicts | median ms | max ms |',
  '|---|---|---|---|---|---|---|---|',
];
const variants: [string, SequentialSpec<RegisterState>, readonly number[]][] = [
  ['full', spec, [0, 0.05, 0.2]],
  // Lost replies make the memo alone blow up on violations (20% takes seconds to minutes).
  ['memo only', memoOnly, [0, 0.05]],
];
for (const [name, checked, infoRates] of variants) {
  for (const infoRate of infoRates) {
    for (const each of SIZES) {
      for (const violation of [false, true]) {
        const times: number[] = [];
        const verdicts = new Set<CheckResult['result']>();
        for (let run = 0; run < RUNS; run++) {
          const ops = syntheticCounterHistory({
            clients: CLIENTS,
            opsPerClient: each,
            seed: 1000 * each + run + 1,
            violation,
            infoRate,
          });
          const start = performance.now();
          verdicts.add(checkHistory(ops, checked, { timeoutMs: TIME_LIMIT_MS }).result);
          times.push(performance.now() - start);
        }
        rows.push(
          `| ${name} | ${each} | ${CLIENTS * each} | ${violation ? 'lost update mid-history' : 'correct'} | ${infoRate * 100}% | ${[...verdicts].join(', ')} | ${median(times).toFixed(1)} | ${Math.max(...times).toFixed(1)} |`,
        );
        console.info(rows.at(-1));
      }
    }
  }
}
console.info(
  `\nlinearizability checker, ${CLIENTS} clients, median of ${RUNS} runs (a lost update must be a violation, a correct history ok)\n`,
);
console.info(rows.join('\n'));
