/**
 * The cost of versioned objects: `toPrimitive`, `fromPrimitive`, a backport across three
 * versions, and `save()` against the plain store `update` it wraps (memory and
 * PostgreSQL on a harness server); and the two ways of tracking changes (snapshot diff,
 * copy-on-write proxies) on 1,000-field-change workloads.
 *
 * Subjects of one comparison alternate in a shuffled order every round (at least 5
 * rounds), so drift in the machine's load hits all of them alike; each figure is the
 * median per operation with the spread (min..max) of the round medians.
 *
 *   npm run objects -w @polystore/bench -- [--rounds 7] [--backends memory,postgres]
 */
import { parseArgs } from 'node:util';
import {
  createContext,
  defineObject,
  defineResource,
  f,
  instanceResource,
  ObjectRegistry,
  openStores,
  type Stores,
} from '@polystore/core';
import { deepCopy, deepEqual } from '@polystore/core/adapter';
import { startPostgres } from '@polystore/testing';
import { median, shuffled } from './rounds.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    backends: { type: 'string', default: 'memory,postgres' },
  },
});
const ROUNDS = Math.max(5, Number(args.rounds));
const BACKENDS = args.backends.split(',');
const ctx = createContext({ projectId: 'bench' });

/** One subject: runs `ops` operations and returns each one's latency in ms (or one batch time). */
interface Subject {
  readonly name: string;
  /** Runs one round of `ops` operations; returns per-operation latencies in ms. */
  run(ops: number): Promise<number[]>;
}

interface Figure {
  readonly name: string;
  /** Median per-operation latency over all rounds, in µs. */
  readonly p50: number;
  /** Min and max of the round medians, in µs. */
  readonly spread: readonly [number, number];
}

async function compare(subjects: readonly Subject[], ops: number): Promise<Figure[]> {
  const all = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  const rounds = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  for (const s of subjects) await s.run(Math.max(10, ops >> 3)); // warm-up, not counted
  for (let r = 0; r < ROUNDS; r++) {
    for (const s of shuffled(subjects)) {
      const lat = await s.run(ops);
      const pool = all.get(s.name)!;
      for (const v of lat) pool.push(v); // a spread of this many samples overflows the stack
      rounds.get(s.name)!.push(median(lat));
    }
  }
  return subjects.map((s) => {
    const meds = rounds.get(s.name)!;
    return {
      name: s.name,
      p50: median(all.get(s.name)!) * 1000,
      spread: [Math.min(...meds) * 1000, Math.max(...meds) * 1000] as const,
    };
  });
}

/** A synchronous operation timed in batches of 50 (one call is below the timer's resolution). */
function syncSubject(name: string, op: () => void): Subject {
  return {
    name,
    async run(ops) {
      const out: number[] = [];
      for (let i = 0; i < ops; i += 50) {
        const t = performance.now();
        for (let k = 0; k < 50; k++) op();
        out.push((performance.now() - t) / 50);
      }
      return out;
    },
  };
}

const fmt = (us: number) => (us < 10 ? us.toFixed(2) : us < 100 ? us.toFixed(1) : us.toFixed(0));
function print(title: string, figures: readonly Figure[], base?: string): void {
  console.log(`\n### ${title}\n`);
  console.log('| subject | p50 µs/op | spread of round medians µs | vs base |');
  console.log('|---|---:|---:|---:|');
  const b = figures.find((x) => x.name === base);
  for (const x of figures) {
    const rel = b && x !== b ? `${(((x.p50 - b.p50) / b.p50) * 100).toFixed(1)}%` : '';
    console.log(
      `| ${x.name} | ${fmt(x.p50)} | ${fmt(x.spread[0])}..${fmt(x.spread[1])} | ${rel} |`,
    );
  }
}

// --- Wire form -----------------------------------------------------------------------------

/** A resource four versions deep, so a backport crosses three of them. */
const gadget = defineResource({
  name: 'gadget',
  plural: 'gadgets',
  scope: 'project',
  softDelete: false,
  version: '1.3',
  history: {
    '1.0': 'initial version',
    '1.1': { note: 'added size', up: { size: (r) => String(r.label).length } },
    '1.2': 'added tags',
    '1.3': {
      note: 'added state retired',
      enumValues: { state: { added: ['retired'], down: { retired: 'stopped' } } },
    },
  },
  fields: {
    label: f.string(),
    state: f.enum(['active', 'stopped', 'retired']).default('active'),
    flavor: f.object({ vcpus: f.int(), memoryMb: f.int(), rootGb: f.int() }),
    metadata: f.dict(f.string()).default({}),
    size: f.int().addedIn('1.1'),
    tags: f.list(f.string()).default([]).addedIn('1.2'),
  },
});

async function wireForm(): Promise<void> {
  const Gadget = defineObject(gadget, { namespace: 'bench' });
  const registry = new ObjectRegistry().register(Gadget);
  const stores = await openStores('memory:', { resources: [gadget] });
  const g = await Gadget.create(ctx, stores, {
    label: 'web-1',
    state: 'retired',
    flavor: { vcpus: 2, memoryMb: 2048, rootGb: 20 },
    metadata: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, `v${i}`])),
    size: 5,
    tags: ['a', 'b'],
  });
  g.metadata.k0 = 'changed';
  const current = g.toPrimitive();
  const old = JSON.parse(JSON.stringify(g.toPrimitive('1.0')));
  const figures = await compare(
    [
      syncSubject('toPrimitive (1.3)', () => g.toPrimitive()),
      syncSubject('fromPrimitive (1.3)', () => registry.fromPrimitive(current)),
      syncSubject('toPrimitive backport 1.3 -> 1.0', () => g.toPrimitive('1.0')),
      syncSubject('fromPrimitive upgrade 1.0 -> 1.3', () => registry.fromPrimitive(old)),
      syncSubject('JSON round trip of the record (reference)', () =>
        JSON.parse(JSON.stringify(g.toRecord())),
      ),
    ],
    5000,
  );
  print('Wire form (a 6-field object with a nested object and an 8-key dict)', figures);
  await stores.close();
}

