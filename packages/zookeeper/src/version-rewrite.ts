import { compareVersions, UnavailableError } from '@polystore/core';
import {
  compareCodePoints,
  meetsConditions,
  type StoredRecord,
  type VersionPage,
  type WriteOutcome,
} from '@polystore/core/adapter';
import pMap from 'p-map';
import { presentEntries } from './entry-probe.js';
import { toCoreError, ZK, ZkOpError } from './errors.js';
import { type ResourceLayout, STATE_INDEX, VERSION_INDEX } from './layout.js';
import type { RecordCache, VersionedRecord } from './record-cache.js';
import type { RecordOps } from './record-ops.js';
import type { ResourceSchema } from './resource-schema.js';
import type { ZkOp, ZooKeeperClient } from './zookeeper-client.js';

/** How often a rewrite is tried again after the store's schema or the record changed. */
const MAX_ATTEMPTS = 50;

/** Records rewritten in one multi by `rewriteMany` (well within the server's 1 MB request limit). */
const REWRITE_BATCH = 50;

/** Multis of `rewriteMany` planned and committed at once. */
const REWRITES_IN_FLIGHT = 4;

/** How often `rewriteMany` commits one batch again, each time without the records that failed it. */
const MAX_BATCH_ATTEMPTS = 5;

/**
 * Index directories with at most this many values are read whole by `rewrite` (a few
 * requests, and any entry another layout left there is found); a larger one is probed at
 * the record's own values only, so converting a record costs the same in any store.
 */
const SMALL_INDEX = 16;

/** The entry directories of a resource as a rewrite reads them (see `#entryDirs`). */
interface EntryDirs {
  /** Every index field: the directories there and those this client maintains. */
  readonly fields: readonly string[];
  /** The value directories of the small and unmaintained indexes, read whole. */
  readonly valueDirs: readonly string[];
  /** Every unique constraint: the directories there and those this client maintains. */
  readonly uniques: readonly (readonly string[])[];
}

/** One record of `rewriteMany`: the whole new record and the revision it must be at. */
export interface RecordRewrite {
  readonly record: StoredRecord;
  readonly expectedRevision: number;
}

/** What {@link VersionRewrite} uses of its resource driver. */
export interface VersionRewriteDeps {
  readonly client: ZooKeeperClient;
  readonly layout: ResourceLayout;
  readonly ops: RecordOps;
  readonly cache: RecordCache;
  readonly schema: ResourceSchema;
  read(id: string): Promise<VersionedRecord | undefined>;
  readMany(ids: readonly string[]): Promise<VersionedRecord[]>;
  /** Whether a multi failed on a stale unique znode, now removed (try again). */
  releasedStale(err: unknown, ops: readonly ZkOp[]): Promise<boolean>;
  /** Runs a call under the fail-fast deadline. */
  bounded<T>(what: string, run: () => Promise<T>): Promise<T>;
}

/**
 * The evolution SPI of a ZooKeeper resource driver (`countByVersion`, `scanVersion`,
 * `rewrite`, `rewriteMany`): counts and pages from the per-version index
 * (`index/$version/<version>/<id>`), and rewrites that replace a record and every entry
 * it has now, whatever definition made them, in one multi fenced by the schema znode.
 * The driver bounds each call by the fail-fast deadline (`rewriteMany` each multi).
 */
export class VersionRewrite {
  readonly #deps: VersionRewriteDeps;

  constructor(deps: VersionRewriteDeps) {
    this.#deps = deps;
  }

