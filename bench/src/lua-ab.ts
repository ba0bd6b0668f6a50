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
// A read (list, get, count) is called again and again with one call's arguments. An update
// (updateRevision, updateExpected with --script update.lua) alternates two real calls on one
// record, so every call moves its index entries as the real one did and the record comes
// back to where it was: the name or the task state goes back and forth, and the revision
// check is left out (update.lua's ARGV[5] sent empty), since the revision moves on.
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
// Even, so that a block of update calls leaves the record where it found it.
const perRound = 2 * Math.ceil(Number(values.calls) / 2);
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
const calls: string[][] = [];
let watching = false;
monitor.on('monitor', (_time: string, args: unknown[]) => {
  const [command, ...rest] = args.map(String);
  if (command?.toLowerCase() === 'eval') sources.push(rest[0] ?? '');
  if (watching && command?.toLowerCase() === 'evalsha') calls.push(rest);
});
const write = op === 'updateRevision' || op === 'updateExpected';
const subject = polystoreSubject(await openStores(target.storeUrl(address, work)));
const client = new Redis(address.port, address.host);
try {
  const fn = await subject.ops[op]?.();
  if (!fn) throw new Error(`polystore has no ${op}`);
  for (let i = 0; i < 50; i++) await fn();
  watching = true;
  // An update's pool takes its records in turn: enough calls to meet one record twice.
  for (let i = 0; i < (write ? 600 : 1); i++) await fn();
  await new Promise((resolve) => setTimeout(resolve, 200));
  // A monitor costs the server time on every command, the scripts' own included.
  monitor.disconnect();
  watcher.disconnect();
  // The calls to replay: one, or two in a row on the same record (same key).
  const pair = (() => {
    if (!write) return calls.slice(0, 1);
    const byKey = new Map<string, string[][]>();
    for (const c of calls) byKey.set(c[2] ?? '', [...(byKey.get(c[2] ?? '') ?? []), c]);
    return [...byKey.values()].find((cs) => cs.length >= 2)?.slice(0, 2) ?? [];
  })();
  if (pair.length === 0) throw new Error(`${op} made no EVALSHA (or none twice on one record)`);
  const sha = pair[0]![0]!;
  const replays = pair.map(([, , key, ...args]) => {
    // update.lua's ARGV[5], the expected revision: the record's moves on at every call.
    if (write) args[4] = '';
    return { key: key!, args };
  });
  // The real script: the one whose source holds the script's first line of code (MONITOR
  // shows it escaped, so its SHA is not the real one's), its bound names, and its bound
  // layout where it reads one (a write script: its calls send '-' for it).
  const first = text(undefined, values.script)
    .split('\n')
    .find((line) => line.trim() !== '' && !line.startsWith('--'));
  const real = sources.find((s) => first !== undefined && s.includes(first));
  const names = real?.match(/local BOUND_NAMES = \{[^}]*sig = '[0-9a-f]+' \}/)?.[0];
  if (names === undefined) throw new Error(`the script ${op} called has no bound names`);
  const layout = real?.match(/local BOUND_LAYOUT = function\(\) return \{.*?\} end/)?.[0];
  const shas = { A: '', B: '' };
  for (const k of ['A', 'B'] as const) {
    let lua = shakeScript(versions[k].prelude, versions[k].body).replace(
      'local BOUND_NAMES = nil',
      () => names,
    );
    if (layout !== undefined) lua = lua.replace('local BOUND_LAYOUT = nil', () => layout);
    shas[k] = (await client.script('LOAD', lua)) as string;
  }
  let turn = 0;
  /** The next call of script `s`: the replays in turn. */
  const callOf = (s: string) => {
    const { key, args } = replays[turn++ % replays.length]!;
    return client.evalsha(s, 1, key, ...args);
  };
  /**
   * The replies of one turn through the replays, as text; an update's row without its
   * revision (the third field of the row, see prelude.lua's row_of), which every call moves on.
   */
  const repliesOf = async (s: string) => {
    const out: string[] = [];
    for (let k = 0; k < replays.length; k++) {
      const reply = await callOf(s);
      if (write && Array.isArray(reply) && typeof reply[1] === 'string') {
        const row = JSON.parse(reply[1]) as unknown[];
        row[2] = null;
        reply[1] = row;
      }
      out.push(JSON.stringify(reply));
    }
    return out.join('\n');
  };
  const real1 = await repliesOf(sha);
  console.log(
    `${op} (${values.script}): A's reply ${(await repliesOf(shas.A)) === real1 ? 'equals' : 'DIFFERS FROM'} the real script's, B's ${(await repliesOf(shas.B)) === real1 ? 'equals' : 'DIFFERS FROM'} it`,
  );
  const usec = async () => {
    const stats = (await client.info('commandstats')) as string;
    const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(stats);
    return m ? Number(m[2]) / Number(m[1]) : Number.NaN;
  };
  const per: Record<'A' | 'B', number[]> = { A: [], B: [] };
  for (let r = 0; r < rounds; r++) {
    for (const k of shuffled(['A', 'B'] as const)) {
      for (let i = 0; i < 100; i++) await callOf(shas[k]);
      await client.config('RESETSTAT');
      for (let i = 0; i < perRound; i++) await callOf(shas[k]);
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
  console.log(
    `B / A per round: median ${spread(ratios, 3)}, ${rounds} rounds of ${perRound} calls`,
  );
} finally {
  monitor.disconnect();
  watcher.disconnect();
  client.disconnect();
  await subject.close();
  await server.stop();
  rmSync(work, { recursive: true, force: true });
}
