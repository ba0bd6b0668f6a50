import { openBackend } from '@polystore/core/adapter';
import { memoryAdapter } from '@polystore/memory';
import { describe, expect, it } from 'vitest';
import { chainDefinitions, EVOLUTION_STEPS, planChains, Rng } from '../src/evolution-chain.js';
import { type ConformanceOptions, formatReport, runConformance } from '../src/index.js';

const memory = (evolution: ConformanceOptions['evolution']): ConformanceOptions => ({
  name: 'memory',
  open: () => {
    throw new Error('the evolution group opens through evolution.open only');
  },
  faults: { inProcess: 'memory' },
  evolution,
});

const opener: NonNullable<ConformanceOptions['evolution']> = {
  open: (namespace, { clock, ids }, resources) =>
    openBackend(`memory:${namespace}`, { clock, ids, resources, adapters: [memoryAdapter] }),
};

describe('the evolution group', () => {
  it('plans chains of 3 to 5 changes that use every kind of change', () => {
    for (let seed = 0; seed < 40; seed++) {
      const count = 2 + (seed % 3);
      const chains = planChains(new Rng(seed), count);
      expect(chains).toHaveLength(count);
      const used = new Set(chains.flat().map((s) => s.step));
      expect([...used].sort()).toEqual([...EVOLUTION_STEPS].sort());
      for (const chain of chains) {
        expect(chain.length).toBeGreaterThanOrEqual(3);
        expect(chain.length).toBeLessThanOrEqual(5);
        expect(new Set(chain.map((s) => s.step)).size).toBe(chain.length);
        expect(chain.filter((s) => s.step.startsWith('addUnique')).length).toBeLessThanOrEqual(1);
        // Every chain is a valid history (defineResource checks it).
        const defs = chainDefinitions(chain);
        expect(defs).toHaveLength(chain.length + 1);
      }
    }
  });

  it('passes the reference model at several seeds', { timeout: 60_000 }, async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const report = await runConformance({ ...memory(opener), seed }, ['evolution']);
      expect(report.groups[0]!.status, formatReport(report)).toBe('passed');
    }
  });

  it('counts every unit as skipped without the option, and not applicable with a reason', async () => {
    const skipped = await runConformance(memory(undefined), ['evolution']);
    expect(skipped.passed).toBe(false);
    const evolutionUnits = EVOLUTION_STEPS.map((s) => `evolution.${s}`).sort();
    const ours = (units: readonly string[]) => units.filter((u) => u.startsWith('evolution.'));
    expect(ours(skipped.coverage.skippedUnits)).toEqual(evolutionUnits);
    const na = await runConformance(memory({ notApplicable: 'fronts a backend elsewhere' }), [
      'evolution',
    ]);
    expect(na.groups[0]!.status).toBe('not-applicable');
    expect(ours(na.coverage.skippedUnits)).toEqual([]);
    expect(na.coverage.notApplicableUnits.filter((u) => u.startsWith('evolution.'))).toHaveLength(
      9,
    );
    expect(na.coverage.notApplicableUnits.join('\n')).toContain('fronts a backend elsewhere');
  });

  it('is not applicable when the opener has no backend (a remote server)', async () => {
    const report = await runConformance(
      memory({
        open: async (namespace, { clock, ids }, resources) => ({
          stores: (await opener.open(namespace, { clock, ids, route: (u) => u }, resources)).stores,
          backend: undefined,
        }),
      }),
      ['evolution'],
    );
    expect(report.groups[0]!.status, formatReport(report)).toBe('not-applicable');
    expect(report.coverage.skippedUnits.filter((u) => u.startsWith('evolution.'))).toEqual([]);
  });
});
