/**
 * What core's own work costs per call, with no backend: validating a create and an update
 * patch of an instance, building the frozen public record from a stored one (`finish`),
 * freezing a fresh record, and the record size check of a create. Each subject runs in
 * rounds of a fixed number of calls, subjects in a new random order each round; the figure
 * is the median of the round means, in µs per call. Run: `npm run core -w @polystore/bench`.
 */
import { createContext, instanceResource, ManualClock, sequentialIds } from '@polystore/core';
import {
  deepFreeze,
  defineCapabilities,
  type ResourceDriver,
  type StoredRecord,
  validateCreate,
  validatePatch,
} from '@polystore/core/adapter';
// The kernel is core's internals, not its public surface: the bench reaches in on purpose.
import { StoreKernel } from '../../packages/core/src/resource-store.js';
import { median, shuffled } from './rounds.js';

const ROUNDS = Number(process.env.CORE_BENCH_ROUNDS ?? 9);
const CALLS = Number(process.env.CORE_BENCH_CALLS ?? 20_000);

/** A typical create input: every field set, a few metadata entries. */
const createInput = {
  displayName: 'web-01',
  hostname: 'web-01',
  host: 'compute-7',
  vmState: 'active',
  taskState: null,
  flavor: { vcpus: 4, memoryMb: 8192, rootGb: 40 },
  metadata: { role: 'web', tier: 'frontend', owner: 'team-a' },
};
const patchInput = { vmState: 'stopped', taskState: 'powering-off', metadata: { role: 'db' } };

/** A stored instance as a driver hands it back (a fresh object per read). */
function storedRecord(): StoredRecord {
  return {
    id: '0190f1a2-0000-7000-8000-000000000001',
    projectId: 'p1',
    displayName: 'web-01',
    hostname: 'web-01',
    host: 'compute-7',
    vmState: 'active',
    taskState: null,
    flavor: { rootGb: 40, vcpus: 4, memoryMb: 8192 },
    metadata: { tier: 'frontend', role: 'web', owner: 'team-a' },
    revision: 3,
    createdAt: '2026-01-02T03:04:05.678Z',
    updatedAt: '2026-01-02T03:04:06.000Z',
    deletedAt: null,
    objectVersion: '1.0',
  };
}

const kernel = new StoreKernel(instanceResource, {} as ResourceDriver, {
  clock: new ManualClock(Date.parse('2026-01-02T03:04:05.678Z')),
  ids: sequentialIds(),
  capabilities: defineCapabilities({
    maxRecordBytes: 256 * 1024,
    reads: 'linearizable',
    serverSideQueries: true,
    features: {},
  }),
});
const ctx = createContext({ projectId: 'p1', userId: 'u1' });
const record = kernel.prepareCreate(ctx, createInput);
// Fresh inputs for the calls that consume their argument (freezing), made outside the timing.
const fresh = (): StoredRecord[] => Array.from({ length: CALLS }, storedRecord);

interface Subject {
  readonly name: string;
  /** Makes what one round's calls take, outside the timed part. */
  readonly setup: () => StoredRecord[] | undefined;
  readonly call: (i: number, inputs: StoredRecord[] | undefined) => unknown;
}

const subjects: Subject[] = [
  {
    name: 'validateCreate',
    setup: () => undefined,
    call: () => validateCreate(instanceResource, createInput),
  },
  {
    name: 'validatePatch',
    setup: () => undefined,
    call: () => validatePatch(instanceResource, patchInput),
  },
  { name: 'finish', setup: fresh, call: (i, rs) => kernel.finish(rs![i]!) },
  { name: 'deepFreeze', setup: fresh, call: (i, rs) => deepFreeze(rs![i]!) },
  { name: 'checkSize', setup: () => undefined, call: () => kernel.checkSize(record) },
  {
    name: 'prepareCreate',
    setup: () => undefined,
    call: () => kernel.prepareCreate(ctx, createInput),
  },
];

const perCall = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
let sink: unknown;
// The first round warms the JIT and is not counted.
for (let round = 0; round <= ROUNDS; round++) {
  for (const s of shuffled(subjects)) {
    const inputs = s.setup();
    const start = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) sink = s.call(i, inputs);
    const ns = Number(process.hrtime.bigint() - start);
    if (round > 0) perCall.get(s.name)!.push(ns / CALLS / 1000);
  }
}
if (sink === Symbol.for('never')) console.info(sink);

console.info(`| core, instance resource | µs per call (median of ${ROUNDS} rounds × ${CALLS}) |`);
console.info('|---|---|');
for (const s of subjects)
  console.info(`| ${s.name} | ${median(perCall.get(s.name)!).toFixed(2)} |`);
