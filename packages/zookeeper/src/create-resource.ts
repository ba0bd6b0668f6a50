import { ConfigError } from '@polystore/core';
import { elementsOf } from '@polystore/core/adapter';
import { encodeElements } from './applied-elements.js';
import { ZK, ZkOpError } from './errors.js';
import type { ResourceLayout } from './layout.js';
import type { ZkOp, ZooKeeperClient } from './zookeeper-client.js';

/**
 * Makes a resource the store does not have: its fixed znodes and then its schema znode,
 * recording the elements of `layout`'s definition, in one multi. When another client made
 * the resource meanwhile, nothing is added; when a root without a schema znode is there
 * (left by a client that made the directories one by one), the missing znodes are added.
 * Returns whether the schema znode exists now (`false` only if it is gone again).
 * Refuses with `ConfigError` a resource an older polystore stored under its singular
 * name (`<chroot>/instance` rather than `<chroot>/instances`), rather than make it empty.
 */
export async function createResource(
  client: ZooKeeperClient,
  chroot: string,
  layout: ResourceLayout,
): Promise<boolean> {
  const { name, plural } = layout.resource;
  const legacy = `${chroot}/${name}`;
  if (name !== plural && (await client.countChildren(legacy)) !== undefined) {
    throw new ConfigError(
      `zookeeper: ${name} is stored under ${legacy}, the path of an older polystore; this one names it by the plural (${layout.root}). Copy every znode under ${legacy} to the same path under ${layout.root} (no znode's data holds a path), remove ${legacy}, then open again`,
    );
  }
  const dirs = withParents(layout);
  const schema = encodeElements(elementsOf(layout.resource));
  try {
    await client.multi([
      ...dirs.map((path): ZkOp => ({ type: 'create', path })),
      { type: 'create', path: layout.schema, data: schema },
    ]);
    return true;
  } catch (err) {
    if (!(err instanceof ZkOpError && err.code === ZK.NODE_EXISTS)) throw err;
  }
  if (await client.getData(layout.schema)) return true;
  // Parents first: each depth is one round of concurrent creates (an existing one is fine).
  for (const depth of [...new Set(dirs.map(depthOf))].sort((a, b) => a - b)) {
    await Promise.all(dirs.filter((d) => depthOf(d) === depth).map((d) => client.create(d)));
  }
  await client.create(layout.schema, schema);
  return (await client.getData(layout.schema)) !== undefined;
}

/** A layout's fixed znodes with their parents up to its root, parents first. */
export function withParents(layout: ResourceLayout): string[] {
  const out = new Set<string>();
  for (const path of layout.staticPaths()) {
    const parts = path.split('/');
    for (let i = depthOf(layout.root); i <= parts.length; i++) out.add(parts.slice(0, i).join('/'));
  }
  return [...out].sort((a, b) => depthOf(a) - depthOf(b));
}

/** The depth of a path (its number of `/`). */
function depthOf(path: string): number {
  return path.split('/').length;
}
