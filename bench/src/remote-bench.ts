/**
 * The remote backend against the same backend local: p50, p99 and ops/s of `get` and
 * `update` through `http://` (a `createStoreServer` on loopback in this process) and
 * straight on the store, on memory and SQLite; and HTTP round trips per call (counted at
 * the server's token check, which runs once per request).
 *
 * Subjects of one comparison alternate in a shuffled order every round (at least 5
 * rounds), so drift in the machine's load hits all of them alike; each figure is the
 * median of the round figures with their spread (min..max).
 *
 *   node --conditions=source --import tsx bench/src/remote-bench.ts [--rounds 7] [--ops 2000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext, openStores, type Stores } from '@polystore/core';
import { createStoreServer, type StoreServer, staticTokens } from '@polystore/remote';
import { median, quantile, shuffled } from './rounds.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    ops: { type: 'string', default: '2000' },
  },
});
const ROUNDS = Math.max(5, Number(args.rounds));
const OPS = Math.max(100, Number(args.ops));
const ctx = createContext({ projectId: 'bench' });
const TOKEN = 'bench-token-0123456789abcdef';

interface RoundFigures {
  p50: number;
  p99: number;
  opsPerSec: number;
}

interface Subject {
  readonly backend: string;
  readonly where: 'local' | 'remote';
  readonly stores: Stores;
  ids: string[];
}

async function round(s: Subject, op: 'get' | 'update'): Promise<RoundFigures> {
  const lat: number[] = [];
  const started = performance.now();
  for (let i = 0; i < OPS; i++) {
    const id = s.ids[i % s.ids.length]!;
    const t = performance.now();
    if (op === 'get') await s.stores.instances.get(ctx, id);
    else await s.stores.instances.update(ctx, id, { displayName: `n${i}` });
    lat.push(performance.now() - t);
  }
  const total = performance.now() - started;
  lat.sort((a, b) => a - b);
  return { p50: quantile(lat, 0.5), p99: quantile(lat, 0.99), opsPerSec: (OPS / total) * 1000 };
}

const dir = mkdtempSync(join(tmpdir(), 'remote-bench-'));
let requests = 0;
const servers: StoreServer[] = [];
const verify = staticTokens({ tokens: [{ token: TOKEN, role: 'service', name: 'bench' }] });
const subjects: Subject[] = [];
for (const [backend, url] of [
  ['memory', 'memory:'],
  ['sqlite', `sqlite:${join(dir, 'bench.db')}`],
] as const) {
  const local = await openStores(url);
  const server = await createStoreServer(local, {
    verifyToken: (token) => {
      requests++;
      return verify(token);
    },
  });
  servers.push(server);
  const remote = await openStores(server.url, { adapter: { token: TOKEN } });
  const ids: string[] = [];
  for (let i = 0; i < 100; i++) {
    ids.push(
      (await local.instances.create(ctx, { flavor: { vcpus: 1, memoryMb: 512, rootGb: 1 } })).id,
    );
  }
  subjects.push({ backend, where: 'local', stores: local, ids });
  subjects.push({ backend, where: 'remote', stores: remote, ids });
}

// Round trips: N calls through the client must be N requests at the server.
const before = requests;
const probe = subjects.find((s) => s.where === 'remote')!;
for (let i = 0; i < 50; i++) await probe.stores.instances.get(ctx, probe.ids[i]!);
for (let i = 0; i < 50; i++) await probe.stores.instances.list(ctx, { limit: 5 });
const roundTrips = (requests - before) / 100;

// Warm-up: JIT, connection pool, SQLite page cache.
for (const s of subjects) await round(s, 'get');

const results = new Map<string, RoundFigures[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (const op of ['get', 'update'] as const) {
    for (const s of shuffled(subjects)) {
      const key = `${s.backend} ${s.where} ${op}`;
      const list = results.get(key) ?? [];
      list.push(await round(s, op));
      results.set(key, list);
    }
  }
}

const fmt = (xs: number[], digits: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return `${median(xs).toFixed(digits)} (${s[0]!.toFixed(digits)}..${s[s.length - 1]!.toFixed(digits)})`;
};
console.log(
  `remote backend vs local: ${ROUNDS} shuffled rounds x ${OPS} sequential calls per subject`,
);
console.log(`HTTP round trips per call (get, list): ${roundTrips.toFixed(2)}`);
console.log('| backend | op | where | p50 ms | p99 ms | ops/s | added p50 ms |');
console.log('|---|---|---|---|---|---|---|');
for (const backend of ['memory', 'sqlite']) {
  for (const op of ['get', 'update']) {
    const local = results.get(`${backend} local ${op}`)!;
    const remote = results.get(`${backend} remote ${op}`)!;
    const added = remote.map((x, i) => x.p50 - local[i]!.p50);
    for (const [where, rs] of [
      ['local', local],
      ['remote', remote],
    ] as const) {
      console.log(
        `| ${backend} | ${op} | ${where} | ${fmt(
          rs.map((x) => x.p50),
          3,
        )} | ${fmt(
          rs.map((x) => x.p99),
          3,
        )} | ${fmt(
          rs.map((x) => x.opsPerSec),
          0,
        )} | ${where === 'remote' ? fmt(added, 3) : ''} |`,
      );
    }
  }
}

for (const s of subjects) await s.stores.close();
for (const s of servers) await s.close();
rmSync(dir, { recursive: true, force: true });
