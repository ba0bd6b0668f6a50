import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CLI_BIN = join(ROOT, 'packages/cli/src/bin.ts');
const dir = mkdtempSync(join(tmpdir(), 'remote-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function polystore(args: string[]): { code: number | null; out: string } {
  const env = { ...process.env };
  delete env.POLYSTORE_URL;
  const r = spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', CLI_BIN, ...args],
    {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('polystore serve refuses bad configuration with exit code 2 and a clear message', () => {
  it('no token file, a malformed one, a bad --listen, a remote --store, half a TLS pair', {
    timeout: 90_000,
  }, () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ tokens: [{ token: 'short', role: 'project' }] }));
    const good = join(dir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify({ tokens: [{ token: 'a'.repeat(32), role: 'service', name: 's' }] }),
    );
    const cases: [string[], RegExp][] = [
      [['serve', '--store', 'memory:'], /--tokens/],
      [
        ['serve', '--store', 'memory:', '--tokens', join(dir, 'missing.json')],
        /token file .*cannot be read/,
      ],
      [['serve', '--store', 'memory:', '--tokens', bad], /token file: tokens\.0\./],
      [
        ['serve', '--store', 'memory:', '--tokens', good, '--listen', 'nowhere'],
        /--listen must be host:port/,
      ],
      [
        ['serve', '--store', 'http://x:y@127.0.0.1:1', '--tokens', good, '--listen', '127.0.0.1:0'],
        /not another server/,
      ],
      [
        ['serve', '--store', 'memory:', '--tokens', good, '--tls-key', bad],
        /--tls-key and --tls-cert go together/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = polystore(args);
      expect(r.code, `${args.join(' ')}\n${r.out}`).toBe(2);
      expect(r.out, args.join(' ')).toMatch(message);
      expect(r.out).not.toContain('a'.repeat(32));
    }
  });
});
