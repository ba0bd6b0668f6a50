import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freshStoreUrl, type StoreBackend, tempDir } from '@polystore/testing/vitest';
import { afterAll, describe, expect, it } from 'vitest';

// Every TypeScript/JavaScript block of the READMEs (and of docs/DESIGN.md) is a complete program (or a complete test
// file) and is run here as written, so the documentation cannot drift from the code: a
// reader who pastes a block into a file gets what the block says.
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
// Inside the repository, so `@polystore/*` resolves through the workspace's node_modules.
const OUT = join(ROOT, 'test', '.readme-examples', String(process.pid));
const RUN_LANGS = new Set(['ts', 'typescript', 'js', 'javascript', 'mjs']);
// Per child process; the blocks run concurrently, a few at a time (2 shared cores).
const BLOCK_TIMEOUT_MS = 60_000;

const READMES = [
  'README.md',
  ...readdirSync(join(ROOT, 'packages'))
    .map((p) => `packages/${p}/README.md`)
    .filter((p) => exists(p)),
  'conformance/README.md',
  'examples/compute-api/README.md',
  // The design doc's "Writing an adapter" conformance test: an adapter author's first file.
  'docs/DESIGN.md',
];

function exists(path: string): boolean {
  try {
    readFileSync(join(ROOT, path));
    return true;
  } catch {
    return false;
  }
}

interface Block {
  readonly readme: string;
  readonly line: number;
  readonly lang: string;
  readonly code: string;
  /** `ts file=<path>`: the block shows that file of the repository, verbatim. */
  readonly file: string | undefined;
}

/** The fenced blocks of a Markdown file (CommonMark fences: ``` or ~~~, closed by a fence at least as long). */
function fencedBlocks(readme: string): Block[] {
  const lines = readFileSync(join(ROOT, readme), 'utf8').split('\n');
  const blocks: Block[] = [];
  let open:
    | { fence: string; lang: string; file?: string; line: number; body: string[] }
    | undefined;
  lines.forEach((text, i) => {
    if (open) {
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(text);
      if (close && close[1]![0] === open.fence[0] && close[1]!.length >= open.fence.length) {
        blocks.push({
          readme,
          line: open.line,
          lang: open.lang,
          code: open.body.join('\n'),
          file: open.file,
        });
        open = undefined;
      } else {
        open.body.push(text);
      }
      return;
    }
    const start = /^ {0,3}(`{3,}|~{3,})\s*([^\s`]*)(?:\s+file=(\S+))?/.exec(text);
    if (start) {
      open = { fence: start[1]!, lang: start[2]!.toLowerCase(), line: i + 1, body: [] };
      if (start[3]) open.file = start[3];
    }
  });
  return blocks;
}

/** What `console.log(…); // 10.0.0.2: …` says it prints: the comment's first word. */
function documentedOutputs(code: string): string[] {
  const out: string[] = [];
  for (const line of code.split('\n')) {
    const m = /console\.log\(.*\);\s*\/\/\s*(\S+)/.exec(line);
    // A placeholder (`http://127.0.0.1:<port>`, `…`) is not a literal to look for.
    if (m && !/[<…]/.test(m[1]!)) out.push(m[1]!.replace(/[:,;.]$/, ''));
  }
  return out;
}

/** A test file (imports vitest) runs inside this one; anything else is a program run by node. */
function isTestSnippet(code: string): boolean {
  return /from ['"](vitest|@polystore\/testing\/vitest)['"]/.test(code);
}

const SERVER_ENV: Readonly<Record<string, StoreBackend>> = {
  POSTGRES_URL: 'postgres',
  REDIS_URL: 'redis',
  ZOOKEEPER_URL: 'zookeeper',
  MONGO_URL: 'mongo',
};

/** The environment a block reads: POLYSTORE_URL is run on memory: and on a fresh SQLite file. */
async function environments(code: string): Promise<Record<string, string>[]> {
  const servers: Record<string, string> = {};
  for (const [name, backend] of Object.entries(SERVER_ENV)) {
    if (code.includes(`process.env.${name}`))
      servers[name] = await freshStoreUrl(backend, 'readme');
  }
  if (!code.includes('process.env.POLYSTORE_URL')) return [servers];
  return [
    { ...servers, POLYSTORE_URL: 'memory:' },
    { ...servers, POLYSTORE_URL: `sqlite:${join(tempDir('readme-'), 'store.db')}` },
  ];
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function runNode(file: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', file],
      {
        cwd: ROOT, // where `--import tsx` resolves
        env: { ...process.env, ...env },
        timeout: BLOCK_TIMEOUT_MS,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({
          code,
          output: `${stdout}${stderr}${err?.killed ? '\n(killed at timeout)' : ''}`,
        });
      },
    );
  });
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

const blocks = READMES.flatMap(fencedBlocks).filter((b) => RUN_LANGS.has(b.lang));
const shown = blocks.filter((b) => b.file !== undefined);
const all = blocks.filter((b) => b.file === undefined);
const fileOf = (b: Block) =>
  join(OUT, `${b.readme.replace(/\/README\.md$|\.md$/, '').replace(/\//g, '_')}_L${b.line}.ts`);
for (const b of all) writeFileSync(fileOf(b), `${b.code}\n`);

const programs = all.filter((b) => !isTestSnippet(b.code));
const snippets = all.filter((b) => isTestSnippet(b.code));

describe('README code blocks run as written', () => {
  it('finds the blocks of every README', () => {
    const perFile = new Map<string, number>();
    for (const b of all) perFile.set(b.readme, (perFile.get(b.readme) ?? 0) + 1);
    console.log(
      `readme blocks: ${all.length} (${programs.length} programs, ${snippets.length} test files)\n${[
        ...perFile,
      ]
        .map(([f, n]) => `  ${f}: ${n}`)
        .join('\n')}\n  shown files: ${shown.length}`,
    );
    expect(programs.length).toBeGreaterThan(10);
  });

  it('shows repository files (`ts file=…`) exactly as they are', () => {
    expect(shown.length).toBeGreaterThan(0);
    for (const b of shown) {
      expect(`${b.code}\n`, `${b.readme}:${b.line}`).toBe(
        readFileSync(join(ROOT, b.file!), 'utf8'),
      );
    }
  });

  // One test per program, a few at a time (vitest's maxConcurrency), each with its own
  // bound: a loaded machine slows every program, and one slow block must not fail the rest.
  describe.concurrent('runs every program, on memory: and SQLite where it reads POLYSTORE_URL', () => {
    for (const block of programs) {
      it(`${block.readme}:${block.line}`, { timeout: 3 * BLOCK_TIMEOUT_MS }, async () => {
        for (const env of await environments(block.code)) {
          const where = `${block.readme}:${block.line} ${JSON.stringify(env)}`;
          const run = await runNode(fileOf(block), env);
          expect(run.code, `${where} exited ${run.code}:\n${run.output.slice(-1500)}`).toBe(0);
          const missing = documentedOutputs(block.code).filter((o) => !run.output.includes(o));
          expect(missing, `${where} did not print them:\n${run.output}`).toEqual([]);
        }
      });
    }
  });
});

afterAll(() => rmSync(OUT, { recursive: true, force: true }));

// Test-file blocks register their own tests, here, as a reader's test file would.
for (const b of snippets) {
  describe(`${b.readme}:${b.line}`, async () => {
    await import(pathToFileURL(fileOf(b)).href);
  });
}
