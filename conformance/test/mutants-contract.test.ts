import { afterAll, describe, expect, it } from 'vitest';
import { formatReport, type GroupName, runConformance } from '../src/index.js';
import { CONTRACT_MUTANTS } from '../src/mutants/index.js';

const rows: string[] = [];
// One seed for the whole file, printed, so a miss can be replayed; MUTANT_SEED pins it.
const seed = Number(process.env.MUTANT_SEED) || (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;

describe(`the suite catches every contract mutant in its group (seed ${seed})`, () => {
  for (const m of CONTRACT_MUTANTS) {
    it(`${m.name}: ${m.bug}`, { timeout: 120_000 }, async () => {
      // Only the group that must catch it runs: the others would spend time to prove nothing.
      const group = m.caughtBy as GroupName;
      const report = await runConformance({ ...m.options(), seed }, [group]);
      const g = report.groups[0]!;
      rows.push(
        `| ${m.name} | ${group} | ${g.status} | ${g.details?.steps ?? '-'} | ${g.details?.shrunkFrom ?? '-'} | ${Math.round(g.durationMs)} |`,
      );
      expect(g.status, formatReport(report)).toBe('failed');
    });
  }

  afterAll(() => {
    console.info(
      [
        `seed ${seed}`,
        '| mutant | group | status | steps | shrunk from | ms |',
        '|---|---|---|---|---|---|',
        ...rows,
      ].join('\n'),
    );
  });
});
