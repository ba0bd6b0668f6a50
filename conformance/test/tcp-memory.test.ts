import { afterAll, describe, expect, it } from 'vitest';
import {
  type ConformanceOptions,
  describeConformance,
  formatReport,
  runConformance,
} from '../src/index.js';
import {
  openTcpMemoryStores,
  startTcpMemoryServer,
  type TcpMemoryOptions,
} from '../src/mutants/index.js';

// A real network adapter (memory served over TCP), so the fault group runs for real.
const server = await startTcpMemoryServer();
afterAll(() => server.close());

function options(name: string, bugs: TcpMemoryOptions = {}): ConformanceOptions {
  return {
    name,
    open: (namespace, { clock, ids, route }) =>
      openTcpMemoryStores(route(`tcp-memory://${server.address}`), namespace, { clock, ids }, bugs),
    faults: { proxy: { target: server.address }, server, failFastMs: 1500, recoverMs: 5000 },
    // The TCP server serves the store API, not the evolution SPI; memory's own run covers it.
    evolution: { notApplicable: 'tcp-memory serves the store API only, never expand' },
    upgrade: {
      notApplicable:
        'tcp-memory serves the store API only, never the evolution SPI the engine drives',
    },
  };
}

describeConformance(options('tcp-memory'));

describe('the fault group catches network mutants', () => {
  const cases: [string, TcpMemoryOptions][] = [
    ['serves-cached-reads-while-disconnected', { cacheReads: true }],
    ['hangs-without-timeout', { timeoutMs: null }],
    ['acks-write-without-confirmation', { ackWithoutConfirmation: true }],
  ];
  for (const [name, bugs] of cases) {
    it(name, { timeout: 60_000 }, async () => {
      const report = await runConformance(options(name, bugs), ['shape', 'faults']);
      const faults = report.groups.find((g) => g.group === 'faults')!;
      console.info(`| ${name} | faults | ${faults.status} | ${faults.message?.split('\n')[0]} |`);
      expect(faults.status, formatReport(report)).toBe('failed');
    });
  }
});
