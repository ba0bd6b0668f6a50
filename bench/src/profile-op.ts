import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStores } from '@polystore/core';
import { BACKENDS, type BackendName } from './backend-target.js';
import { OPERATIONS, type Operation, type OpFn } from './operation.js';
import { polystoreSubject } from './polystore-subject.js';
import { TARGETS } from './targets.js';

// Where the client's time goes in one polystore (or raw) operation: runs it `--calls` times
// under the V8 CPU profiler, one at a time or `--inflight` at once (as the throughput block
// runs them), and prints self time by package and by function.
// npm run profile -w @polystore/bench -- --backend postgres --op get [--raw | --floor] [--calls 5000]
//   [--inflight 32]
const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'postgres' },
    op: { type: 'string', default: 'get' },
    calls: { type: 'string', default: '3000' },
    inflight: { type: 'string', default: '1' },
    raw: { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    save: { type: 'string' },
  },
});
const name = values.backend as BackendName;
const op = values.op as Operation;
if (!BACKENDS.includes(name) || !OPERATIONS.includes(op)) {
  console.error(`--backend one of ${BACKENDS.join(',')}; --op one of ${OPERATIONS.join(',')}`);
  process.exit(2);
}
const target = TARGETS[name];
const work = mkdtempSync(join(tmpdir(), 'polystore-profile-'));
const server = await target.start(work);
try {
  const baseline = values.floor ? target.floor : values.raw ? target.raw : undefined;
  if ((values.floor || values.raw) && baseline === undefined)
    throw new Error(`${name} has no ${values.floor ? 'floor' : 'raw driver'}`);
  const subject = baseline
    ? await baseline(server?.address, work)
    : polystoreSubject(await openStores(target.storeUrl(server?.address, work)));
  const prepare = subject.ops[op];
  if (!prepare) throw new Error(`${subject.name} has no ${op}`);
  const fn: OpFn = await prepare();
  const calls = Number(values.calls);
  const inflight = Number(values.inflight);
  if (!(Number.isInteger(inflight) && inflight >= 1)) throw new Error('--inflight: an integer ≥ 1');
  /** Makes n calls, `inflight` at a time. */
  const run = async (n: number) => {
    let started = 0;
    const worker = async () => {
      while (started < n) {
        started++;
        await fn();
      }
    };
    await Promise.all(Array.from({ length: Math.min(inflight, n) }, worker));
  };
  await run(Math.min(500, calls));
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  const t0 = performance.now();
  await run(calls);
  const elapsed = performance.now() - t0;
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();
  if (values.save) writeFileSync(values.save, JSON.stringify(profile));
  await subject.close();
  // Self time per node = its hit count × the sampling interval.
  const total = profile.samples?.length ?? 1;
  const byPackage = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    const url = node.callFrame.url;
    const pkg =
      url === ''
        ? `(${node.callFrame.functionName || 'native'})`
        : (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
          /packages\/([^/]+)\//.exec(url)?.[1]?.replace(/^/, '@polystore/') ??
          (url.startsWith('node:') ? 'node internals' : url.replace(/^.*\/bench\//, 'bench/')));
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + hits);
    const fnName = `${node.callFrame.functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|packages)\//, '')}:${node.callFrame.lineNumber + 1}`;
    byFunction.set(fnName, (byFunction.get(fnName) ?? 0) + hits);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join('\n');
  console.log(
    `${subject.name} ${name} ${op}: ${calls} calls, ${inflight} in flight, in ${elapsed.toFixed(0)} ms (${((1000 * elapsed) / calls).toFixed(1)} µs per call)`,
  );
  console.log(`self time by package:\n${top(byPackage, 12)}`);
  console.log(`self time by function:\n${top(byFunction, 25)}`);
} finally {
  await server?.stop();
  rmSync(work, { recursive: true, force: true });
}
