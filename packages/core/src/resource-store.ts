import type { Capabilities } from './capabilities.js';
import type { Clock } from './clock.js';
import { failedCondition, meetsConditions } from './conditions.js';
import { assertContext, type RequestContext } from './context.js';
import { CursorKey } from './cursor-key.js';
import type {
  DeleteChange,
  ResourceDriver,
  StoredRecord,
  UpdateChange,
  WriteOutcome,
} from './driver.js';
import {
  ConflictError,
  type FieldIssue,
  ForbiddenError,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  WriteBelowPinError,
} from './errors.js';
import type { IdGenerator } from './id-generator.js';
import { type CursorBinding, decodeCursor, encodeCursor } from './query/cursor.js';
import { compareValues } from './query/evaluate.js';
import type { NormalOrder, Predicate, Where } from './query/query.js';
import {
  acceptListOptions,
  assertPlainQuery,
  normaliseLimit,
  normaliseOrder,
  normaliseWhere,
} from './query/query.js';
import { acceptExpected, rootKeys } from './schema/accept.js';
import { isOlder } from './schema/history.js';
import {
  fieldsAtWriteVersion,
  readAtCodeVersion,
  versionedWrite,
} from './schema/history-records.js';
import { compileRecordBuilder, type FinishField } from './schema/literal-builders.js';
import type { AnyResource, CreateOf, PatchOf, RecordOf } from './schema/resource.js';
import { historyOf } from './schema/resource.js';
import {
  assertPlainInput,
  checkValue,
  validateCreate,
  validateExpected,
  validateId,
  validatePatch,
} from './schema/validate.js';
import {
  deepFreeze,
  fieldFreezer,
  isPlainObject,
  jsonBytesBound,
  normaliseDatetime,
} from './schema/values.js';
import { readScope, type WriteScope, writeScope } from './scope.js';
import type {
  DeleteOptions,
  ListOptions,
  Page,
  PurgeOptions,
  ResourceStore,
  UpdateOptions,
} from './store.js';

/** What a core store needs besides its driver. */
export interface StoreDeps {
  readonly clock: Clock;
  readonly ids: IdGenerator;
  readonly capabilities: Capabilities;
  /** Signs list cursors (default: {@link CursorKey.unkeyed}, bound and checked but not secret). */
  readonly cursorKey?: CursorKey;
  /**
   * The write-only fields of each resource, as the store recorded them at open (see
   * `SchemaElements.pending`): `where` and `orderBy` on them are refused.
   */
  readonly writeOnly?: ReadonlyMap<AnyResource, readonly string[]>;
  /** `minimumVersion` ignores services not seen within this many ms (default: counts every one). */
  readonly serviceLeaseMs?: number;
  /** What a live-upgrade engine decides per call: the version writes use, fencing, write-only fields. */
  readonly writePolicy?: WritePolicy;
}

/**
 * What a live-upgrade engine (`@polystore/migrate`'s fleet member) tells the stores of a
 * process at every call, so a release can run beside the one before it:
 * - `writeVersion`: the object version writes of a resource use (the fleet's pin); a create
 *   is stored in that version's shape (backported through the history), an update patches
 *   only fields that version has. `undefined`: the code's own version.
 * - `beforeWrite`: called before every write; throws (`FencedError`) while this process may
 *   not write, e.g. its lease in the fleet lapsed.
 * - `writeOnly`: the fields of a resource that are write-only now, refreshed while the
 *   process runs (overrides what the store recorded at open).
 */
export interface WritePolicy {
  writeVersion(resource: AnyResource): string | undefined;
  beforeWrite(resource: AnyResource): void;
  writeOnly?(resource: AnyResource): readonly string[] | undefined;
}

const MAX_IDS = 1000;
const LIST_KEYS = new Set(['where', 'orderBy', 'limit', 'after']);

/**
 * The shared machinery of core stores: validation, ids, timestamps, scoping rules,
 * record shape and errors live here once, so every backend behaves alike.
 */
