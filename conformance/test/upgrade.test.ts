import { openBackend } from '@polystore/core/adapter';
import { memoryAdapter } from '@polystore/memory';
import { describe, expect, it } from 'vitest';
import { type ConformanceOptions, formatReport, runConformance } from '../src/index.js';
import { UPGRADE_UNITS } from '../src/upgrade.js';

const memory = (upgrade: ConformanceOptions['upgrade']): ConformanceOptions => ({
  name: 'memory',
  open: () => {
    throw new Error('the upgrade group opens through upgrade.open only');
  },
  faults: { inProcess: 'memory' },
  upgrade,
});

const opener: NonNullable<ConformanceOptions['upgrade']> = {
  open: (namespace, options) =>
    openBackend(`memory:${namespace}`, { ...options, adapters: [memoryAdapter] }),
};

const ours = (units: readonly string[]) => units.filter((u) => u.startsWith('upgrade.'));

describe('the upgrade group', () => {
  it('passes the reference model at several seeds', { timeout: 120_000 }, async () => {
    for (const seed of [1, 2, 3]) {
      const report = await runConformance({ ...memory(opener), seed }, ['upgrade']);
      const g = report.groups[0]!;
      expect(g.status, formatReport(report)).toBe('passed');
      expect(g.runs).toBe(UPGRADE_UNITS.length);
      expect(ours(report.coverage.skippedUnits)).toEqual([]);
    }
  });

  it('counts every unit as skipped without the option, and not applicable with a reason', async () => {
    const skipped = await runConformance(memory(undefined), ['upgrade']);
    expect(skipped.passed).toBe(false);
    expect(ours(skipped.coverage.skippedUnits)).toEqual([...UPGRADE_UNITS].sort());
    const na = await runConformance(memory({ notApplicable: 'fronts a backend elsewhere' }), [
      'upgrade',
    ]);
    expect(na.groups[0]!.status).toBe('not-applicable');
    expect(ours(na.coverage.skippedUnits)).toEqual([]);
    expect(ours(na.coverage.notApplicableUnits)).toHaveLength(UPGRADE_UNITS.length);
    expect(na.coverage.notApplicableUnits.join('\n')).toContain('fronts a backend elsewhere');
  });

  it('is not applicable when the opener has no backend (a remote server)', async () => {
    const report = await runConformance(
      memory({
        open: async (namespace, options) => ({
          stores: (await opener.open(namespace, options)).stores,
          backend: undefined,
        }),
      }),
      ['upgrade'],
    );
    expect(report.groups[0]!.status, formatReport(report)).toBe('not-applicable');
    expect(ours(report.coverage.skippedUnits)).toEqual([]);
  });
});
