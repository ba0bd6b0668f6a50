import type { StoredRecord } from '@polystore/core/adapter';
import { ZkOpError } from './errors.js';
import type { ResourceLayout } from './layout.js';
import type { ZooKeeperClient } from './zookeeper-client.js';

/**
 * Which of a record's index and unique znodes exist, probed concurrently: an index znode
 * if it is there, a unique znode only if it is there and holds one of `ids` (one held by another
 * record is not this record's entry). Writes use it after a multi failed on an entry, so
 * a record whose entries an older or newer definition made (or never made) is still
 * updated, deleted and purged; the record znode's version check of the multi keeps the
 * answer valid (every write of a record's entries also writes the record).
 */
export async function presentEntries(
  client: ZooKeeperClient,
  layout: ResourceLayout,
  ids: string | readonly string[],
  paths: readonly string[],
): Promise<Set<string>> {
  const owners = new Set(typeof ids === 'string' ? [ids] : ids);
  const unique = `${layout.unique}/`;
  const found = await Promise.all(
    [...new Set(paths)].map(async (path) => {
      if (path.startsWith(unique)) {
        const got = await client.getData(path);
        return got && owners.has(got.data.toString('utf8')) ? path : undefined;
      }
      return (await client.countChildren(path)) === undefined ? undefined : path;
    }),
  );
  return new Set(found.filter((p): p is string => p !== undefined));
}

/**
 * Removes a unique znode whose holder no longer holds it (the record is gone, deleted, or
 * has other values: a client whose definition lacked the constraint wrote it without
 * its entries) and says whether it did; `false` if the znode is gone or rightly held.
 */
export async function releaseStaleUnique(
  client: ZooKeeperClient,
  layout: ResourceLayout,
  decode: (data: Buffer) => StoredRecord,
  path: string,
): Promise<boolean> {
  const entry = await client.getData(path);
  if (!entry) return false;
  const id = entry.data.toString('utf8');
  const holder = await client.getData(layout.record(id));
  const fields = path
    .slice(layout.unique.length + 1)
    .split('/')[0]!
    .split('+');
  if (holder) {
    const record = decode(holder.data);
    if (layout.uniqueEntries(record, [fields]).some((u) => u.path === path)) return false;
  }
  try {
    await client.multi([{ type: 'remove', path, version: entry.version }]);
    return true;
  } catch (err) {
    if (err instanceof ZkOpError) return false;
    throw err;
  }
}
