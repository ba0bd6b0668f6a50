import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { runCli } from '../src/run-cli.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const ROOT = join(import.meta.dirname, '..', '..', '..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'polystore-schema-'));
  dirs.push(d);
  return d;
}

/** Runs the CLI in process and returns its exit code and stdout. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => {
    text += d.toString();
  });
  err.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const code = await runCli(args, { streams: { out, err }, env: {} });
  return { code, out: text };
}

const fixture = (name: string) => ['--module', join(FIXTURES, `schema-gadget-${name}.ts`)];

describe('polystore schema snapshot|check', () => {
  it('passes right after a snapshot, and the snapshot is readable JSON', async () => {
    const dir = tempDir();
    expect((await cli(['schema', 'snapshot', ...fixture('v10'), '--dir', dir])).code).toBe(0);
    const snap = JSON.parse(readFileSync(join(dir, 'gadget.snapshot.json'), 'utf8'));
    expect(snap.versions['1.0'].fields.size).toEqual({ kind: 'int', nullable: false, min: 0 });
    expect(snap.versions['1.0'].indexes).toEqual([{ field: 'label', kind: 'eq' }]);
    expect(snap.objects[0]).toMatchObject({ namespace: 'shop', name: 'gadget', version: '1.0' });
    expect(snap.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    const ok = await cli(['schema', 'check', ...fixture('v10'), '--dir', dir]);
    expect(ok).toMatchObject({ code: ExitCode.ok });
  });

  it('fails with exit 4 and a field-level diff when a version changed without a bump', async () => {
    const dir = tempDir();
    await cli(['schema', 'snapshot', ...fixture('v10'), '--dir', dir]);
    const r = await cli(['schema', 'check', ...fixture('unbumped'), '--dir', dir]);
    expect(r.code).toBe(ExitCode.schemaDrift);
    expect(r.code).not.toBe(ExitCode.usage);
    expect(r.code).not.toBe(ExitCode.unavailable);
    expect(r.out).toContain('gadget: changed without a version bump');
    expect(r.out).toContain('1.1 (minor)');
    expect(r.out).toContain(
      '+ field color: {"default":null,"kind":"string","max":255,"nullable":true}',
    );
    expect(r.out).toContain('~ field label.max: 40 -> 80');
  });

  it('accepts a bumped version once snapshotted, and asks for the snapshot before', async () => {
    const dir = tempDir();
    await cli(['schema', 'snapshot', ...fixture('v10'), '--dir', dir]);
    const before = await cli(['schema', 'check', ...fixture('v11'), '--dir', dir]);
    expect(before.code).toBe(ExitCode.schemaDrift);
    expect(before.out).toContain('version 1.1 is not in the committed snapshot');
    await cli(['schema', 'snapshot', ...fixture('v11'), '--dir', dir]);
    expect((await cli(['schema', 'check', ...fixture('v11'), '--dir', dir])).code).toBe(0);
  });

  it('fails when a released version was rewritten or an object changed without a bump', async () => {
    const dir = tempDir();
    await cli(['schema', 'snapshot', ...fixture('v11'), '--dir', dir]);
    const r = await cli(['schema', 'check', ...fixture('rewritten'), '--dir', dir]);
    expect(r.code).toBe(ExitCode.schemaDrift);
    expect(r.out).toContain('version 1.0 changed after it was released');
    expect(r.out).toContain('~ field size.min: 0 -> (none)');
    expect(r.out).toContain('object shop.gadget 1.1 wire form changed without a version bump');
    expect(r.out).toContain('~ methods: [] -> ["big"]');
  });

  it('is a usage error (2) for a module that cannot be imported', async () => {
    const r = await cli([
      'schema',
      'check',
      '--module',
      join(FIXTURES, 'nope.ts'),
      '--dir',
      tempDir(),
    ]);
    expect(r.code).toBe(ExitCode.usage);
  });

  it('the committed snapshots of the built-in resources and the example service match the code', async () => {
    const builtins = await cli(['schema', 'check', '--dir', join(ROOT, 'schemas')]);
    expect(builtins.out).toContain('5 resources match');
    expect(builtins.code).toBe(0);
    const example = join(ROOT, 'examples', 'compute-api');
    const r = await cli([
      'schema',
      'check',
      '--module',
      join(example, 'src', 'compute-objects.ts'),
      '--dir',
      join(example, 'schemas'),
    ]);
    expect(r.out).toContain('match');
    expect(r.code).toBe(0);
  });
});