  /**
   * How many records are stored at an object version below `version` (any project,
   * live or deleted), from the per-version index: one request per stored version.
   */
  async countBelowVersion(version: string): Promise<number> {
    const dir = this.#deps.layout.versionsDir();
    const versions = ((await this.#deps.client.getChildren(dir)) ?? []).filter(
      (v) => compareVersions(v, version) < 0,
    );
    const counts = await Promise.all(
      versions.map((v) => this.#deps.client.countChildren(`${dir}/${v}`)),
    );
    return counts.reduce<number>((sum, n) => sum + (n ?? 0), 0);
  }

  async countByVersion(): Promise<Record<string, number>> {
    const dir = this.#deps.layout.versionsDir();
    const versions = (await this.#deps.client.getChildren(dir)) ?? [];
    // Counted from the per-version index: one request per version, no record read.
    const counts = await Promise.all(
      versions.map((v) => this.#deps.client.countChildren(`${dir}/${v}`)),
    );
    const out: Record<string, number> = {};
    versions.forEach((v, i) => {
      const n = counts[i] ?? 0;
      if (n > 0) out[v] = n;
    });
    return out;
  }

  async scanVersion(
    version: string,
    after: string | undefined,
    limit: number,
  ): Promise<VersionPage> {
    if (limit <= 0) return { records: [], after: undefined };
    const ids = (
      (await this.#deps.client.getChildren(`${this.#deps.layout.versionsDir()}/${version}`)) ?? []
    )
      .filter((id) => after === undefined || compareCodePoints(id, after) > 0)
      .sort(compareCodePoints);
    const records: StoredRecord[] = [];
    // The index moves with every write; a record that moved meanwhile is skipped.
    for (let i = 0; i < ids.length && records.length < limit; ) {
      const chunk = ids.slice(i, i + (limit - records.length));
      i += chunk.length;
      for (const v of await this.#deps.readMany(chunk)) {
        if (v.record.objectVersion === version) records.push(v.record);
      }
    }
    records.sort((a, b) => compareCodePoints(a.id, b.id));
    return { records, after: records.length === limit ? records.at(-1)!.id : undefined };
  }

  async rewrite(record: StoredRecord, expectedRevision: number): Promise<WriteOutcome> {
    await this.#deps.schema.load();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.#deps.read(record.id);
      if (!cur) return { status: 'not-found' };
      if (!meetsConditions(cur.record, expectedRevision, undefined))
        return { status: 'conflict', current: cur.record };
      const next: StoredRecord = structuredClone({ ...record, revision: expectedRevision + 1 });
      const found = await this.#entriesOf(await this.#entryDirs(), cur, next);
      const ops = [
        ...this.#deps.ops.rewrite(cur, next, found, this.#deps.ops.fields, this.#deps.ops.uniques),
        ...this.#deps.schema.check(),
      ];
      try {
        await this.#deps.client.commit(ops);
      } catch (err) {
        if (!(err instanceof ZkOpError) || err.index === undefined) throw err;
        if (this.#deps.schema.failedOn(err, ops)) await this.#deps.schema.load();
        else if (await this.#deps.releasedStale(err, ops)) {
          // A unique znode its holder no longer holds: removed, try again.
        } else if (err.code === ZK.NODE_EXISTS && err.index > 0) {
          throw toCoreError(err, {
            resource: this.#deps.layout.resource.name,
            uniqueAt: this.#deps.ops.uniqueAt(ops),
          });
        }
        this.#deps.cache.delete(record.id);
        continue;
      }
      this.#deps.cache.set({ record: next, version: cur.version + 1, token: cur.token });
      return { status: 'ok', record: structuredClone(next) };
    }
    throw new UnavailableError(
      `zookeeper: ${this.#deps.layout.resource.name} ${record.id}: rewrite lost ${MAX_ATTEMPTS} races in a row`,
    );
  }

  /**
   * `rewrite` of many records, {@link REWRITE_BATCH} records to a multi (the records'
   * entry directories read once per multi), {@link REWRITES_IN_FLIGHT} multis at a time. A record not at its expected revision, gone,
   * or whose ops fail the multi (a race, a unique clash, a stale unique znode) is left
   * out and the rest committed again; the ids rewritten are returned, the others are
   * the caller's to `rewrite` one by one.
   */
  async rewriteMany(rewrites: readonly RecordRewrite[]): Promise<readonly string[]> {
    const batches: (typeof rewrites)[] = [];
    for (let i = 0; i < rewrites.length; i += REWRITE_BATCH) {
      batches.push(rewrites.slice(i, i + REWRITE_BATCH));
    }
    // A few multis in flight: the reads that plan one overlap the commit of another (the
    // batches hold different records, so they are independent). Each has its own deadline:
    // a large page is not one call that must fit failFastMs.
    const done = await pMap(
      batches,
      (batch) => this.#deps.bounded('rewriteMany', () => this.#rewriteBatch(batch)),
      { concurrency: REWRITES_IN_FLIGHT },
    );
    return done.flat();
  }

  /** One multi of `rewriteMany` (tried again without the records whose ops failed it). */
  async #rewriteBatch(rewrites: readonly RecordRewrite[]): Promise<string[]> {
    await this.#deps.schema.load();
    const left = new Map(rewrites.map((r) => [r.record.id, r]));
    for (let attempt = 0; attempt < MAX_BATCH_ATTEMPTS && left.size > 0; attempt++) {
      const [dirs, curs] = await Promise.all([
        this.#entryDirs(),
        this.#deps.readMany([...left.keys()]),
      ]);
      const planned = await Promise.all(
        curs
          .filter((cur) =>
            meetsConditions(cur.record, left.get(cur.record.id)?.expectedRevision, undefined),
          )
          .map(async (cur) => {
            const { record, expectedRevision } = left.get(cur.record.id)!;
            const next: StoredRecord = structuredClone({
              ...record,
              revision: expectedRevision + 1,
            });
            const found = await this.#entriesOf(dirs, cur, next);
            return {
              cur,
              next,
              ops: this.#deps.ops.rewrite(
                cur,
                next,
                found,
                this.#deps.ops.fields,
                this.#deps.ops.uniques,
              ),
            };
          }),
      );
      if (planned.length === 0) return [];
      const ops = [...planned.flatMap((p) => p.ops), ...this.#deps.schema.check()];
      try {
        await this.#deps.client.commit(ops);
      } catch (err) {
        if (!(err instanceof ZkOpError) || err.index === undefined) throw err;
        for (const p of planned) this.#deps.cache.delete(p.cur.record.id);
        if (this.#deps.schema.failedOn(err, ops)) {
          await this.#deps.schema.load();
          continue;
        }
        // Leave out the record whose op failed, and those not at their revision any more.
        const kept = new Set(planned.map((p) => p.cur.record.id));
        let end = 0;
        for (const p of planned) {
          end += p.ops.length;
          if (end <= err.index) continue;
          kept.delete(p.cur.record.id);
          break;
        }
        for (const id of [...left.keys()]) if (!kept.has(id)) left.delete(id);
        continue;
      }
      for (const p of planned) {
        this.#deps.cache.set({ record: p.next, version: p.cur.version + 1, token: p.cur.token });
      }
      return planned.map((p) => p.cur.record.id);
    }
    return [];
  }

  /**
   * What `rewrite` needs to know of the resource's entry directories to find a record's
   * entries, read in requests that do not grow with the store (see {@link #entriesOf}):
   * the index fields (the directories there and those this client maintains), the values
   * of the small or unmaintained ones, and the unique constraints.
   */
  async #entryDirs(): Promise<EntryDirs> {
    const { layout } = this.#deps;
    const maintained = new Set(this.#deps.ops.fields);
    const [indexDirs, uniqueDirs] = await Promise.all([
      this.#deps.client.getChildren(layout.index),
      this.#deps.client.getChildren(layout.unique),
    ]);
    const fields = new Set([...(indexDirs ?? []), ...maintained, VERSION_INDEX]);
    fields.delete(STATE_INDEX);
    const listed = await Promise.all(
      [...fields].map(async (f) => {
        const dir = layout.indexDir(f);
        // The object versions are few: read whole like any small directory.
        if (maintained.has(f)) {
          const size = await this.#deps.client.countChildren(dir);
          if (size === undefined || size > SMALL_INDEX) return [];
        }
        return ((await this.#deps.client.getChildren(dir)) ?? []).map((v) => `${dir}/${v}`);
      }),
    );
    const uniques = new Map<string, readonly string[]>();
    for (const name of uniqueDirs ?? []) uniques.set(name, name.split('+'));
    for (const u of this.#deps.ops.uniques) uniques.set(u.join('+'), u);
    return { fields: [...fields], valueDirs: listed.flat(), uniques: [...uniques.values()] };
  }

  /**
   * The index and unique znodes of a record that exist now, whatever definition made
   * them: its membership and version entries; under every index, its entries at the
   * record's stored and new values (every write that changes a value moves its entry in
   * the same multi, fenced by the schema znode, and `expand` enters records at their
   * stored values, so an entry of an index this client maintains is found there); its
   * entry under every value of a directory that is small ({@link SMALL_INDEX}) or that no
   * definition in force maintains (left by another layout: what it holds is unknown);
   * and, for every unique directory, the znodes of its current and new values that it
   * holds. The probes are as many as the record has entries, whatever the store's size.
   */
  async #entriesOf(dirs: EntryDirs, cur: VersionedRecord, next: StoredRecord): Promise<string[]> {
    const { layout } = this.#deps;
    const id = cur.record.id;
    const paths = [
      `${layout.stateDir(false)}/${id}.${cur.token}`,
      `${layout.stateDir(true)}/${id}.${cur.token}`,
      ...dirs.valueDirs.map((dir) => `${dir}/${id}`),
    ];
    for (const r of [cur.record, next]) {
      paths.push(`${layout.versionsDir()}/${r.objectVersion}/${id}`);
      for (const f of dirs.fields) {
        if (f !== VERSION_INDEX) paths.push(`${layout.valueDir(f, r[f] ?? null)}/${id}`);
      }
      // Live or not: a soft-deleted record's entry may have been left by another client.
      paths.push(
        ...layout.uniqueEntries({ ...r, deletedAt: null }, dirs.uniques).map((u) => u.path),
      );
    }
    return [...(await presentEntries(this.#deps.client, layout, id, paths))];
  }
}
