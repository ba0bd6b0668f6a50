import { compareVersions, UnavailableError, WriteBelowPinError } from '@polystore/core';
import { compareCodePoints, type SchemaElements, type StoredRecord } from '@polystore/core/adapter';
import { decodeElements, decodeFloor } from './applied-elements.js';
import { presentEntries } from './entry-probe.js';
import { ZK, ZkOpError } from './errors.js';
import type { ResourceLayout } from './layout.js';
import type { RecordCache, VersionedRecord } from './record-cache.js';
import type { RecordOps } from './record-ops.js';
import type { ZkOp, ZooKeeperClient } from './zookeeper-client.js';

/** How often `expand` or `contract` tries one record again after a write of it won the race. */
const MAX_ATTEMPTS = 50;

/** Records `expand` enters at once (see `enterAll`). */
const ENTER_IN_FLIGHT = 16;

/** A unique clash `expand` met while entering records: the constraint and the two ids. */
export interface UniqueClash {
  readonly fields: readonly string[];
  readonly ids: readonly string[];
}

/**
 * Internal, not part of the `ResourceDriver` SPI: how the backend's `expand` and
 * `contract` reach one resource's records and the applied elements its writes maintain.
 */
export interface SchemaAccess {
  /** Reads the schema znode: the applied elements writes maintain, and the version each multi checks. */
  loadSchema(): Promise<SchemaElements | undefined>;
  /** Every record, any project, live and soft-deleted. */
  readAll(): Promise<StoredRecord[]>;
  /** Enters every record in the entries of the applied elements it lacks; a unique clash met on the way. */
  enterAll(): Promise<UniqueClash | undefined>;
  /** Removes the entries of an index whose record no longer exists; how many. */
  removeOrphans(field: string): Promise<number>;
  /** Removes the values of dropped fields from every record (revisions unchanged). */
  dropFields(names: readonly string[]): Promise<void>;
}

/** What a {@link ResourceSchema} works with: one resource's records, as its driver has them. */
export interface SchemaTarget {
  readonly client: ZooKeeperClient;
  readonly layout: ResourceLayout;
  readonly ops: RecordOps;
  readonly cache: RecordCache;
  /** Reads a record with its znode version (and remembers it). */
  read(id: string): Promise<VersionedRecord | undefined>;
  /** The records among `ids` that exist, read in pipelined batches. */
  readMany(ids: readonly string[]): Promise<VersionedRecord[]>;
  /** Whether a multi failed on a unique znode its holder no longer holds, now removed. */
  releasedStale(err: unknown, ops: readonly ZkOp[]): Promise<boolean>;
}

/**
 * One resource's applied elements as its driver keeps them, and the record-wide steps of
 * `expand` and `contract`. The applied elements live in the schema znode (see
 * `applied-elements.ts`); the driver's writes maintain their entries and check the
 * znode's version in each multi ({@link check}), so a write never misses an element
 * `expand` applied meanwhile: it fails on the check, {@link load}s again and retries.
 * The write floor of a live upgrade is in the same znode, so the same check fences it.
 */
export class ResourceSchema {
  readonly #target: SchemaTarget;
  /** The version of the schema znode the applied elements were read at (-1: none read). */
  #version = -1;
  /** The write floor (`setWriteFloor`) the schema znode recorded at that version, or `undefined`. */
  #floor: string | undefined;

  constructor(target: SchemaTarget) {
    this.#target = target;
  }

  /**
   * Reads the applied elements from the schema znode, so writes maintain their entries too
   * and check the znode's version in each multi; `undefined` when the resource has none
   * (a brand-new store).
   */
  async load(): Promise<SchemaElements | undefined> {
    const { client, layout, ops } = this.#target;
    const found = await client.getData(layout.schema);
    if (!found) return undefined;
    const applied = decodeElements(found.data, layout.resource);
    ops.useApplied(applied);
    // Both from the same read: check() guards the floor with the version it was read at.
    this.#version = found.version;
    this.#floor = decodeFloor(found.data);
    return applied;
  }

