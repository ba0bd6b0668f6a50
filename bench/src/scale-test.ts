import { join } from 'node:path';
import { createContext, defaultRegistry } from '@polystore/core';
import { type Backend, createStores, parseStoreUrl } from '@polystore/core/adapter';
import type { BackendName } from './backend-target.js';
import type { BenchConfig } from './bench-config.js';
import { type Latency, measureRounds, type Outcome, reasonOf } from './measure.js';
import {
  driverLoader,
  postgresLoader,
  redisLoader,
  type ScaleLoader,
  sqliteLoader,
} from './scale-loader.js';
import { SCALE_HOT, SCALE_PROJECT } from './scale-record.js';

/** How long one call takes, in ms. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** list and count at one size. */
export interface ScalePoint {
  readonly records: number;
  readonly list: Outcome<Latency>;
  readonly count: Outcome<Latency>;
}

/** The scale test of one backend. */
export interface ScaleResult {
  /** How the records were loaded. */
  readonly method: string;
  /** The large size asked for. */
  readonly target: number;
  /** Records matching the filter at every size. */
  readonly matching: number;
  readonly points: readonly ScalePoint[];
  /** Seconds spent loading. */
  readonly loadSeconds: number;
  /** Why it stopped early or failed, if it did. */
  readonly note?: string;
}

async function openBackend(url: string): Promise<Backend> {
  const parsed = parseStoreUrl(url);
  const adapter = await defaultRegistry.resolve(parsed.protocol.slice(0, -1));
  return adapter.open(parsed, {});
}

function loaderFor(name: BackendName, backend: Backend, url: string, hot: number): ScaleLoader {
  if (name === 'postgres') return postgresLoader(backend, url, hot);
  if (name === 'sqlite') return sqliteLoader(backend, parseStoreUrl(url).pathname, hot);
  if (name === 'redis') return redisLoader(backend, url, hot);
  // A ZooKeeper multi is heavier for the server (a JVM with a small heap): fewer in flight.
  return driverLoader(backend, hot, name === 'memory' ? 1 : name === 'zookeeper' ? 32 : 128);
}

/**
 * `list` (a page of 50 with an indexed filter) and `count` at the small and the large size,
 * on a namespace of their own (`url`), with the same number of matching records at each
 * size: the ratio shows whether the filter is served by an index.
 */
export async function scaleTest(
  name: BackendName,
  url: string,
  config: BenchConfig,
  log: (line: string) => void,
): Promise<ScaleResult> {
  const backend = await openBackend(url);
  const stores = createStores(backend);
  const hot = config.scaleHot;
  const loader = loaderFor(name, backend, url, hot);
  const ctx = createContext({ projectId: SCALE_PROJECT, userId: 'bench' });
  const points: ScalePoint[] = [];
  const target = config.scaleLarge[name];
  const started = performance.now();
  let loadMs = 0;
  let loaded = 0;
  let note: string | undefined;
  const listPage = () => stores.instances.list(ctx, { where: { host: SCALE_HOT }, limit: 50 });
  const measureAt = async () => {
    await loader.settle();
    // Latency only, in the run's rounds of shuffled blocks sharing the scale time budget: a
    // point is the median of its rounds, not one block that a burst of load can skew.
    const { latency: m } = await measureRounds(
      [
        {
          name: 'list',
          fn: async () => {
            const page = await stores.instances.list(ctx, {
              where: { host: SCALE_HOT },
              limit: 50,
            });
            if (page.items.length !== 50)
              throw new Error(`list returned ${page.items.length}, not 50`);
          },
        },
        {
          name: 'count',
          fn: async () => {
            const n = await stores.instances.count(ctx, { host: SCALE_HOT });
            if (n !== hot) throw new Error(`count returned ${n}, not ${hot}`);
          },
        },
      ],
      {
        ...config.measure,
        timeMs: Math.max(20, Math.round(config.scaleTimeMs / config.measure.rounds)),
        minIterations: 3,
        latencyOnly: true,
      },
    );
    points.push({
      records: loaded,
      list: m.get('list') ?? { ok: false, reason: 'not run' },
      count: m.get('count') ?? { ok: false, reason: 'not run' },
    });
    log(`  scale ${name}: ${loaded} records measured`);
  };
  try {
    for (const size of [config.scaleSmall, target]) {
      while (loaded < size) {
        if (size === target) {
          if (performance.now() - started > config.scaleLoadBudgetMs) {
            note = `load budget of ${config.scaleLoadBudgetMs / 1000} s reached at ${loaded} records`;
            break;
          }
          // Two list calls as a probe (the faster counts: one can hit a GC pause): where it
          // already scans, the measurement at the next size would run for minutes. Growing
          // at least one step past the small size keeps a ratio to report.
          const probe = Math.min(await timed(listPage), await timed(listPage));
          if (loaded > config.scaleSmall && probe > config.scaleProbeLimitMs) {
            note = `loading stopped at ${loaded} records: one list call took ${Math.round(probe)} ms (a scan)`;
            break;
          }
        }
        const to = Math.min(size, loaded + loader.step);
        const t0 = performance.now();
        await loader.load(loaded, to);
        loadMs += performance.now() - t0;
        loaded = to;
      }
      log(`  scale ${name}: loaded ${loaded} records in ${(loadMs / 1000).toFixed(1)} s`);
      if (points.at(-1)?.records !== loaded) await measureAt();
    }
  } catch (err) {
    note = `failed at ${loaded} records: ${reasonOf(err)}`;
  } finally {
    await loader.close().catch(() => {});
    await stores.close().catch(() => {});
  }
  return {
    method: loader.method,
    target,
    matching: hot,
    points,
    loadSeconds: Math.round(loadMs / 100) / 10,
    ...(note === undefined ? {} : { note }),
  };
}

/** The scale test's own namespace on a backend. */
export function scaleUrl(name: BackendName, storeUrl: string, workDir: string): string {
  switch (name) {
    case 'sqlite':
      return `sqlite:${join(workDir, 'scale.db')}`;
    case 'postgres':
      return storeUrl.replace(/\/bench$/, '/bench_scale');
    case 'redis':
      return `${storeUrl}?namespace=scale`;
    case 'zookeeper':
      return storeUrl.replace(/\/bench$/, '/bench_scale');
    case 'mongo':
      return storeUrl.replace('/bench?', '/bench_scale?');
    default:
      return storeUrl;
  }
}
