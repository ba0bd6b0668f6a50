import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { describe, expect, it } from 'vitest';

// What a user installs from the registry: every public package must lint clean with publint
// (strict) and load through both `import` and `require` (Node 20.19+ require(esm)) from its
// built output. `npm test` builds before it runs the tests; a missing dist/ fails loudly here.
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

interface Manifest {
  readonly name: string;
  readonly private?: boolean;
}

const packages = [
  ...readdirSync(join(ROOT, 'packages')).map((d) => join(ROOT, 'packages', d)),
  join(ROOT, 'conformance'),
]
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest,
  }))
  .filter(({ manifest }) => manifest.private !== true);

/** Every workspace manifest: the packages, the suite, the example and the bench. */
const workspaceManifests = [
  ...['packages', 'examples'].flatMap((parent) =>
    readdirSync(join(ROOT, parent)).map((d) => join(ROOT, parent, d)),
  ),
  join(ROOT, 'conformance'),
  join(ROOT, 'bench'),
]
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest & Deps);

interface Deps {
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

describe('internal version ranges', () => {
  // One policy (.changeset/README.md): a caret on the current version, so a user's install
  // dedupes to one copy of core (two copies break `instanceof` on its errors).
  it('every @polystore/* dependency is ^<its current version>', () => {
    const versions = new Map(workspaceManifests.map((m) => [m.name, m.version]));
    const off: string[] = [];
    for (const m of workspaceManifests) {
      for (const deps of [m.dependencies, m.devDependencies, m.peerDependencies]) {
        for (const [name, range] of Object.entries(deps ?? {})) {
          if (!name.startsWith('@polystore/')) continue;
          if (range !== `^${versions.get(name)}`) off.push(`${m.name}: ${name} ${range}`);
        }
      }
    }
    expect(versions.get('@polystore/core')).toBeDefined();
    expect(off).toEqual([]);
  });
});

describe.concurrent('published packages', () => {
  it('are all found', () => {
    expect(packages.map((p) => p.manifest.name)).toContain('@polystore/core');
  });

  for (const { dir, manifest } of packages) {
    it(`${manifest.name}: publint (strict) reports nothing`, async () => {
      expect(existsSync(join(dir, 'dist')), `${dir}/dist is missing: run npm run build`).toBe(true);
      const { messages } = await publint({ pkgDir: dir, strict: true });
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(messages.map((m) => `${m.type}: ${formatMessage(m, pkg)}`)).toEqual([]);
    });

    it(`${manifest.name}: its tarball carries LICENSE and README.md beside dist/`, () => {
      // `npm pack --dry-run` runs prepack (which copies the repository's LICENSE in) and
      // lists what a publish would upload, without writing a tarball.
      const [packed] = JSON.parse(
        execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts=false'], {
          cwd: dir,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      ) as [{ files: { path: string }[] }];
      const files = packed.files.map((f) => f.path);
      expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json']));
      expect(files.some((f) => f.startsWith('dist/'))).toBe(true);
    });

    it(`${manifest.name}: loads with require() and import from its built output`, () => {
      const script = `
        const viaRequire = require(${JSON.stringify(manifest.name)});
        import(${JSON.stringify(manifest.name)}).then((viaImport) => {
          const a = Object.keys(viaRequire).sort().join(','), b = Object.keys(viaImport).sort().join(',');
          if (a !== b || a === '') { console.error('exports differ:', a, '|', b); process.exit(1); }
        });`;
      // No `source` condition: exactly what a user's plain `node` resolves.
      execFileSync(process.execPath, ['-e', script], { cwd: ROOT, stdio: 'pipe' });
    });
  }
});
