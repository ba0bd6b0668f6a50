import { randomUUID } from 'node:crypto';
import { FIXTURE, instanceValues } from '../fixture.js';

/** An instance record as a hand-written client would build it: id, timestamps, revision. */
export function rawInstance(host: string, n: number) {
  const now = new Date().toISOString();
  return {
    id: randomUUID(),
    projectId: FIXTURE.projectId,
    revision: 1,
    createdAt: now,
    updatedAt: now,
    deletedAt: null as string | null,
    objectVersion: '1.0',
    vmState: 'building',
    taskState: null as string | null,
    ...instanceValues(host, n),
  };
}

/** A stored raw instance. */
export type RawInstance = ReturnType<typeof rawInstance>;