export class StoreKernel<R extends AnyResource> {
  constructor(
    readonly resource: R,
    readonly driver: ResourceDriver,
    readonly deps: StoreDeps,
  ) {}

  #cursorKey: CursorKey | undefined;

  /**
   * Refuses a query whose filter or order uses a write-only field: records written before
   * the field existed may not hold the value `get` shows for them until a backfill rewrote
   * them, so the query could disagree with `get`.
   */
  checkQueryable(where: readonly Predicate[], orderBy?: NormalOrder): void {
    const writeOnly =
      this.deps.writePolicy?.writeOnly?.(this.resource) ?? this.deps.writeOnly?.get(this.resource);
    if (!writeOnly?.length) return;
    const used = [...where.map((p) => p.field), ...(orderBy ? [orderBy.field] : [])];
    const field = used.find((f) => writeOnly.includes(f));
    if (field === undefined) return;
    throw new InvalidQueryError(
      `${this.resource.name}: ${field} is write-only in this store: older records are not backfilled yet, so a query on it could disagree with get; it becomes queryable once the older records are converted and the field published: \`polystore migrate run\` then \`polystore migrate switch\` (fleet members see it at their next heartbeat), or \`polystore schema migrate\` (stores opened before it see it once reopened)`,
    );
  }

  /** The key that signs this store's list cursors. */
  cursorKey(): CursorKey {
    this.#cursorKey ??= this.deps.cursorKey ?? CursorKey.unkeyed();
    return this.#cursorKey;
  }

  /** Validates a create and builds the record to insert. */
  prepareCreate(ctx: RequestContext, values: unknown): StoredRecord {
    this.checkWrite(ctx);
    const valid = validateCreate(this.resource, values);
    const projectId = this.ownerOf(ctx, valid.projectId);
    const now = this.now();
    const pin = this.writeVersion();
    const record: StoredRecord = {
      id: valid.id ?? this.deps.ids(),
      projectId,
      ...(pin === this.resource.version
        ? valid.values
        : fieldsAtWriteVersion(this.resource, valid.values, pin)),
      revision: 1,
      createdAt: now,
      updatedAt: now,
      deletedAt: null,
      objectVersion: pin,
    };
    this.checkSize(record);
    return record;
  }

  /** The owning project of a new record, by the resource's scope and the context. */
  ownerOf(ctx: RequestContext, given: string | null | undefined): string | null {
    if (this.resource.scope === 'global') return null;
    if (!ctx.isAdmin) {
      if (given !== undefined && given !== ctx.projectId)
        this.#badOwner('only admins may create records for another project or shared ones');
      return ctx.projectId;
    }
    const owner = given === undefined ? ctx.projectId : given;
    if (owner === null && this.resource.scope === 'project')
      this.#badOwner('is required: the admin context has no project');
    return owner;
  }

