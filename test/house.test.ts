/**
 * The house drawn from the imports (docs/DESIGN.md "The layers"): core imports no package of
 * ours, an adapter imports core only (never another adapter, never a tool above it), and the
 * public entry points stay narrow: an adapter package exports its adapter and `open<X>Stores`,
 * core's service entry holds no SPI helper and neither entry holds core's internal classes.
 * Run: `npx vitest run --project cross-package test/house.test.ts`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

const ADAPTERS = ['memory', 'sql', 'redis', 'zookeeper', 'mongo', 'remote'] as const;
/** What an adapter's source may import of ours. */
const ADAPTER_MAY_IMPORT = new Set(['core']);
const SOURCES: Readonly<Record<string, string>> = {
  core: 'packages/core/src',
  ...Object.fromEntries(ADAPTERS.map((a) => [a, `packages/${a}/src`])),
  migrate: 'packages/migrate/src',
  testing: 'packages/testing/src',
  cli: 'packages/cli/src',
  conformance: 'conformance/src',
};

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|js|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) yield path;
  }
}

/** The `@polystore/<x>` packages a file imports (static, dynamic, re-exports), comments left out. */
function importsOf(path: string): string[] {
  const code = readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
  const found = new Set<string>();
  for (const m of code.matchAll(
    /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]@polystore\/([a-z-]+)/g,
  ))
    found.add(m[1]!);
  return [...found];
}

/** Every arrow `from -> to` between our packages, with the file that draws it. */
function arrows(): { from: string; to: string; file: string }[] {
  const out: { from: string; to: string; file: string }[] = [];
  for (const [from, dir] of Object.entries(SOURCES)) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      for (const to of importsOf(file)) {
        if (to !== from) out.push({ from, to, file: relative(ROOT, file) });
      }
    }
  }
  return out;
}

function declaredDependencies(dir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, dir, '..', 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  return Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies })
    .filter((name) => name.startsWith('@polystore/'))
    .map((name) => name.slice('@polystore/'.length));
}

describe('the house drawn from the imports', () => {
  const all = arrows();

  it('finds the arrows it checks', () => {
    expect(all.some((a) => a.from === 'sql' && a.to === 'core')).toBe(true);
    expect(all.some((a) => a.from === 'cli' && a.to === 'conformance')).toBe(true);
  });

  it('core imports no other package of ours', () => {
    expect(all.filter((a) => a.from === 'core')).toEqual([]);
    expect(declaredDependencies(SOURCES.core!)).toEqual([]);
  });

  it('an adapter imports only core: no other adapter, nothing above it', () => {
    const bad = all.filter(
      (a) => (ADAPTERS as readonly string[]).includes(a.from) && !ADAPTER_MAY_IMPORT.has(a.to),
    );
    expect(bad).toEqual([]);
    for (const adapter of ADAPTERS) {
      const declared = declaredDependencies(SOURCES[adapter]!);
      expect(
        declared.filter((d) => !ADAPTER_MAY_IMPORT.has(d)),
        `${adapter}'s package.json`,
      ).toEqual([]);
    }
  });

  it('migrate and testing sit on core only; conformance on core, memory, migrate and testing', () => {
    const allowed: Readonly<Record<string, readonly string[]>> = {
      migrate: ['core'],
      testing: ['core'],
      conformance: ['core', 'memory', 'migrate', 'testing'],
    };
    for (const [from, may] of Object.entries(allowed)) {
      expect(
        all.filter((a) => a.from === from && !may.includes(a.to)),
        `${from} imports`,
      ).toEqual([]);
    }
  });
});

describe('the public entry points', () => {
  const INTERNAL_CLASSES = [
    'StoreKernel',
    'CoreResourceStore',
    'CoreFixedIpStore',
    'CoreMigrationStore',
    'CoreServiceStore',
  ];

  it("core's service entry holds no SPI helper; neither entry holds core's internal classes", async () => {
    const service = Object.keys(await import('@polystore/core'));
    const spi = Object.keys(await import('@polystore/core/adapter'));
    // An error class may be thrown by a driver and caught by a service: the one shared name.
    expect(spi.filter((name) => service.includes(name))).toEqual(['UniqueViolationError']);
    for (const name of ['createStores', 'meetsConditions', 'chooseAddress', 'KeyedQueue'])
      expect(service).not.toContain(name);
    for (const name of INTERNAL_CLASSES) {
      expect(service).not.toContain(name);
      expect(spi).not.toContain(name);
    }
  });

  const ENTRIES: Readonly<Record<string, readonly string[]>> = {
    memory: ['memoryAdapter', 'openMemoryStores'],
    sql: ['openSqlStores', 'sqlAdapter'],
    redis: ['openRedisStores', 'redisAdapter'],
    zookeeper: ['openZooKeeperStores', 'zookeeperAdapter'],
    mongo: ['mongoAdapter', 'openMongoStores'],
    conformance: [
      'FEATURES',
      'GROUP_NAMES',
      'conformanceOptionsFor',
      'describeConformance',
      'formatReport',
      'listAllPages',
      'runConformance',
    ],
  };
  for (const [name, expected] of Object.entries(ENTRIES)) {
    it(`@polystore/${name} exports only ${expected.join(', ')} (and types)`, async () => {
      const mod = (await import(`@polystore/${name}`)) as Record<string, unknown>;
      expect(Object.keys(mod).sort()).toEqual([...expected].sort());
    });
  }
});
