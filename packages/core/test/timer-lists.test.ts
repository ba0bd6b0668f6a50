import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { keepTimerList, keptTimerLists } from '../src/timer-lists.js';

describe('keepTimerList', () => {
  it('keeps a duration while any user holds it, and lets it go with the last release', () => {
    const a = keepTimerList(4321);
    const b = keepTimerList(4321);
    expect(keptTimerLists()).toContain(4321);
    a();
    a(); // a second release of the same user changes nothing
    expect(keptTimerLists()).toContain(4321);
    b();
    expect(keptTimerLists()).not.toContain(4321);
  });

  it('keeps nothing for a duration that is not a positive finite number', () => {
    const before = keptTimerLists().length;
    const releases = [0, -5, Number.NaN, Number.POSITIVE_INFINITY].map(keepTimerList);
    expect(keptTimerLists()).toHaveLength(before);
    for (const release of releases) release();
  });

  it('never keeps the process alive', () => {
    // A process that keeps a list and does nothing else exits at once, as without it.
    const module = fileURLToPath(new URL('../src/timer-lists.ts', import.meta.url));
    const started = Date.now();
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { keepTimerList } = await import(${JSON.stringify(module)}); keepTimerList(600000); console.log('kept');`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.stdout.trim()).toBe('kept');
    expect(run.status).toBe(0);
    // Far below the 600 s the interval would keep it (the bound allows a loaded machine).
    expect(Date.now() - started).toBeLessThan(60_000);
  });
});
