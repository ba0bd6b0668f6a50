import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isProcessAlive } from '../src/index.js';
import { portIsFree } from './lifecycle.js';

interface Report {
  readonly watchdog: number;
  readonly servers: readonly {
    kind: string;
    port: number;
    pid: number;
    pids: number[];
    root: string;
  }[];
}

const FIXTURE = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));

/** Runs the fixture in a fresh node (TypeScript through tsx) and returns it with its report. */
async function startChild(mode: 'hang' | 'exit', kinds: readonly string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, mode, kinds.join(',')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`fixture exited (${code}) before reporting`)));
  });
  return { child, exited, report: JSON.parse(first) as Report };
}

/** Polls until nothing of the report is left: no process, no listener, no temp dir. */
async function expectNothingLeft(report: Report): Promise<void> {
  const deadline = Date.now() + 10_000;
  const leftovers = async () => {
    const left: string[] = [];
    for (const server of report.servers) {
      for (const pid of server.pids)
        if (isProcessAlive(pid)) left.push(`${server.kind} pid ${pid}`);
      if (!(await portIsFree(server.port))) left.push(`${server.kind} port ${server.port}`);
      if (existsSync(server.root)) left.push(`${server.kind} dir ${server.root}`);
    }
    if (isProcessAlive(report.watchdog)) left.push(`watchdog pid ${report.watchdog}`);
    return left;
  };
  let left = await leftovers();
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(50);
    left = await leftovers();
  }
  expect(left).toEqual([]);
}

describe('a test process that dies leaves nothing behind', () => {
  // PostgreSQL once, where it matters most: a postmaster plus auxiliary processes, each in its
  // own session. The other cases use Redis alone, which starts in milliseconds.
  const cases: readonly { signal: NodeJS.Signals; kinds: readonly string[] }[] = [
    { signal: 'SIGKILL', kinds: ['redis', 'postgres'] },
    { signal: 'SIGTERM', kinds: ['redis'] },
    { signal: 'SIGINT', kinds: ['redis'] },
  ];
  for (const { signal, kinds } of cases) {
    it(`when it gets ${signal}`, async () => {
      const { child, exited, report } = await startChild('hang', kinds);
      try {
        expect(report.servers.map((server) => server.kind)).toEqual(kinds);
        if (kinds.includes('postgres')) expect(report.servers[1]!.pids.length).toBeGreaterThan(1);
        // Only the roots: a backend that served the health check may already have exited.
        expect(report.servers.every((server) => isProcessAlive(server.pid))).toBe(true);
      } finally {
        child.kill(signal);
        await exited;
      }
      await expectNothingLeft(report);
    });
  }

  it('when it exits without stopping its servers', async () => {
    const { exited, report } = await startChild('exit', ['redis']);
    await exited;
    await expectNothingLeft(report);
  });
});
