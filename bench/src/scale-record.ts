import { uuidv7Generator } from '@polystore/core';
import type { StoredRecord } from '@polystore/core/adapter';
import { FIXTURE } from './fixture.js';

/** The project of the scale test's records. */
export const SCALE_PROJECT = 'scale';
/** The host the scale test filters on; a fixed number of records have it at every size. */
export const SCALE_HOT = 'scale-hot';
/** Cold records spread over this many hosts. */
export const SCALE_COLD_HOSTS = 1000;

/** The host of the `n`-th scale record (0-based). */
export function scaleHost(n: number, hot: number): string {
  return n < hot ? SCALE_HOT : `scale-cold-${n % SCALE_COLD_HOSTS}`;
}

/** A stored instance record as core would hand it to an adapter's `insert`. */
export function scaleRecord(n: number, hot: number): StoredRecord {
  const now = new Date().toISOString();
  return {
    id: uuidv7Generator(),
    projectId: SCALE_PROJECT,
    revision: 1,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
    objectVersion: '1.0',
    displayName: `vm-${n}`,
    hostname: `vm-${n}`,
    host: scaleHost(n, hot),
    vmState: 'building',
    taskState: null,
    flavor: { ...FIXTURE.flavor },
    metadata: {},
  } as StoredRecord;
}
