import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const ENTRY = join(ROOT, 'examples/compute-api/src/main.ts');

/**
 * Native and optional driver packages stay outside the bundle, as a deployed service
 * installs them next to it; everything else (core, the adapters, hono) is bundled.
 */
const EXTERNAL = ['better-sqlite3', 'pg', 'pg-native'];

// The bundle runs outside the repository, with only its external packages installed next
// to it (linked from the root node_modules), as a deployed service would: no @polystore
// package can be imported at run time, so the adapters must be in the bundle.
const outDir = mkdtempSync(join(tmpdir(), 'bundle-test-'));
const dataDir = join(outDir, 'data');
mkdirSync(join(outDir, 'node_modules'));
mkdirSync(dataDir);
for (const name of EXTERNAL) {
  const installed = join(ROOT, 'node_modules', name);
  if (existsSync(installed)) symlinkSync(installed, join(outDir, 'node_modules', name), 'dir');
}
let child: ChildProcess | undefined;

afterAll(() => {
  if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(outDir, { recursive: true, force: true });
});

describe('the example service bundled with esbuild', () => {
  it('serves a record on sqlite: with the adapters it passes to openStores', async () => {
    const outfile = join(outDir, 'compute-api.mjs');
    const result = await build({
      entryPoints: [ENTRY],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // `source` picks the workspace packages' TypeScript, so no build step is needed first.
      conditions: ['source'],
      external: EXTERNAL,
      // Bundled CommonJS dependencies call require(); ESM output has none of its own.
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
      logLevel: 'silent',
      metafile: true,
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).toContain('packages/sql/src/sql-adapter.ts');
    expect(inputs).toContain('packages/memory/src/memory-adapter.ts');

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      POLYSTORE_URL: `sqlite:${join(dataDir, 'store.db')}`,
    };
    delete env.INIT_CWD;
    child = spawn(process.execPath, [outfile], { cwd: dataDir, env });
    let out = '';
    const collect = (d: Buffer) => {
      out += d.toString();
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = once(child, 'exit');
    const base = await new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      };
      child!.stdout!.on('data', check);
      void exited.then(([code]) => reject(new Error(`bundle exited with ${code}:\n${out}`)));
    });
    expect(out).toContain('(backend sqlite)');

    const headers = { 'X-Project-Id': 'bundle', 'Content-Type': 'application/json' };
    const created = await fetch(`${base}/v1/networks`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ label: 'lan', cidr: '10.0.0.0/24' }),
    });
    expect(created.status).toBe(201);
    const network = (await created.json()) as { id: string; label: string };
    const read = await fetch(`${base}/v1/networks/${network.id}`, { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ id: network.id, label: 'lan', cidr: '10.0.0.0/24' });

    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, out).toBe(0);
  });
});
