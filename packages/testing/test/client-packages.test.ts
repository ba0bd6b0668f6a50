import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { importPeer } from '../src/client-packages.js';
import { MissingPackageError } from '../src/index.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('database client packages are optional peers', () => {
  it('reports a package that is not installed by name, with the install command', async () => {
    const notFound = Object.assign(new Error("Cannot find package 'pg'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const err = await importPeer('pg', 'postgres', () => Promise.reject(notFound)).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MissingPackageError);
    expect(err).toMatchObject({
      packageName: 'pg',
      kind: 'postgres',
      installCommand: 'npm install --save-dev pg',
      cause: notFound,
    });
    expect((err as Error).message).toContain('"pg"');
  });

  it('passes other import errors through', async () => {
    const broken = new SyntaxError('Unexpected token');
    await expect(importPeer('mongodb', 'ferretdb', () => Promise.reject(broken))).rejects.toBe(
      broken,
    );
  });

  it('loads the harness without any client package; the starters that need one name it', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--conditions=source',
      '--import',
      fixture('block-client-packages.mjs'),
      '--import',
      'tsx',
      fixture('without-client-packages.ts'),
    ]);
    const missing = (packageName: string) => ({
      name: 'MissingPackageError',
      packageName,
      installCommand: `npm install --save-dev ${packageName}`,
    });
    expect(JSON.parse(stdout)).toEqual({
      startPostgres: missing('pg'),
      createPostgresDatabase: missing('pg'),
      startFerretDb: missing('mongodb'),
    });
  });
});
