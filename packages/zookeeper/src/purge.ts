import { presentEntries } from './entry-probe.js';
import { ZkOpError } from './errors.js';
import { idOfStateEntry } from './layout.js';
import type { VersionedRecord } from './record-cache.js';
import type { WriteTarget } from './write-retry.js';

/** Records purged per multi. */
const PURGE_BATCH = 50;

/**
 * Hard-deletes the soft-deleted records of one resource deleted before `before`: the
 * deleted set, the records read in one pipelined batch, then multis of {@link PURGE_BATCH}
 * records. Returns how many this call removed (another client may purge some first).
 */
export async function purgeDeleted(
  target: WriteTarget & {
    readMany(ids: readonly string[]): Promise<VersionedRecord[]>;
  },
  before: string,
): Promise<number> {
  const { client, layout, ops, cache } = target;
  const ids = ((await client.getChildren(layout.stateDir(true))) ?? []).map(idOfStateEntry);
  const found = await target.readMany(ids);
  const old = found.filter((v) => v.record.deletedAt !== null && v.record.deletedAt < before);
  let purged = 0;
  for (let i = 0; i < old.length; i += PURGE_BATCH) {
    const batch = old.slice(i, i + PURGE_BATCH);
    try {
      await client.commit(batch.flatMap((v) => ops.hardDelete(v)));
      purged += batch.length;
    } catch (err) {
      if (!(err instanceof ZkOpError)) throw err;
      // Another client purged some of them first: go one by one, counting what this call removed.
      // A record whose entries another definition made (or never made) is removed with
      // the entries it has (probed).
      for (const v of batch) {
        if (await removeOne(target, v)) purged++;
      }
    }
    for (const v of batch) cache.delete(v.record.id);
  }
  return purged;
}

/** Hard-deletes one purged record: `false` if it changed or is gone (another client purged it). */
async function removeOne(target: WriteTarget, v: VersionedRecord): Promise<boolean> {
  const { client, layout, ops } = target;
  try {
    await client.commit(ops.hardDelete(v));
    return true;
  } catch (err) {
    if (!(err instanceof ZkOpError)) throw err;
    if (err.index === undefined || err.index === 0) return false;
  }
  const present = await presentEntries(
    client,
    layout,
    v.record.id,
    ops.entryPaths(v.record, v.token),
  );
  try {
    await client.commit(ops.hardDelete(v, present));
    return true;
  } catch (err) {
    if (!(err instanceof ZkOpError)) throw err;
    return false;
  }
}
