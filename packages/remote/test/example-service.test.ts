import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { adminContext, openStores } from '@polystore/core';
import { afterAll, describe, expect, it } from 'vitest';
import { newToken } from './support.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI_BIN = join(ROOT, 'packages/cli/src/bin.ts');
const EXAMPLE_DIR = join(ROOT, 'examples/compute-api');

interface Running {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

function start(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { cwd, env, detached: true });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, output: () => out, exited };
}

/** Resolves with the first match of `pattern` in the output; rejects if the process exits first. */
function waitFor(p: Running, pattern: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolvePromise, reject) => {
    const check = () => {
      const m = pattern.exec(p.output());
      if (m) {
        p.child.stdout!.off('data', check);
        resolvePromise(m);
      }
    };
    p.child.stdout!.on('data', check);
    void p.exited.then((code) =>
      reject(new Error(`exited with ${code} before printing ${pattern}:\n${p.output()}`)),
    );
    check();
  });
}

let dir: string | undefined;
afterAll(() => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null && c.pid !== undefined) {
      process.kill(-c.pid, 'SIGKILL');
    }
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the example service against polystore serve', () => {
  it('runs unchanged with POLYSTORE_URL=http://… and its data lives in the served store', {
    timeout: 60_000,
  }, async () => {
    dir = mkdtempSync(join(tmpdir(), 'remote-example-'));
    const token = newToken();
    const tokens = join(dir, 'tokens.json');
    writeFileSync(
      tokens,
      JSON.stringify({ tokens: [{ token, role: 'service', name: 'compute-api' }] }),
    );
    const env = { ...process.env };
    delete env.POLYSTORE_URL;
    delete env.POLYSTORE_TOKEN;

    const conductor = start(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        CLI_BIN,
        'serve',
        '--store',
        `sqlite:${join(dir, 'conductor.db')}`,
        '--listen',
        '127.0.0.1:0',
        '--tokens',
        tokens,
      ],
      ROOT,
      env,
    );
    const [, served] = await waitFor(conductor, /listening on (http:\/\/\S+)/);
    expect(conductor.output()).toContain('(backend sqlite)');
    const storeUrl = new URL(served!);
    storeUrl.username = 'compute-api';
    storeUrl.password = token;

    // The example exactly as `npm start` runs it; only the environment differs.
    const pkg = JSON.parse(readFileSync(join(EXAMPLE_DIR, 'package.json'), 'utf8')) as {
      scripts: { start: string };
    };
    const [command, ...args] = pkg.scripts.start.split(' ');
    const api = start(command!, args, EXAMPLE_DIR, {
      ...env,
      POLYSTORE_URL: storeUrl.toString(),
      PORT: '0',
      INIT_CWD: dir,
    });
    const [, base] = await waitFor(api, /listening on (http:\/\/\S+)/);
    expect(api.output()).toContain('(backend remote:sqlite)');
    expect(api.output()).not.toContain(token);

    const headers = { 'X-Project-Id': 'demo', 'Content-Type': 'application/json' };
    const net = await fetch(`${base}/v1/networks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ label: 'lan', cidr: '10.0.0.0/24' }),
    });
    expect(net.status).toBe(201);
    const network = (await net.json()) as { id: string };
    const boot = await fetch(`${base}/v1/instances`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        displayName: 'web-1',
        networkId: network.id,
        flavor: { vcpus: 1, memoryMb: 512, rootGb: 10 },
      }),
    });
    expect(boot.status).toBe(201);
    const list = (await (await fetch(`${base}/v1/instances`, { headers })).json()) as {
      items: { displayName: string }[];
    };
    expect(list.items.map((i) => i.displayName)).toEqual(['web-1']);
    // Another project sees nothing of it, through the same conductor.
    const other = (await (
      await fetch(`${base}/v1/instances`, { headers: { ...headers, 'X-Project-Id': 'other' } })
    ).json()) as { items: unknown[] };
    expect(other.items).toEqual([]);

    api.child.kill('SIGINT');
    expect(await api.exited).toBe(0);
    conductor.child.kill('SIGTERM');
    expect(await conductor.exited).toBe(0);
    expect(conductor.output()).toContain('SIGTERM, shutting down');

    // The instance and its address are in the conductor's own database.
    const conductorDb = await openStores(`sqlite:${join(dir, 'conductor.db')}`);
    try {
      const admin = adminContext();
      expect((await conductorDb.instances.list(admin)).items.map((i) => i.displayName)).toEqual([
        'web-1',
      ]);
      expect(await conductorDb.fixedIps.count(admin)).toBe(1);
    } finally {
      await conductorDb.close();
    }
  });
});
