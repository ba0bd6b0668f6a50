import type { ResourceDriver } from '@polystore/core/adapter';
import { admin, at } from '@polystore/testing/evolution-fixtures';
import type { Collection } from 'mongodb';
import { expect } from 'vitest';
import type { StoredDocument } from '../src/layout.js';

// What the schema-step race tests share (expand's markers, contract's dropped values): 1.0
// clients that update labels and soft-delete records without pause while a step runs, and
// the check that no write they were told of was lost.

/** Concurrent writers, each on its own share of the records. */
const WRITERS = 3;
/** Every how many writes of a writer one is a soft delete. */
const DELETE_EVERY = 9;

/** What a client was told it stored: the last acknowledged label, and whether it deleted the record. */
export interface Acked {
  label: string;
  deleted: boolean;
}

/**
 * Runs `step` while {@link WRITERS} writers update and soft-delete the records `acked`
 * describes (labels `<id>.<n>`) through `driver`, keeping `acked` to what each was told.
 * Returns how many writes overlapped the step (begun before it ended, acknowledged after
 * it began).
 */
export async function writeDuring(
  driver: ResourceDriver,
  acked: Map<string, Acked>,
  step: () => Promise<void>,
): Promise<number> {
  let stepFrom = Number.POSITIVE_INFINITY;
  let stepTo = Number.POSITIVE_INFINITY;
  let stop = false;
  let during = 0;
  const writer = async (w: number) => {
    const mine = [...acked.keys()].filter((_, i) => i % WRITERS === w);
    for (let n = 1; !stop; n++) {
      const live = mine.filter((id) => !acked.get(id)!.deleted);
      if (live.length === 0) return;
      const id = live[n % live.length]!;
      const started = performance.now();
      if (n % DELETE_EVERY === 0) {
        const out = await driver.delete(admin, id, { soft: true, at, expectedRevision: undefined });
        expect(out.status).toBe('ok');
        acked.set(id, { ...acked.get(id)!, deleted: true });
      } else {
        const label = `${id}.${n}`;
        const out = await driver.update(admin, id, {
          set: { label },
          updatedAt: at,
          objectVersion: '1.0',
          expectedRevision: undefined,
          expected: undefined,
        });
        expect(out.status).toBe('ok');
        acked.set(id, { ...acked.get(id)!, label });
      }
      if (started < stepTo && performance.now() > stepFrom) during++;
    }
  };
  const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
  try {
    stepFrom = performance.now();
    await step();
    stepTo = performance.now();
  } finally {
    stop = true;
    await Promise.all(writers);
  }
  return during;
}

/** The stored documents, with the acknowledged writes each lost (label or deletion). */
export async function lostWrites(
  docs: Collection<StoredDocument>,
  acked: ReadonlyMap<string, Acked>,
): Promise<{ stored: StoredDocument[]; lost: string[] }> {
  const stored = await docs.find().sort({ _id: 1 }).toArray();
  const lost: string[] = [];
  for (const d of stored) {
    const want = acked.get(d._id)!;
    const deleted = d.deletedAt !== null;
    if (d.label !== want.label || deleted !== want.deleted)
      lost.push(
        `${d._id}: acknowledged ${want.label}${want.deleted ? ' (deleted)' : ''}, ` +
          `stored ${d.label}${deleted ? ' (deleted)' : ''}`,
      );
  }
  return { stored, lost };
}
