/**
 * How long oversized or odd input blocks the event loop before core refuses it.
 *
 * A store method validates synchronously before its first `await`, so the time the call
 * itself takes to return its (rejected) promise is the time the event loop was blocked.
 * Prints one line per input: the median and worst of several runs, and the error.
 *
 *   node --conditions=source --import tsx bench/src/refusal-bench.ts
 */
import { createContext, openStores, PolystoreError, type Stores } from '@polystore/core';

const ctx = createContext({ projectId: 'p1' });
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
const RUNS = 7;

function dict(n: number): Record<string, string> {
  const d: Record<string, string> = {};
  for (let i = 0; i < n; i++) d[`k${i}`] = 'v';
  return d;
}

function nested(depth: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < depth; i++) v = { k: v };
  return v;
}

/** An object graph of `levels` levels whose every object refers to the next one twice. */
function diamond(levels: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = { a: v, b: v };
  return v;
}

const BIG = 'x'.repeat(10_000_000);

/** Each input builds its argument outside the timed part: only the call is timed. */
const CASES: readonly [string, () => (s: Stores) => Promise<unknown>][] = [
  [
    'metadata dict, 200,000 keys (limit 128)',
    () => {
      const metadata = dict(200_000);
      return (s) => s.instances.create(ctx, { flavor: FLAVOR, metadata });
    },
  ],
  [
    'metadata dict, 100,000 keys',
    () => {
      const metadata = dict(100_000);
      return (s) => s.instances.create(ctx, { flavor: FLAVOR, metadata });
    },
  ],
  [
    'metadata dict, 50,000 keys',
    () => {
      const metadata = dict(50_000);
      return (s) => s.instances.create(ctx, { flavor: FLAVOR, metadata });
    },
  ],
  [
    'metadata dict, 129 keys',
    () => {
      const metadata = dict(129);
      return (s) => s.instances.create(ctx, { flavor: FLAVOR, metadata });
    },
  ],
  [
    'displayName, 10 MB string (limit 255)',
    () => (s) => s.instances.create(ctx, { flavor: FLAVOR, displayName: BIG }),
  ],
  [
    'metadata value, 10 MB string',
    () => (s) => s.instances.create(ctx, { flavor: FLAVOR, metadata: { k: BIG } }),
  ],
  [
    'where.displayName, 10 MB string',
    () => (s) => s.instances.list(ctx, { where: { displayName: BIG } }),
  ],
  [
    'update patch, 10 MB string',
    () => (s) =>
      s.instances.update(ctx, '0190a5d2-7c3e-7000-8000-000000000001', { displayName: BIG }),
  ],
  [
    'metadata value nested 100,000 levels',
    () => {
      const deep = nested(100_000);
      return (s) => s.instances.create(ctx, { flavor: FLAVOR, metadata: { k: deep as string } });
    },
  ],
  [
    'where nested 100,000 levels',
    () => {
      const deep = nested(100_000);
      return (s) => s.instances.count(ctx, { displayName: deep as string });
    },
  ],
  [
    'shared-reference graph, 2^40 paths',
    () => {
      const graph = diamond(40);
      return (s) => s.instances.create(ctx, { flavor: FLAVOR, metadata: graph as never });
    },
  ],
  [
    'dnsServers list, 1,000,000 entries (limit 8)',
    () => {
      const dnsServers = new Array(1_000_000).fill('10.0.0.1');
      return (s) => s.networks.create(ctx, { label: 'n', cidr: '10.0.0.0/24', dnsServers });
    },
  ],
  [
    'getMany, 1,000,000 ids (limit 1000)',
    () => {
      const ids = new Array(1_000_000).fill('0190a5d2-7c3e-7000-8000-000000000001');
      return (s) => s.instances.getMany(ctx, ids);
    },
  ],
  [
    'where in, 1,000,000 values (limit 1000)',
    () => {
      const values = new Array(1_000_000).fill('active');
      return (s) => s.instances.list(ctx, { where: { vmState: { in: values } } });
    },
  ],
  ['after, 10 MB cursor', () => (s) => s.instances.list(ctx, { after: BIG })],
];

async function main(): Promise<void> {
  const stores = await openStores('memory:');
  console.log('input'.padEnd(48), 'median ms', ' worst ms', '  error');
  for (const [name, build] of CASES) {
    const times: number[] = [];
    let outcome = '';
    for (let i = 0; i < RUNS; i++) {
      const call = build();
      const t0 = performance.now();
      const p = call(stores);
      times.push(performance.now() - t0);
      outcome = await p.then(
        () => 'ACCEPTED',
        (e: unknown) =>
          e instanceof PolystoreError ? `${e.name}: ${e.message.slice(0, 70)}` : `UNTYPED ${e}`,
      );
    }
    times.sort((a, b) => a - b);
    const median = times[RUNS >> 1]!;
    const worst = times[RUNS - 1]!;
    console.log(
      name.padEnd(48),
      median.toFixed(2).padStart(9),
      worst.toFixed(2).padStart(9),
      ' ',
      outcome,
    );
  }
  // The floor: V8 has no O(1) count of an object's keys, so refusing a huge dict costs at
  // least one Object.keys over it. Measured here beside the refusals, under the same load.
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const d = dict(200_000);
    const t0 = performance.now();
    Object.keys(d);
    floor.push(performance.now() - t0);
  }
  floor.sort((a, b) => a - b);
  console.log(
    'floor: Object.keys of a 200,000-key object'.padEnd(48),
    floor[RUNS >> 1]!.toFixed(2).padStart(9),
    floor[RUNS - 1]!.toFixed(2).padStart(9),
  );
  await stores.close();
}

await main();
