import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));

/** The `start` script of package.json as argv (it is one plain command). */
function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return pkg.scripts.start!.split(' ');
}

function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  output: () => string,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = pattern.exec(output());
      if (m) {
        child.stdout?.off('data', check);
        resolve(m);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) =>
      reject(new Error(`exited with ${code} before ready:\n${output()}`)),
    );
    check();
  });
}

describe('the start script', () => {
  let child: ChildProcess | undefined;
  let cwd: string | undefined;
  afterEach(() => {
    if (child?.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  it("serves on the embedded SQLite default in the caller's directory and stops cleanly on SIGINT", async () => {
    cwd = mkdtempSync(join(tmpdir(), 'compute-api-start-'));
    const [command, ...args] = startCommand();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', INIT_CWD: cwd };
    delete env.POLYSTORE_URL;
    // As `npm start` runs it: in the package directory, with INIT_CWD the caller's directory.
    child = spawn(command!, args, { cwd: PACKAGE_DIR, env, detached: true });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) =>
      child!.once('exit', (code) => resolve(code)),
    );

    // The curl example is the last line printed at start.
    await waitForLine(child, /try: curl .*\/v1\/networks.*\n/, () => out);
    const base = /listening on (http:\/\/\S+)/.exec(out)?.[1];
    expect(out).toContain('store sqlite:./.data/polystore.db (backend sqlite)');
    expect(out).not.toContain('WARNING');

    const res = await fetch(`${base}/v1/networks`, {
      method: 'POST',
      headers: { 'X-Project-Id': 'demo', 'Content-Type': 'application/json' },
      body: JSON.stringify({ label: 'lan', cidr: '10.0.0.0/24' }),
    });
    expect(res.status).toBe(201);
    expect(existsSync(join(cwd, '.data', 'polystore.db'))).toBe(true);

    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('SIGINT, shutting down');
  }, 60_000);

  it.each([
    [{ PORT: 'eighty' }, /PORT must be an integer from 0 to 65535/],
    [
      { POLYSTORE_URL: 'foodb://app:hunter2@db.example/x', PORT: '0' },
      /cannot open the store foodb:\/\/app:\*\*\*@db\.example\/x: no adapter for scheme "foodb:"; accepted schemes: .*sqlite:/,
    ],
  ])(
    'refuses bad configuration %o with exit 2',
    async (vars, message) => {
      const [command, ...args] = startCommand();
      const env: NodeJS.ProcessEnv = { ...process.env, ...vars };
      const run = spawn(command!, args, { cwd: PACKAGE_DIR, env });
      let err = '';
      run.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => run.once('exit', resolve));
      expect(code).toBe(2);
      expect(err).toMatch(message);
      expect(err).not.toContain('hunter2');
    },
    60_000,
  );
});
