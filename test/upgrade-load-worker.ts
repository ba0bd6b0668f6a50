/**
 * One service process of `live-upgrade.test.ts`: joins the fleet on a store as a client of
 * one widget release and makes random store calls ({@link runLoadClient}), logging each
 * call as a JSON line, until it gets SIGTERM (or SIGINT) or its stop file appears; then it
 * leaves the fleet and exits 0. A failure to join or to log exits 1 with the error on stderr.
 *
 * Run with
 * `node --conditions=source --import tsx test/upgrade-load-worker.ts --url <store> --release L|M|N
 *  --client <name> --log <file> --stop-file <file> --shared <file of ids> --seed <n>
 *  [--heartbeat-ms 200] [--lease-ms 10000] [--rate 100] [--max-creates 100] [--wait-for-go]`; with `--wait-for-go` it
 * loads its code and waits for a line on stdin before it joins.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { defaultRegistry } from '@polystore/core';
import { runLoadClient } from './upgrade/load-client.js';
import type { LoadWorkerArgs } from './upgrade/load-fleet.js';

/** The arguments `workerArgs` (in `upgrade/load-fleet.ts`) built. */
function parse(argv: readonly string[]): LoadWorkerArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      release: { type: 'string' },
      client: { type: 'string' },
      log: { type: 'string' },
      'stop-file': { type: 'string' },
      shared: { type: 'string' },
      seed: { type: 'string' },
      'heartbeat-ms': { type: 'string', default: '200' },
      'lease-ms': { type: 'string', default: '10000' },
      rate: { type: 'string', default: '100' },
      'max-creates': { type: 'string', default: '100' },
      'wait-for-go': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const need = (name: Exclude<keyof typeof values, 'wait-for-go'>): string => {
    const v = values[name];
    if (v === undefined) throw new Error(`upgrade-load-worker: --${name} is required`);
    return v;
  };
  const int = (name: Exclude<keyof typeof values, 'wait-for-go'>): number => {
    const n = Number(need(name));
    if (!Number.isSafeInteger(n))
      throw new Error(`upgrade-load-worker: --${name} must be an integer`);
    return n;
  };
  const release = need('release');
  if (release !== 'L' && release !== 'M' && release !== 'N')
    throw new Error(`upgrade-load-worker: --release must be L, M or N, not ${release}`);
  return {
    url: need('url'),
    release,
    client: need('client'),
    log: need('log'),
    stopFile: need('stop-file'),
    shared: need('shared'),
    seed: int('seed'),
    heartbeatMs: int('heartbeat-ms'),
    leaseMs: int('lease-ms'),
    rate: int('rate'),
    maxCreates: int('max-creates'),
    waitForGo: values['wait-for-go'] === true,
  };
}

/** Resolves at the first line on stdin (`go`), or rejects when stdin ends without one. */
async function goSignal(): Promise<void> {
  for await (const _line of createInterface({ input: process.stdin })) return;
  throw new Error('upgrade-load-worker: stdin closed before go');
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  process.once('SIGINT', () => stop.abort());
  // The stop file is looked for between calls too, so a stop needs no signal support.
  const watch = setInterval(() => {
    if (existsSync(args.stopFile)) stop.abort();
  }, 50);
  watch.unref();
  if (args.waitForGo) {
    // Import the store's adapter meanwhile, so joining after go is quick.
    await Promise.all([
      goSignal(),
      defaultRegistry.resolve(new URL(args.url).protocol.slice(0, -1)),
    ]);
  }
  const shared = JSON.parse(readFileSync(args.shared, 'utf8')) as string[];
  const summary = await runLoadClient({
    target: args.url,
    release: args.release,
    client: args.client,
    shared,
    log: args.log,
    seed: args.seed,
    heartbeatMs: args.heartbeatMs,
    leaseMs: args.leaseMs,
    maxCallsPerSecond: args.rate,
    maxCreates: args.maxCreates,
    signal: stop.signal,
  });
  clearInterval(watch);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`upgrade load worker failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
