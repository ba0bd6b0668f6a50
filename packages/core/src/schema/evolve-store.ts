/**
 * The schema steps an operator runs against a store, over the evolution SPI: what a store
 * lacks for the code (`schemaStateOf`), adding it (`expandResource`), and rewriting older
 * records at the code's version, then making the fields they lacked queryable
 * (`backfillResource`). `polystore schema status|expand|migrate` are these functions.
 */
import {
  type Backend,
  type EvolutionBackend,
  type EvolutionDriver,
  type StoredRecord,
  supportsEvolution,
} from '../driver.js';
import { ConfigError, ConflictError } from '../errors.js';
import {
  elementsMinus,
  elementsOf,
  isEmptyElements,
  type SchemaElements,
  withPending,
} from './elements.js';
import { isOlder } from './history.js';
import { readAtCodeVersion } from './history-records.js';
import type { AnyResource } from './resource.js';

/** A backend with the evolution SPI. */
export type EvolvableBackend = Backend & EvolutionBackend;

/** How one resource's stored elements compare with what its code's current version needs. */
export interface ResourceSchemaState {
  readonly resource: AnyResource;
  /** Everything the store records as applied, with its write-only fields. */
  readonly applied: SchemaElements;
  /** Elements the code needs that the store lacks: opening with this code is refused until they are added. */
  readonly missing: SchemaElements;
  /** Elements the store has that the code does not need (added by newer code, or not contracted yet). */
  readonly extra: SchemaElements;
  /** Fields the store records as write-only: not queryable until a backfill publishes them. */
  readonly writeOnly: readonly string[];
}

/** Whether `backend` implements the evolution SPI (`expand`, `contract`, `appliedElements`, `publish`). */
export function isEvolvable(backend: Backend | undefined): backend is EvolvableBackend {
  return (
    backend !== undefined &&
    typeof backend.expand === 'function' &&
    typeof backend.contract === 'function' &&
    typeof backend.appliedElements === 'function' &&
    typeof backend.publish === 'function'
  );
}

function evolutionDriver(backend: Backend, resource: AnyResource): EvolutionDriver {
  const driver = backend.driver(resource);
  if (!supportsEvolution(driver)) {
    throw new ConfigError(`${backend.name}: the ${resource.name} driver has no evolution SPI`);
  }
  return driver;
}

/** Compares a resource's stored elements with its code's current version. */
export async function schemaStateOf(
  backend: EvolvableBackend,
  resource: AnyResource,
): Promise<ResourceSchemaState> {
  const applied = await backend.appliedElements(resource);
  const needed = elementsOf(resource);
  return {
    resource,
    applied,
    missing: elementsMinus(needed, applied),
    extra: elementsMinus(applied, needed),
    writeOnly: applied.pending ?? [],
  };
}

/** What {@link expandResource} did, or would do. */
export interface ExpandResult {
  /** The elements added (or, with `dryRun`, to add), with the fields recorded write-only as `pending`. */
  readonly added: SchemaElements;
}

/**
 * Adds to the store the elements the resource's current version needs and it lacks. The
 * fields added are recorded write-only when the store already holds records of the
 * resource (they lack the fields until `backfillResource` rewrites them), public when it
 * holds none. Idempotent; drops nothing. A unique constraint live records violate is
 * `UniqueViolationError` and nothing is applied.
 *
 * @example
 * ```ts
 * const { backend } = await openBackend(url, { resources: [volume], checkSchema: false });
 * const { added } = await expandResource(backend as EvolvableBackend, volume);
 * ```
 */
export async function expandResource(
  backend: EvolvableBackend,
  resource: AnyResource,
  options: { readonly dryRun?: boolean } = {},
): Promise<ExpandResult> {
  const { missing } = await schemaStateOf(backend, resource);
  if (isEmptyElements(missing)) return { added: missing };
  let pending: string[] = [];
  if (missing.fields.length > 0) {
    const counts = await evolutionDriver(backend, resource).countByVersion();
    const stored = Object.values(counts).reduce((a, b) => a + b, 0);
    if (stored > 0) pending = missing.fields.map((f) => f.name);
  }
  const added = withPending(missing, pending);
  if (!options.dryRun) await backend.expand(resource, added);
  return { added };
}

/** What {@link backfillResource} did. */
export interface BackfillResult {
  /** Records rewritten at the code's version. */
  readonly rewritten: number;
  /** Records still stored at an older version (written meanwhile by older code): nothing was published while any remain. */
  readonly remaining: Readonly<Record<string, number>>;
  /** The write-only fields made public. */
  readonly published: readonly string[];
}

/**
 * Rewrites every record stored at a version older than the code's (any project, live and
 * soft-deleted) at the code's version, in pages, each under a revision check (a record
 * written meanwhile is read again); records of a newer version are left alone. Then, if
 * no older record remains, makes the store's write-only fields public, so queries on them
 * are allowed to stores opened afterwards. Run it once no process writes at an older
 * version any more (older code still writing would leave new records behind: they are
 * counted in `remaining` and nothing is published).
 */
export async function backfillResource(
  backend: EvolvableBackend,
  resource: AnyResource,
  options: { readonly pageSize?: number; readonly onPage?: (rewritten: number) => void } = {},
): Promise<BackfillResult> {
  const driver = evolutionDriver(backend, resource);
  const pageSize = options.pageSize ?? 200;
  let rewritten = 0;
  const older = async () =>
    Object.fromEntries(
      Object.entries(await driver.countByVersion()).filter(([v]) => isOlder(v, resource.version)),
    );
  for (const version of Object.keys(await older())) {
    let after: string | undefined;
    do {
      const page = await driver.scanVersion(version, after, pageSize);
      for (const record of page.records) {
        if (await rewriteAtCodeVersion(driver, resource, record)) rewritten++;
      }
      options.onPage?.(rewritten);
      after = page.after;
    } while (after !== undefined);
  }
  const remaining = await older();
  const { writeOnly } = await schemaStateOf(backend, resource);
  let published: readonly string[] = [];
  if (Object.keys(remaining).length === 0 && writeOnly.length > 0) {
    await backend.publish(resource, writeOnly);
    published = writeOnly;
  }
  return { rewritten, remaining, published };
}

/**
 * Rewrites one record at the code's version (its fields read at the code's version, its
 * `objectVersion` set to it) under a revision check, reading it again after each conflict:
 * `true` when it was rewritten, `false` when there was nothing to do (gone, or written
 * meanwhile at the code's version or newer). After `attempts` conflicts in a row (another
 * writer keeps moving the record on) it gives up with `ConflictError`. Shared by
 * {@link backfillResource} and the live-upgrade engine.
 *
 * @example
 * ```ts
 * for (const record of page.records) if (await rewriteAtCodeVersion(driver, widget, record)) n++;
 * ```
 */
export async function rewriteAtCodeVersion(
  driver: EvolutionDriver,
  resource: AnyResource,
  first: StoredRecord,
  attempts = 20,
): Promise<boolean> {
  let record: StoredRecord | undefined = first;
  for (let attempt = 0; attempt < attempts && record; attempt++) {
    const stored = record.objectVersion;
    if (typeof stored !== 'string' || !isOlder(stored, resource.version)) return false;
    const next = { ...readAtCodeVersion(resource, record), objectVersion: resource.version };
    const outcome = await driver.rewrite(next, record.revision);
    if (outcome.status === 'ok') return true;
    if (outcome.status === 'not-found') return false;
    record = outcome.current;
  }
  throw new ConflictError(resource.name, first.id, record?.revision ?? first.revision, 'revision');
}
