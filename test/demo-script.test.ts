import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

// The README's first command, `npm run demo`, and `npm start`, run as a user runs them: from
// the repository root through npm. A signal sent to npm's own PID must stop the server (it
// used to leave it orphaned, holding the port, behind npm → sh → npm → sh → node), and an
// up-to-date checkout must not be reinstalled. After `npm run demo`, a plain `npx tsx` program
// importing the packages (no `source` condition) runs: it used to fail with
// ERR_MODULE_NOT_FOUND …/dist/index.js, as nothing was built.
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

interface Started {
  readonly child: ChildProcess;
  readonly base: string;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

async function startThroughNpm(script: 'demo' | 'start', cwd: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
  delete env.POLYSTORE_URL;
  delete env.INIT_CWD;
  const child = spawn('npm', ['--prefix', ROOT, 'run', script], { cwd, env });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const base = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m && /try: curl .*\n/.test(out)) resolve(m[1]!);
    };
    child.stdout?.on('data', check);
    void exited.then((code) => reject(new Error(`exited with ${code} before ready:\n${out}`)));
  });
  return { child, base, output: () => out, exited };
}

/** The README's imports, run as a user's own file with plain `npx tsx` (built output only). */
const PLAIN_PROGRAM = `
import { createContext, openStores } from '@polystore/core';
import { memoryAdapter } from '@polystore/memory';
import { sqlAdapter } from '@polystore/sql';
const stores = await openStores('memory:', { adapters: [memoryAdapter, sqlAdapter] });
const net = await stores.networks.create(createContext({ projectId: 'p1' }), { label: 'lan', cidr: '10.0.0.0/24' });
console.log('plain tsx:', net.cidr);
await stores.close();
`;

function runPlainTsx(dir: string): Promise<string> {
  writeFileSync(join(dir, 'try.ts'), PLAIN_PROGRAM);
  // The user's file sits beside the checkout's node_modules in an ESM package, as in the
  // repository root.
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile('npx', ['tsx', 'try.ts'], { cwd: dir, env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve(`${stdout}${stderr}${err ? `\n(exit ${err.code})` : ''}`),
    );
  });
}

async function refused(base: string): Promise<boolean> {
  try {
    await fetch(`${base}/v1/networks`, { headers: { 'X-Project-Id': 'demo' } });
    return false;
  } catch {
    return true;
  }
}

describe('the README first-run commands', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  for (const script of ['demo', 'start'] as const) {
    it(`npm run ${script}: serves without reinstalling, and SIGTERM to npm stops the server`, async () => {
      const cwd = mkdtempSync(join(tmpdir(), `polystore-${script}-`));
      dirs.push(cwd);
      const run = await startThroughNpm(script, cwd);
      children.push(run.child);
      expect(run.output()).not.toContain('installing dependencies');
      expect(run.output()).not.toMatch(/added \d+ packages/);
      expect(run.output()).toContain('store sqlite:./.data/polystore.db (backend sqlite)');
      const res = await fetch(`${run.base}/v1/networks`, { headers: { 'X-Project-Id': 'demo' } });
      expect(res.status).toBe(200);
      if (script === 'demo') expect(await runPlainTsx(cwd)).toContain('plain tsx: 10.0.0.0/24');

      run.child.kill('SIGTERM'); // npm's own PID, as a process manager would send it
      expect(await run.exited).not.toBeUndefined();
      // The server itself went away: the port no longer answers.
      const deadline = Date.now() + 30_000;
      while (!(await refused(run.base)) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(await refused(run.base)).toBe(true);
      expect(run.output()).toContain('SIGTERM, shutting down');
    }, 120_000);
  }
});
