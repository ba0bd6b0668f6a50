import { type ResourceLayout, VERSION_INDEX } from './layout.js';
import type { ZooKeeperClient } from './zookeeper-client.js';

/**
 * Removes the index value directories (and multi-field unique prefix directories) of one
 * resource that deletes left empty, so values no longer used (old hosts, released
 * instances) do not pile up in the server's memory. Best effort: a directory that gains a
 * child meanwhile stays (`NOT_EMPTY`), and a writer that finds its directory gone makes it
 * again. `purge` runs it; returns how many directories were removed.
 */
export async function sweepEmptyDirectories(
  client: ZooKeeperClient,
  layout: ResourceLayout,
): Promise<number> {
  const roots: [string, number][] = [
    ...[...layout.indexedFields, VERSION_INDEX].map((f): [string, number] => [
      `${layout.index}/${f}`,
      1,
    ]),
    ...layout.resource.unique
      .filter((u) => u.length > 1)
      .map((u): [string, number] => [`${layout.unique}/${u.join('+')}`, u.length - 1]),
  ];
  let removed = 0;
  for (const [root, depth] of roots) {
    let level = [root];
    const candidates: string[][] = [];
    for (let d = 0; d < depth; d++) {
      const children = await Promise.all(level.map((dir) => client.getChildren(dir)));
      level = level.flatMap((dir, i) => (children[i] ?? []).map((c) => `${dir}/${c}`));
      candidates.push(level);
    }
    // Deepest first, so a prefix directory emptied by this sweep goes too.
    for (const dirs of candidates.reverse()) {
      const counts = await Promise.all(dirs.map((dir) => client.countChildren(dir)));
      const empty = dirs.filter((_, i) => counts[i] === 0);
      const done = await Promise.all(empty.map((dir) => client.removeIfEmpty(dir)));
      removed += done.filter(Boolean).length;
    }
  }
  return removed;
}

/** Removes a znode and everything under it (deepest first); nothing if it is gone. */
export async function removeTree(client: ZooKeeperClient, path: string): Promise<void> {
  const children = await client.getChildren(path);
  if (children === undefined) return;
  for (let i = 0; i < children.length; i += 500) {
    await Promise.all(children.slice(i, i + 500).map((c) => removeTree(client, `${path}/${c}`)));
  }
  await client.removeIfEmpty(path);
}
