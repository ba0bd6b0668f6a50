import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { createContext, openStores, SchemaBehindError } from '@polystore/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/exit-codes.js';
import { runCli } from '../src/run-cli.js';
import { gadgetResource as gadgetV10 } from './fixtures/schema-gadget-v10.js';
import { gadgetResource as gadgetV11 } from './fixtures/schema-gadget-v11.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs the CLI in process and returns its exit code and what it printed. */
async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => {
    text += d.toString();
  });
  const code = await runCli(args, { streams: { out, err: out }, env: {} });
  return { code, out: text };
}

const module = (name: string) => ['--module', join(FIXTURES, `schema-gadget-${name}.ts`)];

const urls: Record<string, () => string> = {
  memory: () => `memory:?name=schema-store-${Math.random().toString(36).slice(2)}`,
  sqlite: () => {
    const dir = mkdtempSync(join(tmpdir(), 'polystore-schema-store-'));
    dirs.push(dir);
    return `sqlite:${join(dir, 'store.db')}`;
  },
};

describe.each(Object.keys(urls))('polystore schema status|expand on %s', (backend) => {
  it('reports what the store lacks, adds it once, and then newer and older code both open', async () => {
    const url = urls[backend]!();
    // Version 1.0 code creates the store and writes a record.
    const v10 = await openStores(url, { resources: [gadgetV10] });
    const ctx = createContext({ projectId: 'p1' });
    const first = await v10.store(gadgetV10).create(ctx, { label: 'a', size: 1 });
    await v10.close();
    const store = ['--store', url];

    expect(await cli(['schema', 'status', ...store, ...module('v10')])).toMatchObject({
      code: ExitCode.ok,
      out: expect.stringContaining('the store has every element of 1 resources'),
    });

    // Version 1.1 code is refused until the store has its field, and the refusal changes nothing.
    const refused = await openStores(url, { resources: [gadgetV11] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SchemaBehindError);
    expect((refused as SchemaBehindError).missing).toEqual(['field color']);
    expect((refused as SchemaBehindError).message).toContain('polystore schema expand');
    const behind = await cli(['schema', 'status', ...store, ...module('v11')]);
    expect(behind.code).toBe(ExitCode.schemaDrift);
    expect(behind.out).toMatch(/BEHIND +gadget 1\.1 +lacks field color/);

    const dry = await cli(['schema', 'expand', ...store, ...module('v11'), '--dry-run']);
    expect(dry).toMatchObject({ code: ExitCode.ok });
    expect(dry.out).toContain('would add to gadget: field color');
    expect((await cli(['schema', 'status', ...store, ...module('v11')])).code).toBe(
      ExitCode.schemaDrift,
    );

    const expanded = await cli(['schema', 'expand', ...store, ...module('v11')]);
    expect(expanded).toMatchObject({ code: ExitCode.ok });
    expect(expanded.out).toContain(
      'added to gadget: field color (write-only until schema migrate: color)',
    );
    const writeOnly = await cli(['schema', 'status', ...store, ...module('v11')]);
    expect(writeOnly.out).toContain('write-only until backfilled: color');
    const migrated = await cli(['schema', 'migrate', ...store, ...module('v11')]);
    expect(migrated).toMatchObject({ code: ExitCode.ok });
    expect(migrated.out).toContain('gadget       rewrote 1 record(s) at 1.1; queryable now: color');
    expect(migrated.out).toContain("every record of 1 resources is at the code's version");
    expect((await cli(['schema', 'status', ...store, ...module('v11')])).out).not.toContain(
      'write-only',
    );
    const again = await cli(['schema', 'expand', ...store, ...module('v11')]);
    expect(again.out).toContain('nothing to add');
    expect((await cli(['schema', 'status', ...store, ...module('v11')])).code).toBe(ExitCode.ok);
    const older = await cli(['schema', 'status', ...store, ...module('v10')]);
    expect(older).toMatchObject({ code: ExitCode.ok });
    expect(older.out).toContain('also has field color');

    // Both versions now open and work on the same store.
    const v11 = await openStores(url, { resources: [gadgetV11] });
    const red = await v11.store(gadgetV11).create(ctx, { label: 'b', size: 2, color: 'red' });
    expect(await v11.store(gadgetV11).get(ctx, first.id)).toMatchObject({
      color: null,
      objectVersion: '1.1',
    });
    await v11.close();
    const v10again = await openStores(url, { resources: [gadgetV10] });
    expect((await v10again.store(gadgetV10).get(ctx, red.id)).label).toBe('b');
    await v10again.store(gadgetV10).update(ctx, first.id, { size: 3 });
    expect(await v10again.store(gadgetV10).count(ctx)).toBe(2);
    await v10again.close();
  });

  it('migrate refuses a store that lacks elements, with exit 4', async () => {
    const url = urls[backend]!();
    await (await openStores(url, { resources: [gadgetV10] })).close();
    const r = await cli(['schema', 'migrate', '--store', url, ...module('v11')]);
    expect(r.code).toBe(ExitCode.schemaDrift);
    expect(r.out).toContain(
      'gadget: the store lacks field color: run polystore schema expand first',
    );
  });

  it('exits 4 from any command whose open meets a store behind the code', async () => {
    const url = urls[backend]!();
    await (await openStores(url, { resources: [gadgetV10] })).close();
    const r = await cli(['schema', 'status', '--store', url, ...module('v11')]);
    expect(r.code).toBe(ExitCode.schemaDrift);
  });
});

describe('polystore schema status|expand, misuse', () => {
  it('needs a store URL', async () => {
    const r = await cli(['schema', 'status', ...module('v10')]);
    expect(r.code).toBe(ExitCode.usage);
    expect(r.out).toContain('no store URL');
  });
});