// --- save() against update -----------------------------------------------------------------

const Instance = defineObject(instanceResource, { namespace: 'bench' });

async function saveOverhead(backend: string, stores: Stores, ops: number): Promise<void> {
  const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };
  const metadata = { owner: 'bench', tier: 'web' };
  const plain = await stores.instances.create(ctx, { displayName: 'plain', flavor, metadata });
  let plainRevision = plain.revision;
  const obj = await Instance.create(ctx, stores, { displayName: 'object', flavor, metadata });
  let n = 0;
  const figures = await compare(
    [
      {
        name: 'store update (expectedRevision)',
        async run(count) {
          const out: number[] = [];
          for (let i = 0; i < count; i++) {
            const t = performance.now();
            const rec = await stores.instances.update(
              ctx,
              plain.id,
              { displayName: `p${n++}` },
              { expectedRevision: plainRevision },
            );
            out.push(performance.now() - t);
            plainRevision = rec.revision;
          }
          return out;
        },
      },
      {
        name: 'object set + save()',
        async run(count) {
          const out: number[] = [];
          for (let i = 0; i < count; i++) {
            const t = performance.now();
            obj.displayName = `o${n++}`;
            await obj.save(ctx, stores);
            out.push(performance.now() - t);
          }
          return out;
        },
      },
    ],
    ops,
  );
  print(`save() vs store update on ${backend}`, figures, 'store update (expectedRevision)');
}

// --- Change tracking: snapshot diff vs copy-on-write proxies --------------------------------

/** The alternative not taken: nested proxies that mark their top-level field on any write. */
function proxyTracked(values: Record<string, unknown>): {
  values: Record<string, unknown>;
  changed: Set<string>;
} {
  const changed = new Set<string>();
  const wrap = (field: string, v: unknown): unknown => {
    if (typeof v !== 'object' || v === null) return v;
    return new Proxy(v as object, {
      get: (t, p, r) => wrap(field, Reflect.get(t, p, r)),
      set: (t, p, val) => {
        changed.add(field);
        return Reflect.set(t, p, val);
      },
      deleteProperty: (t, p) => {
        changed.add(field);
        return Reflect.deleteProperty(t, p);
      },
    });
  };
  const copy = deepCopy(values);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(copy)) {
    Object.defineProperty(out, k, {
      get: () => wrap(k, copy[k]),
      set: (v) => {
        changed.add(k);
        copy[k] = v;
      },
      enumerable: true,
    });
  }
  return { values: out, changed };
}

async function changeTracking(): Promise<void> {
  const record = {
    metadata: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, `v${i}`])),
    flavor: { vcpus: 1, memoryMb: 1, rootGb: 1 },
    tags: Array.from({ length: 100 }, (_, i) => `t${i}`),
  };
  const editsSnapshot = () => {
    const base = record;
    const values = deepCopy(record);
    const md = values.metadata as Record<string, string>;
    for (let i = 0; i < 1000; i++) md[`k${i}`] = `w${i}`;
    return Object.keys(values).filter(
      (k) => !deepEqual(values[k as keyof typeof values], base[k as keyof typeof base]),
    );
  };
  const editsProxy = () => {
    const t = proxyTracked(record);
    const md = t.values.metadata as Record<string, string>;
    for (let i = 0; i < 1000; i++) md[`k${i}`] = `w${i}`;
    return [...t.changed];
  };
  const readsSnapshot = () => {
    const values = deepCopy(record);
    let s = 0;
    for (let i = 0; i < 1000; i++) s += (values.metadata[`k${i}`] as string).length;
    return s;
  };
  const readsProxy = () => {
    const t = proxyTracked(record);
    let s = 0;
    for (let i = 0; i < 1000; i++)
      s += ((t.values.metadata as Record<string, string>)[`k${i}`] as string).length;
    return s;
  };
  const one = (name: string, op: () => unknown): Subject => ({
    name,
    async run(ops) {
      const out: number[] = [];
      for (let i = 0; i < ops; i++) {
        const t = performance.now();
        op();
        out.push(performance.now() - t);
      }
      return out;
    },
  });
  const figures = await compare(
    [
      one('snapshot diff: load, 1,000 nested edits, changedFields', editsSnapshot),
      one('COW proxies: load, 1,000 nested edits, changedFields', editsProxy),
      one('snapshot diff: load, 1,000 nested reads', readsSnapshot),
      one('COW proxies: load, 1,000 nested reads', readsProxy),
    ],
    200,
  );
  print('Change tracking on a 1,000-key dict (per workload)', figures);
}

// --- main -------------------------------------------------------------------------------

console.log(
  `# objects benchmark (${new Date().toISOString()}, node ${process.version}, ${ROUNDS} shuffled rounds)`,
);
await wireForm();
await changeTracking();
if (BACKENDS.includes('memory')) {
  const stores = await openStores('memory:');
  await saveOverhead('memory', stores, 2000);
  await stores.close();
}
if (BACKENDS.includes('postgres')) {
  const pg = await startPostgres({ fast: true });
  try {
    const stores = await openStores(await pg.createDatabase('objects_bench'));
    await saveOverhead('PostgreSQL (harness server, fsync off)', stores, 300);
    await stores.close();
  } finally {
    await pg.stop();
  }
}
