import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/index.js';
import { PACKAGE_DIR, runPolystore } from './run-polystore.js';

// `polystore doctor --store http://…` against `polystore serve`: a remote adapter opens a
// ready Stores bag (no driver backend), which doctor used to refuse with a ConfigError.
const dir = mkdtempSync(join(tmpdir(), 'cli-doctor-remote-'));
let conductor: ChildProcess | undefined;
afterAll(() => {
  conductor?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function waitForUrl(child: ChildProcess): Promise<string> {
  let out = '';
  return new Promise((resolve, reject) => {
    const check = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
  });
}

describe('polystore doctor over http://', () => {
  it('describes a served store and reads every resource through it', async () => {
    const token = randomBytes(24).toString('hex');
    const tokens = join(dir, 'tokens.json');
    writeFileSync(tokens, JSON.stringify({ tokens: [{ token, role: 'admin', userId: 'ops' }] }));
    conductor = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        join(PACKAGE_DIR, 'src', 'bin.ts'),
        'serve',
        '--store',
        `sqlite:${join(dir, 'served.db')}`,
        '--tokens',
        tokens,
        '--listen',
        '127.0.0.1:0',
      ],
      { cwd: PACKAGE_DIR },
    );
    const served = new URL(await waitForUrl(conductor));
    served.username = 'ops';
    served.password = token;

    const run = await runPolystore(['doctor', '--store', served.href]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stdout).toMatch(/^adapter +remote \(schemes: /m);
    expect(run.stdout).toMatch(/^doctor: ok$/m);
    expect(run.stdout + run.stderr).not.toContain(token);
  }, 120_000);
});
