import { join } from 'node:path';
import { freshStoreUrl, removeTempDirs, STORE_BACKENDS, tempDir } from '@polystore/testing/vitest';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../src/index.js';
import { runPolystore } from './run-polystore.js';

const STORES = ['instances', 'networks', 'fixedIps', 'migrations', 'services'];
const MUTANT = './test/fixtures/off-by-one-adapter.ts';
const HOOK_ONLY_MUTANT = './test/fixtures/off-by-one-hook-only.ts';

/** A field each backend's `describe` hook gives, as doctor prints it. */
const DESCRIBED: Readonly<Record<string, RegExp>> = {
  memory: /^ {2}database +\(private to this open\)$/m,
  sqlite: /^ {2}busyTimeoutMs +4000$/m,
  postgres: /^ {2}schema +public$/m,
  redis: /^ {2}keyspace +\S*\{cli\S*\}:$/m,
  zookeeper: /^ {2}chroot +\/polystore\/cli_\S*$/m,
  mongo: /^ {2}prefix +\S*$/m,
};

afterAll(removeTempDirs);

function recordCount(stdout: string, store: string): number {
  const m = new RegExp(`^  ok {4}${store} +(\\d+) records`, 'm').exec(stdout);
  if (!m) throw new Error(`no ok line for ${store} in:\n${stdout}`);
  return Number(m[1]);
}

describe.concurrent('polystore doctor on every backend', () => {
  for (const backend of STORE_BACKENDS) {
    it(`${backend}: shows the backend, adapter and capabilities, and reads every resource`, async () => {
      const url = await freshStoreUrl(backend, 'cli');
      const run = await runPolystore(['doctor', '--store', url]);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(ExitCode.ok);
      expect(run.stdout).toMatch(/^adapter +\S+ \(schemes: /m);
      expect(run.stdout).toMatch(/^backend +\S+$/m);
      expect(run.stdout).toMatch(DESCRIBED[backend]!);
      expect(run.stdout).toMatch(/^ {2}reads +(linearizable|sequential)$/m);
      expect(run.stdout).toMatch(/^ {2}maxRecordBytes +\d+$/m);
      for (const store of STORES) expect(recordCount(run.stdout, store)).toBe(0);
      expect(run.stdout).toMatch(/^doctor: ok$/m);
    });
  }
});

describe.concurrent('polystore doctor', () => {
  it('reads the store URL from POLYSTORE_URL', async () => {
    const run = await runPolystore(['doctor'], { POLYSTORE_URL: 'memory:' });
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stdout).toMatch(/^backend +memory$/m);
  });

  it('refuses an unknown scheme, naming the accepted ones, with the password redacted', async () => {
    const run = await runPolystore(['doctor', '--store', 'foodb://admin:hunter2@db.example/x']);
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('foodb://admin:***@db.example/x');
    expect(run.stderr).toMatch(/no adapter for scheme "foodb:"/);
    for (const scheme of ['memory:', 'sqlite:', 'postgres:', 'redis:', 'zookeeper:', 'mongodb:']) {
      expect(run.stderr).toContain(scheme);
    }
    expect(run.stderr + run.stdout).not.toContain('hunter2');
  });

  it('exits 3 when the server is unreachable, without printing the password', async () => {
    const run = await runPolystore(['doctor'], {
      POLYSTORE_URL: 'redis://:s3cret-pw@127.0.0.1:1/0?connectTimeout=200',
    });
    expect(run.code).toBe(ExitCode.unavailable);
    expect(run.stderr).toContain('redis://:***@127.0.0.1:1/0');
    expect(run.stderr + run.stdout).not.toContain('s3cret-pw');
  });

  it('asks for a URL when none is given', async () => {
    const run = await runPolystore(['doctor']);
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stderr).toContain('pass --store URL or set POLYSTORE_URL');
  });

  it('refuses a malformed URL', async () => {
    const run = await runPolystore(['doctor', '--store', 'not a url']);
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stderr).toMatch(/malformed store URL/);
  });
});

