import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStores } from '@polystore/core';
import { Redis } from 'ioredis';
import { shakeScript } from '../../packages/redis/tools/shake-lua.mjs';
import { OPERATIONS, type Operation } from './operation.js';
import { polystoreSubject } from './polystore-subject.js';
import { median, shuffled } from './rounds.js';
import { TARGETS } from './targets.js';

// Server time of two versions of one Redis script, on the same keys with the same arguments:
// runs the benchmark's polystore `--op` until it has seen one real call of the script
// (MONITOR), then calls each version with that call's key and arguments, in `--rounds`
// shuffled blocks of `--calls`, and prints the server's time per call of each (INFO
// commandstats) and of B against A per round. A version is a prelude and a script body
// (`.lua` files; the defaults are this checkout's), bound to the fields the driver binds.
// Only for scripts whose repeated call leaves the keys as it found them (list, get, count).
// npm run lua-ab -w @polystore/bench -- --op list --script list.lua \
//   --a-body /tmp/list-before.lua [--b-body …] [--a-prelude …] [--b-prelude …]
const SCRIPTS = new URL('../../packages/redis/src/scripts/', import.meta.url);
const { values } = parseArgs({
  options: {
    op: { type: 'string', default: 'list' },
    script: { type: 'string', default: 'list.lua' },
    'a-prelude': { type: 'string' },
    'a-body': { type: 'string' },
    'b-prelude': { type: 'string' },
    'b-body': { type: 'string' },
    rounds: { type: 'string', default: '20' },
    calls: { type: 'string', default: '1500' },
  },
});
const op = values.op as Operation;
if (!OPERATIONS.includes(op)) {
  console.error(`--op one of ${OPERATIONS.join(',')}`);
  process.exit(2);
}
const rounds = Number(values.rounds);
const calls = Number(values.calls);
const text = (path: string | undefined, fallback: string) =>
  readFileSync(path ?? new URL(fallback, SCRIPTS), 'utf8');
const versions = {
  A: {
    prelude: text(values['a-prelude'], 'prelude.lua'),
    body: text(values['a-body'], values.script),
  },
  B: {
    prelude: text(values['b-prelude'], 'prelude.lua'),
    body: text(values['b-body'], values.script),
  },
};

const target = TARGETS.redis;
const work = mkdtempSync(join(tmpdir(), 'polystore-lua-ab-'));
const server = await target.start(work);
if (server === undefined) throw new Error('no Redis server was started');
const { address } = server;
const watcher = new Redis(address.port, address.host);
const monitor = await watcher.monitor();
// ioredis sends EVALSHA, and EVAL with the source after NOSCRIPT: on a fresh server, the
// first call of each script shows its source, bound field names included.
const sources: string[] = [];
let call: string[] | undefined;
let watching = false;
monitor.on('monitor', (_time: string, args: unknown[]) => {
  const [command, ...rest] = args.map(String);
  if (command?.toLowerCase() === 'eval') sources.push(rest[0] ?? '');
  if (watching && call === undefined && command?.toLowerCase() === 'evalsha') call = rest;
});
const subject = polystoreSubject(await openStores(target.storeUrl(address, work)));
const client = new Redis(address.port, address.host);
try {
  const fn = await subject.ops[op]?.();
  if (!fn) throw new Error(`polystore has no ${op}`);
  for (let i = 0; i < 50; i++) await fn();
  watching = true;
  await fn();
  await new Promise((resolve) => setTimeout(resolve, 200));
  // A monitor costs the server time on every command, the scripts' own included.
  monitor.disconnect();
  watcher.disconnect();
  if (call === undefined) throw new Error(`${op} made no EVALSHA`);
  const [sha, , key, ...args] = call;
  // The real script: the one whose source holds the script's first line of code (MONITOR
  // shows it escaped, so its SHA is not the real one's), and its bound names.
  const first = text(undefined, values.script)
    .split('\n')
    .find((line) => line.trim() !== '' && !line.startsWith('--'));
  const real = sources.find((s) => first !== undefined && s.includes(first));
  const names = real?.match(/local BOUND_NAMES = \{[^}]*sig = '[0-9a-f]+' \}/)?.[0];
  if (names === undefined) throw new Error(`the script ${op} called has no bound names`);
  const shas = { A: '', B: '' };
  for (const k of ['A', 'B'] as const) {
    const lua = shakeScript(versions[k].prelude, versions[k].body).replace(
      'local BOUND_NAMES = nil',
      () => names,
    );
    shas[k] = (await client.script('LOAD', lua)) as string;
  }
  const replyOf = async (s: string) => JSON.stringify(await client.evalsha(s, 1, key!, ...args));
  const real1 = await replyOf(sha!);
  console.log(
    `${op} (${values.script}): A's reply ${(await replyOf(shas.A)) === real1 ? 'equals' : 'DIFFERS FROM'} the real script's, B's ${(await replyOf(shas.B)) === real1 ? 'equals' : 'DIFFERS FROM'} it`,
  );
  const usec = async () => {
    const stats = (await client.info('commandstats')) as string;
    const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(stats);
    return m ? Number(m[2]) / Number(m[1]) : Number.NaN;
  };
  const per: Record<'A' | 'B', number[]> = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    for (const k of shuffled(['A', 'B'] as const)) {
      for (let i = 0; i < 100; i++) await client.evalsha(shas[k], 1, key!, ...args);
      await client.config('RESETSTAT');
      for (let i = 0; i < calls; i++) await client.evalsha(shas[k], 1, key!, ...args);
      per[k].push(await usec());
    }
  }
  /** Median [lowest–highest] of the rounds' figures. */
  const spread = (xs: number[], digits: number) =>
    `${median(xs).toFixed(digits)} [${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
  for (const k of ['A', 'B'] as const) {
    console.log(`${k}: server µs per call, median ${spread(per[k], 1)}`);
  }
  const ratios = per.B.map((b, i) => b / (per.A[i] as number));
  console.log(`B / A per round: median ${spread(ratios, 3)}, ${rounds} rounds of ${calls} calls`);
} finally {
  monitor.disconnect();
  watcher.disconnect();
  client.disconnect();
  await subject.close();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
