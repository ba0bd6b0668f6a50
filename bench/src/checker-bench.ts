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
  syntheticCounterHistory,
} from '@polystore/conformance';

const CLIENTS = 8;
const SIZES = [50, 75, 100, 200];
const RUNS = Number(process.env.CHECKER_BENCH_RUNS ?? 5);
/** Generous: the goal is 2 s for 8 × 200 with a violation; a run past this prints `unknown`. */
const TIME_LIMIT_MS = 30_000;

const spec = casRegisterFrom({ revision: 1, value: 0 });

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const rows: string[] = [
  '| ops per client | total ops | history | info | expected | verdicts | median ms | max ms |',
  '|---|---|---|---|---|---|---|---|',
];
for (const infoRate of [0, 0.05, 0.2]) {
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
        verdicts.add(checkHistory(ops, spec, { timeoutMs: TIME_LIMIT_MS }).result);
        times.push(performance.now() - start);
      }
      rows.push(
        `| ${each} | ${CLIENTS * each} | ${violation ? 'lost update mid-history' : 'correct'} | ${infoRate * 100}% | ${violation ? 'violation' : 'ok'} | ${[...verdicts].join(', ')} | ${median(times).toFixed(1)} | ${Math.max(...times).toFixed(1)} |`,
      );
      console.info(rows.at(-1));
    }
  }
}
console.info(`\nlinearizability checker, ${CLIENTS} clients, median of ${RUNS} runs\n`);
console.info(rows.join('\n'));
