import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConformanceOptions,
  formatReport,
  GROUP_NAMES,
  type GroupName,
  runConformance,
} from '../src/index.js';
import {
  EVOLUTION_MUTANTS,
  type Mutant,
  UPGRADE_MUTANTS,
  upgradeMutantOpen,
} from '../src/mutants/index.js';

// The groups that open stores through an opener of their own (`evolution.open`,
// `upgrade.open`): each has mutants only it can catch, since no other group opens through
// that opener. One seed for the whole file, printed, so a miss can be replayed;
// MUTANT_SEED pins it.
const seed = Number(process.env.MUTANT_SEED) || (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;

interface OpenerGroup {
  readonly group: Extract<GroupName, 'evolution' | 'upgrade'>;
  readonly mutants: readonly Mutant[];
}

const GROUPS: readonly OpenerGroup[] = [
  { group: 'evolution', mutants: EVOLUTION_MUTANTS },
  { group: 'upgrade', mutants: UPGRADE_MUTANTS },
];

describe.each(GROUPS)(
  `the $group group catches every $group mutant (seed ${seed})`,
  ({ group, mutants }) => {
    const rows: string[] = [];

    for (const m of mutants) {
      it(`${m.name}: ${m.bug}`, { timeout: 60_000 }, async () => {
        const report = await runConformance({ ...m.options(), seed }, [group]);
        const g = report.groups[0]!;
        rows.push(
          `| ${m.name} | ${g.status} | ${g.message?.split('\n')[0]?.slice(0, 160) ?? '-'} |`,
        );
        expect(g.status, formatReport(report)).toBe('failed');
        expect(m.caughtBy).toBe(group);
      });
    }

    if (group === 'upgrade') {
      it('passes the honest memory backend behind the same opener', {
        timeout: 60_000,
      }, async () => {
        const options = mutants[0]!.options();
        const report = await runConformance(
          { ...options, seed, upgrade: { open: upgradeMutantOpen() } },
          ['upgrade'],
        );
        expect(report.groups[0]!.status, formatReport(report)).toBe('passed');
      });
    }

    it(`no other group reaches what these mutants break: only the ${group} group opens through \`${group}.open\``, {
      timeout: 120_000,
    }, async () => {
      const options = mutants[0]!.options();
      const opener = options[group] as { open: (...args: never[]) => unknown };
      let opens = 0;
      const counting = {
        open: (...args: never[]) => {
          opens += 1;
          return opener.open(...args);
        },
      };
      const counted = {
        ...options,
        seed,
        budget: { runs: 5, maxCommands: 10 },
        [group]: counting,
      } as ConformanceOptions;
      const report = await runConformance(
        counted,
        GROUP_NAMES.filter((g) => g !== group),
      );
      expect(
        report.groups.every((g) => g.status !== 'failed'),
        formatReport(report),
      ).toBe(true);
      expect(opens).toBe(0);
    });

    afterAll(() => {
      console.info(
        [`seed ${seed}`, `| mutant | ${group} | first line |`, '|---|---|---|', ...rows].join('\n'),
      );
    });
  },
);
