import { type Adapter, ConfigError } from '@polystore/core';
import { memoryAdapter } from '@polystore/memory';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConformanceReport,
  conformanceOptionsFor,
  describeConformance,
  formatReport,
  runConformance,
} from '../src/index.js';
import { openTcpMemoryStores, startTcpMemoryServer } from '../src/mutants/index.js';

// Memory served over TCP as an adapter of its own, namespaced by a query parameter: a
// network adapter, so the fault group the short form builds runs for real.
const tcpMemoryAdapter: Adapter = {
  name: 'tcp-memory',
  schemes: ['tcp-memory'],
  open: () => Promise.reject(new ConfigError('tcp-memory serves the store API only')),
  openStores: async (url, { clock, ids }) => {
    if (!clock || !ids) throw new ConfigError('tcp-memory: give clock and ids');
    const namespace = url.searchParams.get('namespace') ?? 'default';
    return openTcpMemoryStores(`tcp-memory://${url.host}`, namespace, { clock, ids });
  },
  namespaceUrl: (url, namespace) => {
    const out = new URL(url);
    out.searchParams.set('namespace', namespace);
    return out;
  },
};

function group(report: ConformanceReport, name: string) {
  const found = report.groups.find((g) => g.group === name);
  if (!found) throw new Error(`no ${name} group in\n${formatReport(report)}`);
  return found;
}

/** Units of a group the run left untested without saying why (what fails a run). */
function skipped(report: ConformanceReport, name: string): string[] {
  return report.coverage.skippedUnits.filter((u) => u.startsWith(`${name}.`));
}

const server = await startTcpMemoryServer();
afterAll(() => server.close());

// The design doc's "Writing an adapter" test gives an adapter and a store URL, nothing more.
describe('the short form { adapter, url }', () => {
  it('builds faults, evolution and upgrade from the memory adapter, and they run', async () => {
    const report = await runConformance({
      adapter: memoryAdapter,
      url: 'memory:',
      budget: { runs: 3 },
    });
    const text = formatReport(report);
    expect(report.adapter, text).toBe('memory');
    expect(report.passed, text).toBe(true);
    for (const name of ['evolution', 'upgrade']) {
      expect(group(report, name).status, text).toBe('passed');
      expect(group(report, name).runs, text).toBeGreaterThan(0);
      expect(skipped(report, name), text).toEqual([]);
    }
    // A URL without a host runs in the process: the fault units are not applicable, with
    // the reason, never skipped (which a left-out `faults` would make them).
    expect(group(report, 'faults').status, text).toBe('not-applicable');
    expect(group(report, 'faults').notes.join('\n'), text).toContain('memory: runs in the process');
    expect(skipped(report, 'faults'), text).toEqual([]);
    expect(report.coverage.skipped, text).toBe(0);
  }, 300_000);

  it('refuses an adapter without namespaceUrl when no urlOf was given, naming it', async () => {
    const { namespaceUrl: _, ...bare } = memoryAdapter;
    const run = runConformance({ adapter: bare, url: 'memory:' }, ['shape']);
    await expect(run).rejects.toBeInstanceOf(ConfigError);
    await expect(run).rejects.toThrow(/adapter memory has no namespaceUrl.*pass urlOf/);
    expect(() => describeConformance({ adapter: bare, url: 'memory:' })).toThrow(ConfigError);
  });

  it('takes urlOf(namespace) for an adapter without the hook', async () => {
    const { namespaceUrl: _, ...bare } = memoryAdapter;
    const report = await runConformance(
      { adapter: bare, urlOf: (namespace) => `memory:${namespace}` },
      ['shape', 'faults'],
    );
    expect(group(report, 'shape').status, formatReport(report)).toBe('passed');
    expect(group(report, 'faults').status, formatReport(report)).toBe('not-applicable');
  });

  it('refuses a server URL without its port (the fault proxy needs it)', () => {
    const options = { adapter: tcpMemoryAdapter, url: 'tcp-memory://127.0.0.1/' };
    expect(() => conformanceOptionsFor(options)).toThrow(ConfigError);
    expect(() => conformanceOptionsFor(options)).toThrow(/give the server's port/);
  });

  it("puts the fault proxy in front of the URL's host:port, and the fault group passes", async () => {
    const report = await runConformance(
      { adapter: tcpMemoryAdapter, url: `tcp-memory://${server.address}` },
      ['shape', 'faults'],
    );
    const text = formatReport(report);
    expect(group(report, 'faults').status, text).toBe('passed');
    expect(group(report, 'faults').runs, text).toBeGreaterThan(0);
    expect(skipped(report, 'faults'), text).toEqual([]);
    // No process control was given: only the server kill and restart are left out.
    expect(
      report.coverage.notApplicableUnits.filter((u) => u.startsWith('faults.')),
      text,
    ).toEqual([expect.stringMatching(/^faults\.server: /)]);
  }, 120_000);
});
