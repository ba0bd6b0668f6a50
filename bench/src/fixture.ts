/** The shape of the benchmark's data, the same for polystore, raw drivers and peers. */
export const FIXTURE = Object.freeze({
  /** The project every benchmark record belongs to. */
  projectId: 'bench',
  /** Records `get` cycles through. */
  readRecords: 128,
  /** Records the updates use; more than the 32 in flight so none ever conflicts. */
  updateRecords: 64,
  /** Records matching the list/count filter (`host = 'hot'`): more than a page. */
  hotRecords: 60,
  /** The host of the records `list` and `count` match. */
  hotHost: 'hot',
  /** The host of every other record. */
  coldHost: 'cold',
  /** The list page size. */
  pageSize: 50,
  /** The flavor of every instance. */
  flavor: Object.freeze({ vcpus: 2, memoryMb: 2048, rootGb: 20 }),
  /** The range allocations come from; a /12 never runs out during a run. */
  cidr: '10.0.0.0/12',
});

/** The values of a benchmark instance. */
export function instanceValues(host: string, n: number) {
  return {
    displayName: `vm-${n}`,
    hostname: `vm-${n}`,
    host,
    flavor: { ...FIXTURE.flavor },
    metadata: { role: 'bench' },
  };
}