  /**
   * Reads the schema znode when it was never read (it was missing so far: only a store
   * whose znode someone removed after open), so that a write there does not go without
   * the check (and the write floor) once the znode exists again. No request otherwise.
   */
  async loadIfUnread(): Promise<void> {
    if (this.#version < 0) await this.load();
  }

  /**
   * The check of the schema znode's version a multi carries (none when it was never read).
   * With `writesAt`, the object version the write leaves its record at, it first refuses
   * with `WriteBelowPinError` a write below the write floor read at that same version:
   * when the floor was raised since, the znode's version moved and the multi fails on this
   * check, so the floor and the write are one atomic step (the caller reads the znode
   * again and the retry is refused).
   */
  check(writesAt?: string): ZkOp[] {
    const floor = this.#floor;
    if (writesAt !== undefined && floor !== undefined && compareVersions(writesAt, floor) < 0) {
      throw new WriteBelowPinError(this.#target.layout.resource.name, floor, writesAt);
    }
    return this.#version < 0
      ? []
      : [{ type: 'check', path: this.#target.layout.schema, version: this.#version }];
  }

  /** Whether a multi failed on its schema check (always its last op). */
  failedOn(err: unknown, ops: readonly ZkOp[]): boolean {
    return (
      err instanceof ZkOpError &&
      this.#version >= 0 &&
      err.index === ops.length - 1 &&
      ops.at(-1)?.path === this.#target.layout.schema
    );
  }

  /** Every record, any project, live and soft-deleted (the backend's `expand`). */
  async readAll(): Promise<StoredRecord[]> {
    const { client, layout } = this.#target;
    const ids = (await client.getChildren(layout.records)) ?? [];
    return (await this.#target.readMany(ids)).map((v) => v.record);
  }

  /**
   * Enters every record in the entries it lacks (those of the elements just applied; the
   * backend's `expand`), one multi per record that also writes the record at its version
   * (same content) so that a concurrent write of it starts again. Returns the ids of a
   * unique clash met on the way (a live record written since the check), else `undefined`.
   */
  async enterAll(): Promise<UniqueClash | undefined> {
    const { client, layout } = this.#target;
    const ids = (await client.getChildren(layout.records)) ?? [];
    // Records are independent (each multi writes one record and its own entries): a few
    // in flight, so the store's size costs round trips in parallel, not one after another.
    let next = 0;
    let clash: UniqueClash | undefined;
    const worker = async () => {
      while (clash === undefined && next < ids.length) {
        const found = await this.#enter(ids[next++]!);
        clash ??= found;
      }
    };
    await Promise.all(Array.from({ length: Math.min(ENTER_IN_FLIGHT, ids.length) }, worker));
    return clash;
  }

  /** Enters one record in the entries it lacks (see {@link enterAll}); a unique clash met. */
  async #enter(id: string): Promise<UniqueClash | undefined> {
    const { client, layout, ops: recordOps, cache } = this.#target;
    for (let attempt = 0; ; attempt++) {
      if (attempt >= MAX_ATTEMPTS) {
        throw new UnavailableError(
          `zookeeper: ${layout.resource.name} ${id}: expand lost ${MAX_ATTEMPTS} races in a row`,
        );
      }
      const cur = await this.#target.read(id);
      if (!cur) break;
      const paths = recordOps.entryPaths(cur.record, cur.token);
      const present = await presentEntries(client, layout, id, paths);
      const missing = paths.filter((p) => !present.has(p));
      if (missing.length === 0) break;
      const unique = `${layout.unique}/`;
      const ops: ZkOp[] = [
        {
          type: 'set',
          path: layout.record(id),
          data: recordOps.encode(cur.record, cur.token),
          version: cur.version,
        },
        ...missing.map(
          (path): ZkOp =>
            path.startsWith(unique)
              ? { type: 'create', path, data: Buffer.from(id) }
              : { type: 'create', path },
        ),
      ];
      try {
        await client.commit(ops);
        cache.delete(id);
        break;
      } catch (err) {
        if (!(err instanceof ZkOpError) || err.index === undefined) throw err;
        cache.delete(id);
        const path = ops[err.index]?.path ?? '';
        if (err.code === ZK.NODE_EXISTS && path.startsWith(unique)) {
          const holder = await client.getData(path);
          const other = holder?.data.toString('utf8');
          if (
            other !== undefined &&
            other !== id &&
            !(await this.#target.releasedStale(err, ops))
          ) {
            const fields = path.slice(unique.length).split('/')[0]!.split('+');
            return { fields, ids: [id, other].sort(compareCodePoints) };
          }
        }
      }
    }
    return undefined;
  }

  /**
   * Removes the entries of an index whose record no longer exists (a client whose
   * definition lacked the index removed the record before the index was applied; the
   * backend's `expand`). Returns how many it removed.
   */
  async removeOrphans(field: string): Promise<number> {
    const { client, layout } = this.#target;
    const dir = layout.indexDir(field);
    const values = (await client.getChildren(dir)) ?? [];
    const entries = (
      await Promise.all(
        values.map(async (v) =>
          ((await client.getChildren(`${dir}/${v}`)) ?? []).map((id) => ({ v, id })),
        ),
      )
    ).flat();
    const exists = await Promise.all(entries.map((e) => client.countChildren(layout.record(e.id))));
    const orphans = entries.filter((_, i) => exists[i] === undefined);
    for (const { v, id } of orphans) {
      await client
        .multi([{ type: 'remove', path: `${dir}/${v}/${id}`, version: -1 }])
        .catch((err: unknown) => {
          if (!(err instanceof ZkOpError)) throw err;
        });
    }
    return orphans.length;
  }

  /**
   * Removes the values of dropped fields from every record that has them, the record
   * written at its version, revision unchanged (the backend's `contract`).
   */
  async dropFields(names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    const { client, layout, ops: recordOps, cache } = this.#target;
    const ids = (await client.getChildren(layout.records)) ?? [];
    for (const id of ids) {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const cur = await this.#target.read(id);
        if (!cur || !names.some((f) => Object.hasOwn(cur.record, f))) break;
        const next: Record<string, unknown> = { ...cur.record };
        for (const f of names) delete next[f];
        try {
          await client.commit([
            {
              type: 'set',
              path: layout.record(id),
              data: recordOps.encode(next as StoredRecord, cur.token),
              version: cur.version,
            },
          ]);
          break;
        } catch (err) {
          if (!(err instanceof ZkOpError)) throw err;
        } finally {
          cache.delete(id);
        }
      }
    }
  }
}
