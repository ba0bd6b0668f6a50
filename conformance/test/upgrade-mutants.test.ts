import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConformanceOptions,
  formatReport,
  GROUP_NAMES,
  runConformance,
} from '../src/index.js';
import { UPGRADE_MUTANTS, upgradeMutantOpen } from '../src/mutants/index.js';

const rows: string[] = [];
// One seed for the whole file, printed, so a miss can be replayed; MUTANT_SEED pins it.
const seed = Number(process.env.MUTANT_SEED) || (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;

describe(`the upgrade group catches every upgrade mutant (seed ${seed})`, () => {
  for (const m of UPGRADE_MUTANTS) {
    it(`${m.name}: ${m.bug}`, { timeout: 60_000 }, async () => {
      const report = await runConformance({ ...m.options(), seed }, ['upgrade']);
      const g = report.groups[0]!;
      rows.push(`| ${m.name} | ${g.status} | ${g.message?.split('\n')[0]?.slice(0, 160) ?? '-'} |`);
      expect(g.status, formatReport(report)).toBe('failed');
      expect(m.caughtBy).toBe('upgrade');
    });
  }

  it('passes the honest memory backend behind the same opener', { timeout: 60_000 }, async () => {
    const options = UPGRADE_MUTANTS[0]!.options();
    const report = await runConformance(
      { ...options, seed, upgrade: { open: upgradeMutantOpen() } },
      ['upgrade'],
    );
    expect(report.groups[0]!.status, formatReport(report)).toBe('passed');
  });

  it('no other group reaches what these mutants break: only the upgrade group opens through `upgrade.open`', {
    timeout: 120_000,
  }, async () => {
    const m = UPGRADE_MUTANTS[0]!;
    const options = m.options();
    const upgrade = options.upgrade as Extract<
      NonNullable<ConformanceOptions['upgrade']>,
      { open: unknown }
    >;
    let opens = 0;
    const counted: ConformanceOptions = {
      ...options,
      seed,
      budget: { runs: 5, maxCommands: 10 },
      upgrade: {
        open: (...args) => {
          opens += 1;
          return upgrade.open(...args);
        },
      },
    };
    const others = GROUP_NAMES.filter((g) => g !== 'upgrade');
    const report = await runConformance(counted, others);
    expect(
      report.groups.every((g) => g.status !== 'failed'),
      formatReport(report),
    ).toBe(true);
    expect(opens).toBe(0);
  });

  afterAll(() => {
    console.info(
      [`seed ${seed}`, '| mutant | upgrade | first line |', '|---|---|---|', ...rows].join('\n'),
    );
  });
});
