import { type AnyResource, compareVersions, UnavailableError } from '@polystore/core';
import {
  canonicalJson,
  checkWriteFloor,
  compareCodePoints,
  elementsMinus,
  elementsUnion,
  isEmptyElements,
  NO_ELEMENTS,
  pendingAfter,
  type SchemaElements,
  UniqueViolationError,
  uniqueKey,
  withPending,
} from '@polystore/core/adapter';
import { decodeElements, decodeFloor, encodeElements } from './applied-elements.js';
import { createResource } from './create-resource.js';
import { removeTree } from './directory-sweep.js';
import { toCoreError, ZK, ZkOpError } from './errors.js';
import { ResourceLayout } from './layout.js';
import type { ZooKeeperClient } from './zookeeper-client.js';
import { ZooKeeperResourceDriver } from './zookeeper-resource-driver.js';

/** How often `expand` or `contract` reads the schema znode again after another client changed it. */
const MAX_SCHEMA_ATTEMPTS = 50;

/**
 * The evolution steps of a `ZooKeeperBackend` (`expand`, `contract`, `publish`, the write
 * floor, `appliedElements`): each reads a resource's schema znode and writes it back under
 * its version check, reading it again when another client changed it meanwhile, then
 * tells the opened driver of that resource (if any) so its writes see the change at once.
 * A resource not opened gets a driver of its own for the step, and is made as an open
 * would if the store does not have it.
 */
export class SchemaSteps {
  readonly #client: ZooKeeperClient;
  readonly #chroot: string;
  readonly #drivers: ReadonlyMap<AnyResource, ZooKeeperResourceDriver>;
  readonly #maxRecordBytes: number;

  /**
   * @param drivers the backend's opened drivers, by resource
   * @param maxRecordBytes the record cap of a driver made for a resource not opened
   */
  constructor(
    client: ZooKeeperClient,
    chroot: string,
    drivers: ReadonlyMap<AnyResource, ZooKeeperResourceDriver>,
    maxRecordBytes: number,
  ) {
    this.#client = client;
    this.#chroot = chroot;
    this.#drivers = drivers;
    this.#maxRecordBytes = maxRecordBytes;
  }

  /** The backend's `expand`: adds the elements a resource lacks, then enters every record. */
  expand(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#evolve('expand', resource, async (driver, layout) => {
      for (let attempt = 0; attempt < MAX_SCHEMA_ATTEMPTS; attempt++) {
        const read = await this.#readApplied(layout);
        const { applied } = read;
        const added = elementsMinus(elements, applied);
        // The write-only marks go in the same znode write as the fields (they may name
        // fields applied before, so a call that adds nothing may still mark some).
        const next = elementsUnion(applied, elements);
        const marked = (next.pending ?? []).filter((n) => !applied.pending?.includes(n));
        if (isEmptyElements(added) && marked.length === 0) break;
        await this.#refuseViolated(driver, resource, added);
        for (const i of added.indexes) await this.#client.ensurePath(layout.indexDir(i.field));
        for (const u of added.uniques) await this.#client.ensurePath(layout.uniqueDir(u));
        if (!(await this.#setApplied(layout, next, read))) continue;
        await driver.evolution.loadSchema();
        for (const i of added.indexes) await driver.evolution.removeOrphans(i.field);
        const clash = await driver.evolution.enterAll();
        if (clash) {
          await this.#undo(driver, layout, added, marked);
          throw new UniqueViolationError(resource.name, clash.fields, clash.ids);
        }
        return;
      }
      // Applied already (by this or another client): finish entering records it may have left.
      await driver.evolution.loadSchema();
      await driver.evolution.enterAll();
    });
  }

