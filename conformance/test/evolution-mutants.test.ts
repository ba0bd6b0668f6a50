import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConformanceOptions,
  formatReport,
  GROUP_NAMES,
  runConformance,
} from '../src/index.js';
import { EVOLUTION_MUTANTS } from '../src/mutants/index.js';

const rows: string[] = [];
// One seed for the whole file, printed, so a miss can be replayed; MUTANT_SEED pins it.
const seed = Number(process.env.MUTANT_SEED) || (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;

describe(`the evolution group catches every evolution mutant (seed ${seed})`, () => {
  for (const m of EVOLUTION_MUTANTS) {
    it(`${m.name}: ${m.bug}`, { timeout: 60_000 }, async () => {
      const report = await runConformance({ ...m.options(), seed }, ['evolution']);
      const g = report.groups[0]!;
      rows.push(`| ${m.name} | ${g.status} | ${g.message?.split('\n')[0]?.slice(0, 160) ?? '-'} |`);
      expect(g.status, formatReport(report)).toBe('failed');
      expect(m.caughtBy).toBe('evolution');
    });
  }

  it('no other group reaches what these mutants break: only the evolution group opens through `evolution.open`', {
    timeout: 120_000,
  }, async () => {
    const m = EVOLUTION_MUTANTS[0]!;
    const options = m.options();
    const evolution = options.evolution as Extract<
      NonNullable<ConformanceOptions['evolution']>,
      { open: unknown }
    >;
    let opens = 0;
    const counted: ConformanceOptions = {
      ...options,
      seed,
      budget: { runs: 5, maxCommands: 10 },
      evolution: {
        open: (...args) => {
          opens += 1;
          return evolution.open(...args);
        },
      },
    };
    const others = GROUP_NAMES.filter((g) => g !== 'evolution');
    const report = await runConformance(counted, others);
    expect(
      report.groups.every((g) => g.status !== 'failed'),
      formatReport(report),
    ).toBe(true);
    expect(opens).toBe(0);
  });

  afterAll(() => {
    console.info(
      [`seed ${seed}`, '| mutant | evolution | first line |', '|---|---|---|', ...rows].join('\n'),
    );
  });
});