describe('polystore seed', () => {
  it('seeds a sqlite store that doctor then reads back', async () => {
    const url = `sqlite:${join(tempDir('cli-'), 'demo.db')}`;
    const seeded = await runPolystore(['seed', '--store', url, '--instances', '25']);
    expect(seeded.code).toBe(ExitCode.ok);
    expect(seeded.stdout).toMatch(
      /^seeded 25 instances with addresses in 10\.128\.0\.0\/24 \(network [0-9a-f-]{36}\) for project demo on sqlite in [\d.]+ s$/m,
    );
    const doctor = await runPolystore(['doctor', '--store', url]);
    expect(doctor.code).toBe(ExitCode.ok);
    expect(recordCount(doctor.stdout, 'instances')).toBe(25);
    expect(recordCount(doctor.stdout, 'fixedIps')).toBe(25);
    expect(recordCount(doctor.stdout, 'networks')).toBe(1);
  });

  it('seeds a shared in-memory store under another project', async () => {
    const run = await runPolystore([
      'seed',
      '--store',
      'memory:cli-seed',
      '--instances',
      '300',
      '--project',
      'p9',
    ]);
    expect(run.code).toBe(ExitCode.ok);
    // 300 addresses do not fit a /24.
    expect(run.stdout).toMatch(
      /seeded 300 instances with addresses in 10\.128\.0\.0\/23 .* project p9 on memory/,
    );
  });

  it.concurrent.each([['0'], ['abc'], ['1.5'], ['2000000']])(
    'refuses --instances %s',
    async (n) => {
      const run = await runPolystore(['seed', '--store', 'memory:', '--instances', n]);
      expect(run.code).toBe(ExitCode.usage);
      expect(run.stderr).toContain('--instances must be an integer from 1 to 1000000');
    },
  );

  it('requires --instances', async () => {
    const run = await runPolystore(['seed', '--store', 'memory:']);
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stderr).toContain("required option '--instances <n>' not specified");
  });
});

describe('polystore conformance', () => {
  it('passes the memory adapter, exit 0, with a JSON report', async () => {
    const run = await runPolystore([
      'conformance',
      '--store',
      'memory:',
      '--seed',
      '7',
      '--report',
      'json',
    ]);
    expect(run.code).toBe(ExitCode.ok);
    const report = JSON.parse(run.stdout) as { passed: boolean; seed: number; groups: unknown[] };
    expect(report.passed).toBe(true);
    expect(report.seed).toBe(7);
    expect(report.groups.length).toBeGreaterThan(0);
  });

  it('passes the harness Redis through the fault proxy, exit 0, with a report', async () => {
    const redis = await freshStoreUrl('redis', 'cli');
    const run = await runPolystore(['conformance', '--store', redis, '--seed', '3']);
    expect(run.stderr).toBe('');
    expect(run.code, run.stdout).toBe(ExitCode.ok);
    expect(run.stdout).toMatch(/^# conformance: \S+ PASSED/m);
    expect(run.stdout).toMatch(/0 skipped/);
  }, 300_000);

  it('fails a broken adapter registered with --adapter, exit 1, with a replay token', async () => {
    const run = await runPolystore([
      '--adapter',
      MUTANT,
      'conformance',
      '--store',
      'offbyone:',
      '--seed',
      '1',
    ]);
    expect(run.code).toBe(ExitCode.failure);
    expect(run.stdout).toMatch(/^# conformance: offbyone FAILED/);
    expect(run.stdout).toContain('POLYSTORE_REPLAY=');
  });

  it("registers a --adapter module exporting <x>Adapter, and namespaces its URLs through the adapter's hook", async () => {
    const run = await runPolystore([
      '--adapter',
      HOOK_ONLY_MUTANT,
      'conformance',
      '--store',
      'offbyone:',
      '--seed',
      '1',
    ]);
    expect(run.stderr).not.toContain('cannot namespace');
    expect(run.code).toBe(ExitCode.failure);
    expect(run.stdout).toMatch(/^# conformance: offbyone FAILED/);
  });

  it('refuses a store it cannot namespace, and a bad --report', async () => {
    const memory = await runPolystore(['conformance', '--store', 'sqlite::memory:']);
    expect(memory.code).toBe(ExitCode.usage);
    expect(memory.stderr).toContain('several clients share');
    const report = await runPolystore(['conformance', '--store', 'memory:', '--report', 'xml']);
    expect(report.code).toBe(ExitCode.usage);
    expect(report.stderr).toContain('Allowed choices are md, json');
  });
});

describe('polystore', () => {
  it('documents the exit codes in --help', async () => {
    const run = await runPolystore(['--help']);
    expect(run.code).toBe(ExitCode.ok);
    for (const command of ['doctor', 'seed', 'conformance']) expect(run.stdout).toContain(command);
    expect(run.stdout).toContain('Exit codes: 0 ok');
  });

  it('refuses an unknown command', async () => {
    const run = await runPolystore(['migrate-everything']);
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stderr).toContain("unknown command 'migrate-everything'");
  });
});