  /** The backend's `contract`: drops the elements a resource has, recorded first. */
  contract(resource: AnyResource, elements: SchemaElements): Promise<void> {
    return this.#evolve('contract', resource, async (driver, layout) => {
      for (let attempt = 0; ; attempt++) {
        const read = await this.#readApplied(layout);
        if (await this.#setApplied(layout, elementsMinus(read.applied, elements), read)) break;
        if (attempt >= MAX_SCHEMA_ATTEMPTS) {
          throw new UnavailableError(`zookeeper: the schema of ${resource.name} kept changing`);
        }
      }
      await driver.evolution.loadSchema();
      // What the given definition still indexes (an equality index of every queryable field) stays.
      const own = new Set(new ResourceLayout(this.#chroot, resource).indexedFields);
      for (const i of elements.indexes) {
        if (!own.has(i.field)) await removeTree(this.#client, layout.indexDir(i.field));
      }
      const ownUniques = new Set(resource.unique.map(uniqueKey));
      for (const u of elements.uniques) {
        if (!ownUniques.has(uniqueKey(u))) await removeTree(this.#client, layout.uniqueDir(u));
      }
      await driver.evolution.dropFields(elements.fields.map((x) => x.name));
    });
  }

  /**
   * Takes back what an `expand` that met a clash applied: the elements and the write-only
   * marks it recorded (`marked`) leave the schema znode and the entries of its new indexes
   * and unique constraints go. Their directories stay (a process whose definition has them
   * treats them as permanent) and field values are kept: no record written meanwhile loses
   * data.
   */
  async #undo(
    driver: ZooKeeperResourceDriver,
    layout: ResourceLayout,
    added: SchemaElements,
    marked: readonly string[],
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const read = await this.#readApplied(layout);
      const kept = elementsMinus(read.applied, added);
      const unmarked = withPending(
        kept,
        pendingAfter(
          kept.fields.map((x) => x.name),
          [kept.pending],
          marked,
        ),
      );
      if (await this.#setApplied(layout, unmarked, read)) break;
      if (attempt >= MAX_SCHEMA_ATTEMPTS) {
        throw new UnavailableError(
          `zookeeper: the schema of ${layout.resource.name} kept changing`,
        );
      }
    }
    await driver.evolution.loadSchema();
    const dirs = [
      ...added.indexes.map((i) => layout.indexDir(i.field)),
      ...added.uniques.map((u) => layout.uniqueDir(u)),
    ];
    for (const dir of dirs) {
      for (const child of (await this.#client.getChildren(dir)) ?? []) {
        await removeTree(this.#client, `${dir}/${child}`);
      }
    }
  }

  /** The backend's `publish`: removes `fields` from the `pending` the schema znode records. */
  async publish(resource: AnyResource, fields: readonly string[]): Promise<void> {
    try {
      const opened = this.#opened(resource);
      const layout = opened?.access.layout ?? new ResourceLayout(this.#chroot, resource);
      for (let attempt = 0; ; attempt++) {
        const found = await this.#client.getData(layout.schema);
        if (!found) return;
        const applied = decodeElements(found.data, layout.resource);
        const pending = pendingAfter(
          applied.fields.map((x) => x.name),
          [applied.pending],
          fields,
        );
        if (pending.length === (applied.pending?.length ?? 0)) return;
        const read = { version: found.version, floor: decodeFloor(found.data) };
        if (await this.#setApplied(layout, withPending(applied, pending), read)) break;
        if (attempt >= MAX_SCHEMA_ATTEMPTS) {
          throw new UnavailableError(`zookeeper: the schema of ${resource.name} kept changing`);
        }
      }
      // The opened driver's writes check the znode's version: let them see the new one now.
      await opened?.evolution.loadSchema();
    } catch (err) {
      throw toCoreError(err, { what: `publish ${resource.name}` });
    }
  }

  /**
   * The backend's `setWriteFloor`. The floor is kept in the resource's schema znode, next
   * to the applied elements, and written under its version check. Every write's multi
   * already ends with a `check` of that znode's version (so that it never misses an element
   * `expand` applied), and the driver checks the write's version against the floor it read
   * with that same znode version: a write built before the floor was raised fails its multi
   * as a whole, reads the znode again and is refused. The floor costs writes no op and no
   * round trip, and a client opened earlier learns it at its next write without reopening.
   */
  async setWriteFloor(resource: AnyResource, floor: string): Promise<void> {
    checkWriteFloor(resource, floor);
    return this.#evolve('setWriteFloor', resource, async (driver, layout) => {
      for (let attempt = 0; ; attempt++) {
        const read = await this.#readApplied(layout);
        if (read.floor !== undefined && compareVersions(read.floor, floor) >= 0) break;
        if (await this.#setApplied(layout, read.applied, { ...read, floor })) break;
        if (attempt >= MAX_SCHEMA_ATTEMPTS) {
          throw new UnavailableError(`zookeeper: the schema of ${resource.name} kept changing`);
        }
      }
      // This process's writes learn it now rather than at their next multi.
      await driver.evolution.loadSchema();
    });
  }

  /** The write floor {@link setWriteFloor} recorded for `resource`, or `undefined`. */
  async writeFloor(resource: AnyResource): Promise<string | undefined> {
    const layout = new ResourceLayout(this.#chroot, resource);
    try {
      const found = await this.#client.getData(layout.schema);
      return found ? decodeFloor(found.data) : undefined;
    } catch (err) {
      throw toCoreError(err, { what: `writeFloor ${resource.name}` });
    }
  }

  /** The elements the resource's schema znode records as applied (none when it has none). */
  async appliedElements(resource: AnyResource): Promise<SchemaElements> {
    const layout = new ResourceLayout(this.#chroot, resource);
    try {
      const found = await this.#client.getData(layout.schema);
      return found ? decodeElements(found.data, resource) : NO_ELEMENTS;
    } catch (err) {
      throw toCoreError(err, { what: `appliedElements ${resource.name}` });
    }
  }

  /**
   * One evolution step over a resource, with its driver: the opened one of that name
   * (whatever its definition: its writes then learn the new elements at once), else a new
   * one, the resource made as an open would if the store does not have it.
   */
  async #evolve(
    what: string,
    resource: AnyResource,
    step: (driver: ZooKeeperResourceDriver, layout: ResourceLayout) => Promise<void>,
  ): Promise<void> {
    try {
      const opened = this.#opened(resource);
      const layout = opened?.access.layout ?? new ResourceLayout(this.#chroot, resource);
      const driver =
        opened ?? new ZooKeeperResourceDriver(layout, this.#client, this.#maxRecordBytes, 0);
      if (!opened && !(await this.#client.getData(layout.schema))) {
        await createResource(this.#client, this.#chroot, layout);
      }
      await step(driver, layout);
    } catch (err) {
      throw toCoreError(err, { what: `${what} ${resource.name}` });
    }
  }

  /** The opened driver of a resource of that name (whatever its definition), if any. */
  #opened(resource: AnyResource): ZooKeeperResourceDriver | undefined {
    return (
      this.#drivers.get(resource) ?? [...this.#drivers].find(([r]) => r.name === resource.name)?.[1]
    );
  }

  /**
   * The schema znode as read: the applied elements, its version and the write floor it
   * records (created with no elements when missing).
   */
  async #readApplied(layout: ResourceLayout): Promise<AppliedRead> {
    const found = await this.#client.getData(layout.schema);
    if (found) {
      return {
        applied: decodeElements(found.data, layout.resource),
        version: found.version,
        floor: decodeFloor(found.data),
      };
    }
    await this.#client.create(layout.schema, encodeElements(NO_ELEMENTS));
    return this.#readApplied(layout);
  }

  /**
   * Records the applied elements if the schema znode is still at the version `read` was
   * read at, keeping the write floor it recorded; `false` if it changed.
   */
  async #setApplied(
    layout: ResourceLayout,
    applied: SchemaElements,
    read: Pick<AppliedRead, 'version' | 'floor'>,
  ): Promise<boolean> {
    try {
      await this.#client.multi([
        {
          type: 'set',
          path: layout.schema,
          data: encodeElements(applied, read.floor),
          version: read.version,
        },
      ]);
      return true;
    } catch (err) {
      if (err instanceof ZkOpError && err.code === ZK.BAD_VERSION) return false;
      throw err;
    }
  }

  /** Throws `UniqueViolationError` if live records share the values of a unique constraint among `added`. */
  async #refuseViolated(
    driver: ZooKeeperResourceDriver,
    resource: AnyResource,
    added: SchemaElements,
  ): Promise<void> {
    if (added.uniques.length === 0) return;
    const records = await driver.evolution.readAll();
    for (const fields of added.uniques) {
      const byValue = new Map<string, string[]>();
      for (const r of records) {
        if (r.deletedAt !== null || fields.some((f) => (r[f] ?? null) === null)) continue;
        const value = canonicalJson(fields.map((f) => r[f]));
        byValue.set(value, [...(byValue.get(value) ?? []), r.id]);
      }
      const ids = [...byValue.values()]
        .filter((x) => x.length > 1)
        .flat()
        .sort(compareCodePoints);
      if (ids.length > 0) throw new UniqueViolationError(resource.name, fields, ids);
    }
  }
}

/** What the schema znode holds, as read, with the version it was read at. */
interface AppliedRead {
  readonly applied: SchemaElements;
  readonly version: number;
  /** The write floor (`setWriteFloor`), if one is set. */
  readonly floor: string | undefined;
}