  #badOwner(message: string): never {
    throw new InvalidInputError(this.resource.name, [{ field: 'projectId', message }]);
  }

  /** Refuses writes the context may not make. */
  checkWrite(ctx: RequestContext): void {
    assertContext(ctx);
    if (this.resource.scope === 'global' && !ctx.isAdmin) {
      throw new ForbiddenError(`${this.resource.name}: writes need an admin context`);
    }
    this.deps.writePolicy?.beforeWrite(this.resource);
  }

  /** The version writes use: the write policy's (the fleet's pin), else the code's. */
  writeVersion(): string {
    const pin = this.deps.writePolicy?.writeVersion(this.resource);
    return pin === undefined ? this.resource.version : pin;
  }

  #lastMs: number | undefined;
  #lastTime = '';
  /** The second of {@link #lastTime}, and its text up to the milliseconds (`…T12:34:56.`). */
  #second: number | undefined;
  #secondText = '';

  /** The clock's time as a record timestamp. */
  now(): string {
    const ms = this.deps.clock.now();
    // Writes in a burst share a millisecond: the text of the last one is kept. Within one
    // second only the milliseconds change (a monotonic clock moves 1 ms a write), and
    // writing them is cheaper than formatting the whole date.
    if (ms !== this.#lastMs) {
      const second = Math.floor(ms / 1000);
      const milli = ms - second * 1000;
      if (second === this.#second && Number.isSafeInteger(ms) && milli >= 0 && milli < 1000) {
        this.#lastTime = `${this.#secondText}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
      } else {
        this.#lastTime = new Date(ms).toISOString();
        this.#second = second;
        this.#secondText = this.#lastTime.slice(0, -4);
      }
      this.#lastMs = ms;
    }
    return this.#lastTime;
  }

  /** Refuses records larger than the backend's declared limit. */
  checkSize(record: StoredRecord): void {
    const limit = this.deps.capabilities.maxRecordBytes;
    // Records are mostly far below the limit: a bound from their lengths settles those
    // without encoding them, which costs several times more.
    if (jsonBytesBound(record, limit) <= limit) return;
    const bytes = Buffer.byteLength(JSON.stringify(record), 'utf8');
    if (bytes > limit) {
      throw new InvalidInputError(this.resource.name, [
        {
          field: 'values',
          message: `record is ${bytes} bytes, more than the backend's limit of ${this.deps.capabilities.maxRecordBytes}`,
        },
      ]);
    }
  }

  /** Turns a write outcome into a record or the right error. */
  settle(
    id: string,
    outcome: WriteOutcome,
    expectedRevision: number | undefined,
    expected: Readonly<Record<string, readonly unknown[]>> | undefined,
  ): RecordOf<R> {
    if (outcome.status === 'ok') return this.finish(outcome.record);
    if (outcome.status === 'not-found') throw new NotFoundError(this.resource.name, id);
    const current = outcome.current;
    const failed = failedCondition(current, expectedRevision, expected);
    if (failed?.kind === 'revision')
      throw new ConflictError(this.resource.name, id, current.revision, 'revision');
    // A conflict whose record now meets every condition (it changed back meanwhile) names
    // the first expected field, as before.
    const field = failed?.field ?? Object.keys(expected ?? {})[0];
    throw new ConflictError(this.resource.name, id, current.revision, 'expected', field);
  }

  /** Each field of {@link finish}'s records: its name, its freezer and its value when absent. */
  #finishPlan: readonly FinishField[] | undefined;
  /** {@link finish}'s record as one literal (compileRecordBuilder), where it compiles. */
  #buildRecord: ((raw: Record<string, unknown>) => Readonly<Record<string, unknown>>) | undefined;

  /**
   * A stored record as the frozen public record, keys in canonical order, its fields at
   * the code's version (an older record upgraded; a newer one projected or refused with
   * `IncompatibleVersionError`). `objectVersion` stays the version it was written at.
   */
  finish(stored: StoredRecord): RecordOf<R> {
    const raw = readAtCodeVersion(this.resource, stored);
    if (this.#finishPlan === undefined) {
      this.#finishPlan = this.resource.fieldNames.map((name) => {
        const field = this.resource.fields[name]!;
        return {
          name,
          freeze: fieldFreezer(field),
          absent: deepFreeze(field.defaultValue ?? null),
        };
      });
      this.#buildRecord = compileRecordBuilder(this.#finishPlan);
    }
    // The same record as the loop below, written as one object literal where it compiles.
    if (this.#buildRecord !== undefined) return this.#buildRecord(raw) as RecordOf<R>;
    const out: Record<string, unknown> = { id: raw.id, projectId: raw.projectId ?? null };
    for (const { name, freeze, absent } of this.#finishPlan) {
      const v = raw[name];
      // One key order for dicts and objects on every backend (jsonb, for one, keeps its own),
      // frozen as it is copied; a scalar is its own public form.
      out[name] = v === undefined ? absent : v === null || typeof v !== 'object' ? v : freeze(v);
    }
    out.revision = raw.revision;
    out.createdAt = raw.createdAt;
    out.updatedAt = raw.updatedAt;
    out.deletedAt = raw.deletedAt ?? null;
    out.objectVersion = raw.objectVersion;
    return Object.freeze(out) as RecordOf<R>;
  }

  updateOptions(
    options: unknown,
    allowExpected = true,
  ): {
    expectedRevision: number | undefined;
    expected: Record<string, readonly unknown[]> | undefined;
    writeVersion: string;
  } {
    const version = this.writeVersion();
    if (options === undefined)
      return { expectedRevision: undefined, expected: undefined, writeVersion: version };
    return (
      this.#acceptOptions(options, allowExpected, version) ??
      this.#exactOptions(options, allowExpected, version)
    );
  }

  /**
   * The fast path of {@link updateOptions}: its answer for options that are valid, as most
   * are, read in one walk; `undefined` for anything else (the exact path then says why).
   */
  #acceptOptions(
    options: unknown,
    allowExpected: boolean,
    version: string,
  ): ReturnType<StoreKernel<R>['updateOptions']> | undefined {
    const keys = rootKeys(options, 3);
    if (!keys) return undefined;
    const given = options as Record<string, unknown>;
    let expectedRevision: number | undefined;
    let expected: Record<string, readonly unknown[]> | undefined;
    let writeVersion = version;
    for (const key of keys) {
      const v = given[key];
      // An option given as `undefined` is an option not given.
      if (key === 'expectedRevision') {
        if (v === undefined) continue;
        if (!Number.isSafeInteger(v) || (v as number) < 1) return undefined;
        expectedRevision = v as number;
      } else if (key === 'expected' && allowExpected) {
        if (v === undefined) continue;
        expected = acceptExpected(this.resource, v);
        if (expected === undefined) return undefined;
      } else if (key === 'writeVersion' && allowExpected) {
        if (v === undefined) continue;
        if (typeof v !== 'string' || !Object.hasOwn(this.resource.history, v)) return undefined;
        writeVersion = v;
      } else return undefined;
    }
    return { expectedRevision, expected, writeVersion };
  }

  #exactOptions(
    options: unknown,
    allowExpected: boolean,
    version: string,
  ): ReturnType<StoreKernel<R>['updateOptions']> {
    const issues: FieldIssue[] = [];
    assertPlainInput(this.resource, options, 'options');
    if (!isPlainObject(options)) {
      throw new InvalidInputError(this.resource.name, [
        { field: 'options', message: 'must be a plain object' },
      ]);
    }
    for (const key of Object.keys(options)) {
      const allowed =
        key === 'expectedRevision' ||
        (allowExpected && (key === 'expected' || key === 'writeVersion'));
      if (!allowed) {
        issues.push({ field: `options.${key}`, message: 'unknown option' });
      }
    }
    const rev = options.expectedRevision;
    if (rev !== undefined && (!Number.isSafeInteger(rev) || (rev as number) < 1)) {
      issues.push({ field: 'expectedRevision', message: 'must be a positive safe integer' });
    }
    const pin = options.writeVersion;
    if (
      pin !== undefined &&
      (typeof pin !== 'string' || !Object.hasOwn(this.resource.history, pin))
    ) {
      issues.push({
        field: 'writeVersion',
        message: `must be a version of the history up to ${this.resource.version}`,
      });
    }
    if (issues.length > 0) throw new InvalidInputError(this.resource.name, issues);
    const expected =
      allowExpected && options.expected !== undefined
        ? validateExpected(this.resource, options.expected)
        : undefined;
    return {
      expectedRevision: rev as number | undefined,
      expected,
      writeVersion: (pin as string | undefined) ?? version,
    };
  }

  /**
   * Applies an update so that a record's `objectVersion` never goes down: the write is
   * conditional on the record being at `writeVersion`; a record at another version is
   * written again in the shape of the higher of the two (at most a few rounds, each
   * conditional, so a concurrent upgrade is never overwritten).
   */
  async versionedUpdate(
    scope: WriteScope,
    id: string,
    change: UpdateChange,
  ): Promise<WriteOutcome> {
    this.#checkPinnedSet(change.objectVersion, change.set);
    let attempt: UpdateChange = {
      ...change,
      expected: { ...change.expected, objectVersion: [change.objectVersion] },
    };
    for (let round = 0; ; round++) {
      let outcome: WriteOutcome;
      try {
        outcome = await this.driver.update(scope, id, attempt);
      } catch (err) {
        const pin = this.#movedPin(err, attempt.objectVersion, round);
        if (pin === undefined) throw err;
        // Planned again at the pin as it is now, from the start: nothing was written.
        this.#checkPinnedSet(pin, change.set);
        change = { ...change, objectVersion: pin };
        attempt = { ...change, expected: { ...change.expected, objectVersion: [pin] } };
        continue;
      }
      if (outcome.status !== 'conflict') return outcome;
      const current = outcome.current;
      // The caller's conditions hold on the record as it is now: the write failed on its
      // version condition (the record was at another version, or a migrate converted it
      // meanwhile), so it is planned again against the record as it is now. Bounded: each
      // round sees the record move on.
      const userConditionsHold = meetsConditions(current, change.expectedRevision, change.expected);
      if (!userConditionsHold || round >= 5) return outcome;
      // A record this code cannot read (a newer major, a value it cannot hold) is refused
      // before anything is written, not after.
      this.finish(current);
      const plan = versionedWrite(this.resource, current, change.objectVersion, change.set);
      attempt = {
        ...change,
        set: { ...plan.extra, ...change.set },
        objectVersion: plan.objectVersion,
        expected: { ...change.expected, objectVersion: [current.objectVersion] },
      };
    }
  }

  /**
   * A delete conditional on the record being at the code's version; a record at another
   * version is deleted at that version once this code can read it (else
   * `IncompatibleVersionError`, before anything is deleted: the caller could not be shown
   * what it deleted). One round trip when the record is at the code's version.
   */
  async versionedDelete(
    scope: WriteScope,
    id: string,
    change: DeleteChange,
  ): Promise<WriteOutcome> {
    let attempt: DeleteChange = { ...change, expected: { objectVersion: [this.resource.version] } };
    for (let round = 0; ; round++) {
      const outcome = await this.driver.delete(scope, id, attempt);
      if (outcome.status !== 'conflict') return outcome;
      const current = outcome.current;
      // As for an update: the caller's condition holds on the record as it is now, so the
      // delete failed on its version condition. Even when `current` is at the version it
      // asked for: a backend may read it after the refused statement (the SQL drivers do),
      // and a migrate can convert the record in between. Bounded: each round sees the
      // record move on.
      if (!meetsConditions(current, change.expectedRevision, undefined) || round >= 5)
        return outcome;
      this.finish(current);
      attempt = { ...change, expected: { objectVersion: [current.objectVersion] } };
    }
  }

  /**
   * Inserts a new record at the fleet's pin (see {@link prepareCreate}). A create whose
   * call began before the pin moved, refused by the write floor the move set
   * (`WriteBelowPinError`), is built again at the pin as it is now and inserted again:
   * nothing was written, and this process is not the one the fleet left behind.
   */
  async insert(ctx: RequestContext, values: unknown): Promise<StoredRecord> {
    let record = this.prepareCreate(ctx, values);
    for (let round = 0; ; round++) {
      try {
        return await this.driver.insert(record);
      } catch (err) {
        if (this.#movedPin(err, record.objectVersion, round) === undefined) throw err;
        record = { ...this.prepareCreate(ctx, values), id: record.id };
      }
    }
  }

  /**
   * The pin to write at again when `err` is the write floor's refusal of a write at
   * `attempted` and this process's pin has moved on since the call began (the floor is
   * set only once every live process writes at the new pin, so the call was merely in
   * flight when it moved); `undefined` when the write must fail as it did (the pin did not
   * move: this process was left behind). Bounded, as the other rounds.
   */
  #movedPin(err: unknown, attempted: string, round: number): string | undefined {
    if (!(err instanceof WriteBelowPinError) || round >= 3) return undefined;
    const pin = this.writeVersion();
    return pin !== attempted && !isOlder(pin, err.pin) ? pin : undefined;
  }

  /**
   * Refuses a patch written at `version` (the fleet's pin) that sets a field the version
   * does not have: a field added later would be overwritten by its default when the
   * record is next read.
   */
  #checkPinnedSet(version: string, set: Readonly<Record<string, unknown>>): void {
    if (version === this.resource.version) return;
    const known = historyOf(this.resource).at(version)!.fields;
    const issues: FieldIssue[] = [];
    for (const [name, v] of Object.entries(set)) {
      if (!Object.hasOwn(known, name))
        issues.push({ field: name, message: `does not exist at the write version ${version}` });
      else checkValue(known[name]!, v, name, issues);
    }
    if (issues.length > 0) throw new InvalidInputError(this.resource.name, issues);
  }
}

