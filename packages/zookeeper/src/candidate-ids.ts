import type { ListQuery, Predicate, ReadScope, StoredRecord } from '@polystore/core/adapter';
import { encodeValue, idOfStateEntry, type ResourceLayout } from './layout.js';
import type { ZooKeeperClient } from './zookeeper-client.js';

/**
 * The ids that may match a query: the intersection of the index directories the filter
 * and scope name (equality and `in` on indexed fields, the project, deletion state), all
 * read concurrently in one round trip; every record read is still checked in full.
 */
export async function candidateIds(
  client: ZooKeeperClient,
  layout: ResourceLayout,
  scope: ReadScope,
  where: readonly Predicate[],
): Promise<string[]> {
  const sets: Promise<Set<string>>[] = [];
  const union = async (dirs: readonly string[], idOf: (name: string) => string = (n) => n) => {
    const lists = await Promise.all(dirs.map((d) => client.getChildren(d)));
    return new Set(lists.flatMap((l) => (l ?? []).map(idOf)));
  };
  for (const p of where) {
    const values =
      p.op === 'eq' ? [p.value] : p.op === 'in' ? (p.value as readonly unknown[]) : undefined;
    if (!values) continue;
    if (p.field === 'id')
      sets.push(Promise.resolve(new Set(values.filter((v): v is string => typeof v === 'string'))));
    else if (layout.indexedFields.includes(p.field))
      sets.push(union(values.map((v) => layout.valueDir(p.field, v))));
  }
  if (layout.resource.scope !== 'global' && scope.projectId !== null) {
    const dirs = [layout.valueDir('projectId', scope.projectId)];
    if (scope.includeShared) dirs.push(layout.valueDir('projectId', null));
    sets.push(union(dirs));
  }
  // The live set is as large as the resource, so it is never read here; the deleted set
  // is usually small: it is subtracted (live-only reads) or intersected (`only`).
  const deleted =
    layout.resource.softDelete && scope.deleted !== 'yes'
      ? union([layout.stateDir(true)], idOfStateEntry)
      : undefined;
  // Awaited below; keep a failure from being reported as unhandled before that.
  deleted?.catch(() => {});
  if (scope.deleted === 'only') sets.push(deleted ?? Promise.resolve(new Set<string>()));
  let ids: string[];
  if (sets.length === 0) {
    ids = (await client.getChildren(layout.records)) ?? [];
  } else {
    const resolved = (await Promise.all(sets)).sort((a, b) => a.size - b.size);
    const [smallest, ...rest] = resolved;
    ids = [...smallest!].filter((id) => rest.every((s) => s.has(id)));
  }
  if (scope.deleted === 'no' && deleted) {
    const gone = await deleted;
    ids = ids.filter((id) => !gone.has(id));
  }
  return ids;
}

/** Whether the candidate ids of `where` are exactly the matching records (no record need be read). */
export function exactlyIndexed(layout: ResourceLayout, where: readonly Predicate[]): boolean {
  return where.every((p) => {
    if (p.field === 'id' || !layout.indexedFields.includes(p.field)) return false;
    if (p.op !== 'eq' && p.op !== 'in') return false;
    const values = p.op === 'eq' ? [p.value] : (p.value as readonly unknown[]);
    return values.every((v) => !encodeValue(v).startsWith('h'));
  });
}

/**
 * A page of a list ordered by id. Ids are the znode names: they are ordered first, and only
 * as many records are read (in chunks) as the page needs; `keep` is the full check of a
 * record (scope, filter, position after the cursor).
 */
export async function idOrderedPage(
  ids: readonly string[],
  query: ListQuery,
  read: (ids: readonly string[]) => Promise<StoredRecord[]>,
  keep: (record: StoredRecord) => boolean,
): Promise<StoredRecord[]> {
  const { orderBy, after, limit } = query;
  const asc = orderBy.direction === 'asc';
  const sorted = ids
    .filter((id) => after === null || (asc ? id > after.id : id < after.id))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0) * (asc ? 1 : -1));
  const out: StoredRecord[] = [];
  const step = Math.max(limit * 2, 64);
  for (let i = 0; i < sorted.length && out.length < limit; i += step) {
    const chunk = sorted.slice(i, i + step);
    const byId = new Map((await read(chunk)).map((r) => [r.id, r]));
    for (const id of chunk) {
      const r = byId.get(id);
      if (r && keep(r)) out.push(r);
    }
  }
  return out.slice(0, limit);
}
