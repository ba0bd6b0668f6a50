import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openMemoryStores } from '@polystore/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { runConformance } from '../src/index.js';
import {
  checkHistory,
  History,
  importHistory,
  OpTimeout,
  specFromExport,
} from '../src/internal.js';
import { MUTANTS } from '../src/mutants/index.js';

describe('History.run', () => {
  it('records a call that outlives its timeout as info, and still learns how it ended', async () => {
    const h = new History();
    let finish: (v: string) => void = () => {};
    const slow = new Promise<string>((resolve) => {
      finish = resolve;
    });
    const outcome = await h.run(
      1,
      'k',
      { op: 'read' },
      () => slow,
      () => ({ status: 'ok', output: 'never used' }),
      {
        timeoutMs: 1,
      },
    );
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error).toBeInstanceOf(OpTimeout);
    expect(h.ops[0]).toMatchObject({ status: 'info', ret: undefined, output: undefined });
    finish('late');
    await h.settled();
    const late =
      !outcome.ok && outcome.error instanceof OpTimeout ? await outcome.error.late : undefined;
    expect(late).toEqual({ ok: true, value: 'late' });
    // The history keeps the op indeterminate: the late reply came after the client gave up.
    expect(h.ops[0]!.status).toBe('info');
  });

  it('stamps the invoke before the send delay', async () => {
    const h = new History();
    let sentAt = 0n;
    await h.run(
      1,
      'k',
      { op: 'read' },
      async () => {
        sentAt = process.hrtime.bigint();
      },
      () => ({ status: 'ok', output: null }),
      { sendDelayMs: 5 },
    );
    expect(sentAt - h.ops[0]!.call).toBeGreaterThanOrEqual(4_000_000n);
    expect(h.ops[0]!.status).toBe('ok');
  });
});

describe('a failing race writes its history', () => {
  const saved = process.env.CONFORMANCE_HISTORY_DIR;
  afterEach(() => {
    if (saved === undefined) delete process.env.CONFORMANCE_HISTORY_DIR;
    else process.env.CONFORMANCE_HISTORY_DIR = saved;
  });

  it('next to the report, in a form the checker and Porcupine read back', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'polystore-history-test-'));
    process.env.CONFORMANCE_HISTORY_DIR = dir;
    const racy = MUTANTS.find((m) => m.name === 'racy-unique-check')!;
    const report = await runConformance(racy.options(), ['concurrency']);
    const group = report.groups.find((g) => g.group === 'concurrency')!;
    expect(group.status).toBe('failed');
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(group.message).toContain(join(dir, files[0]!));
    const back = importHistory(readFileSync(join(dir, files[0]!), 'utf8'));
    expect(back.ops.length).toBeGreaterThan(0);
    expect(back.model.name).not.toBe('');
    // The file alone is enough to check the history again.
    const verdict = checkHistory(back.ops, specFromExport(back.model.name, back.model.params));
    expect(['ok', 'violation']).toContain(verdict.result);
  });
});

describe('the stressed-timing rounds', () => {
  it('leave indeterminate ops in every race, and an honest adapter passes', {
    timeout: 60_000,
  }, async () => {
    const report = await runConformance(
      {
        name: 'memory',
        open: (namespace, { clock, ids }) => openMemoryStores({ name: namespace, clock, ids }),
        faults: { inProcess: 'no network' },
      },
      ['concurrency'],
    );
    const group = report.groups.find((g) => g.group === 'concurrency')!;
    expect(group.status, group.message).toBe('passed');
    const m = /in (\d+) of (\d+) races/.exec(group.notes.join('\n'));
    expect(m).not.toBeNull();
    expect(Number(m![2])).toBeGreaterThan(0);
    expect(m![1]).toBe(m![2]);
  });
});