/**
 * The store of one resource over an adapter's {@link ResourceDriver}. Its prototype
 * carries exactly the methods of {@link ResourceStore}, so shape checks see nothing else.
 */
export class CoreResourceStore<R extends AnyResource> implements ResourceStore<R> {
  readonly #k: StoreKernel<R>;

  constructor(kernel: StoreKernel<R>) {
    this.#k = kernel;
  }

  async create(ctx: RequestContext, values: CreateOf<R>): Promise<RecordOf<R>> {
    return this.#k.finish(await this.#k.insert(ctx, values));
  }

  async get(ctx: RequestContext, id: string): Promise<RecordOf<R>> {
    assertContext(ctx);
    validateId(this.#k.resource, id);
    const raw = await this.#k.driver.get(readScope(this.#k.resource, ctx), id);
    if (!raw) throw new NotFoundError(this.#k.resource.name, id);
    return this.#k.finish(raw);
  }

  async getMany(ctx: RequestContext, ids: readonly string[]): Promise<RecordOf<R>[]> {
    assertContext(ctx);
    assertPlainInput(this.#k.resource, ids, 'ids', {
      maxEntries: MAX_IDS,
      tooMany: `must be an array of at most ${MAX_IDS} ids`,
      child: () => ({ maxLength: 36, tooLong: 'must be a lowercase UUID' }),
    });
    if (!Array.isArray(ids) || ids.length > MAX_IDS) {
      throw new InvalidInputError(this.#k.resource.name, [
        { field: 'ids', message: `must be an array of at most ${MAX_IDS} ids` },
      ]);
    }
    const issues: FieldIssue[] = [];
    ids.forEach((id, i) => {
      try {
        validateId(this.#k.resource, id);
      } catch {
        issues.push({ field: `ids.${i}`, message: 'must be a lowercase UUID' });
      }
    });
    if (issues.length > 0) throw new InvalidInputError(this.#k.resource.name, issues);
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const found = await this.#k.driver.getMany(readScope(this.#k.resource, ctx), unique);
    const byId = new Map(found.map((r) => [r.id, r]));
    const out: RecordOf<R>[] = [];
    for (const id of unique) {
      const raw = byId.get(id);
      if (raw) out.push(this.#k.finish(raw));
    }
    return out;
  }

  async list(ctx: RequestContext, options?: ListOptions<RecordOf<R>>): Promise<Page<RecordOf<R>>> {
    assertContext(ctx);
    const opts = options ?? {};
    let where = acceptListOptions(this.#k.resource, opts);
    if (where === undefined) {
      assertPlainQuery(this.#k.resource, opts, 'options');
      if (!isPlainObject(opts))
        throw new InvalidQueryError(
          `${this.#k.resource.name}: list options must be a plain object`,
        );
      for (const key of Object.keys(opts)) {
        if (!LIST_KEYS.has(key))
          throw new InvalidQueryError(`${this.#k.resource.name}: unknown list option ${key}`);
      }
      where = normaliseWhere(this.#k.resource, opts.where);
    }
    const orderBy = normaliseOrder(this.#k.resource, opts.orderBy);
    this.#k.checkQueryable(where, orderBy);
    const limit = normaliseLimit(this.#k.resource, opts.limit);
    const binding: CursorBinding = {
      resource: this.#k.resource,
      projectId: ctx.projectId,
      isAdmin: ctx.isAdmin,
      readDeleted: ctx.readDeleted,
      where,
      order: orderBy,
    };
    const after =
      opts.after === undefined || opts.after === null
        ? null
        : decodeCursor(this.#k.cursorKey(), binding, opts.after);
    const rows = await this.#k.driver.list(readScope(this.#k.resource, ctx), {
      where,
      orderBy,
      limit: limit + 1,
      after,
    });
    const items = rows.slice(0, limit).map((r) => this.#k.finish(r));
    const last = items[items.length - 1] as Record<string, unknown> | undefined;
    const next =
      rows.length > limit && last
        ? encodeCursor(this.#k.cursorKey(), binding, {
            value: last[orderBy.field] as string | number,
            id: last.id as string,
          })
        : null;
    return Object.freeze({ items: Object.freeze(items), next });
  }

  async count(ctx: RequestContext, where?: Where<RecordOf<R>>): Promise<number> {
    assertContext(ctx);
    const predicates = normaliseWhere(this.#k.resource, where);
    this.#k.checkQueryable(predicates);
    return this.#k.driver.count(readScope(this.#k.resource, ctx), predicates);
  }

  async update(
    ctx: RequestContext,
    id: string,
    patch: PatchOf<R>,
    options?: UpdateOptions<RecordOf<R>>,
  ): Promise<RecordOf<R>> {
    this.#k.checkWrite(ctx);
    validateId(this.#k.resource, id);
    const set = validatePatch(this.#k.resource, patch);
    const { expectedRevision, expected, writeVersion } = this.#k.updateOptions(options);
    const change: UpdateChange = {
      set,
      updatedAt: this.#k.now(),
      objectVersion: writeVersion,
      expectedRevision,
      expected,
    };
    const outcome = await this.#k.versionedUpdate(writeScope(this.#k.resource, ctx), id, change);
    return this.#k.settle(id, outcome, expectedRevision, expected);
  }

  async delete(ctx: RequestContext, id: string, options?: DeleteOptions): Promise<RecordOf<R>> {
    this.#k.checkWrite(ctx);
    validateId(this.#k.resource, id);
    const { expectedRevision } = this.#k.updateOptions(options, false);
    const change: DeleteChange = {
      soft: this.#k.resource.softDelete,
      at: this.#k.now(),
      expectedRevision,
    };
    const outcome = await this.#k.versionedDelete(writeScope(this.#k.resource, ctx), id, change);
    return this.#k.settle(id, outcome, expectedRevision, undefined);
  }

  async purge(ctx: RequestContext, options: PurgeOptions): Promise<number> {
    assertContext(ctx);
    if (!ctx.isAdmin)
      throw new ForbiddenError(`${this.#k.resource.name}: purge needs an admin context`);
    this.#k.deps.writePolicy?.beforeWrite(this.#k.resource);
    assertPlainInput(this.#k.resource, options, 'options');
    const before =
      isPlainObject(options) && typeof options.deletedBefore === 'string'
        ? normaliseDatetime(options.deletedBefore)
        : undefined;
    if (before === undefined || Object.keys(options).length !== 1) {
      throw new InvalidInputError(this.#k.resource.name, [
        { field: 'deletedBefore', message: 'must be an ISO 8601 timestamp with an offset' },
      ]);
    }
    return this.#k.driver.purge(before);
  }
}

/** Equality of two scalar field values as stores compare them. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === null || b === null || a === undefined || b === undefined)
    return (a ?? null) === (b ?? null);
  return typeof a === typeof b && compareValues(a, b) === 0;
}
