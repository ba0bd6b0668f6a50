import { type AdapterRegistry, type AnyResource, redactUrl } from '@polystore/core';
import {
  backfillResource,
  describeElements,
  type EvolvableBackend,
  expandResource,
  isEmptyElements,
  isEvolvable,
  openBackend,
  type ResourceSchemaState,
  schemaStateOf,
} from '@polystore/core/adapter';
import { CliError } from '../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Printer } from '../printer.js';

/** Options of `polystore schema status|expand`. */
export interface SchemaStoreOptions {
  /** The resources whose definitions the store is compared with (default: the built-in ones). */
  readonly resources: readonly AnyResource[];
  /** `expand` only: print what would be added and change nothing. */
  readonly dryRun?: boolean;
}

async function withBackend<T>(
  url: string,
  registry: AdapterRegistry,
  resources: readonly AnyResource[],
  run: (backend: EvolvableBackend) => Promise<T>,
): Promise<T> {
  // The store may lack what the code needs: that is what these commands look at and fix.
  const target = await openBackend(url, { registry, resources, checkSchema: false });
  try {
    const { backend } = target;
    if (!isEvolvable(backend)) {
      throw new CliError(
        backend === undefined
          ? `${redactUrl(url)} is served by a remote server: run this against the store the server opens`
          : `the ${backend.name} adapter does not implement the evolution SPI (expand, contract, appliedElements, publish)`,
        ExitCode.usage,
      );
    }
    return await run(backend);
  } finally {
    await target.stores.close();
  }
}

function printState(s: ResourceSchemaState, print: Printer): void {
  const name = `${s.resource.name} ${s.resource.version}`.padEnd(22);
  const missing = describeElements(s.missing);
  print.out(
    missing.length === 0 ? `  ok      ${name}` : `  BEHIND  ${name} lacks ${missing.join(', ')}`,
  );
  const pad = ''.padEnd(22);
  const extra = describeElements(s.extra);
  if (extra.length > 0) print.out(`          ${pad} also has ${extra.join(', ')}`);
  if (s.writeOnly.length > 0)
    print.out(`          ${pad} write-only until backfilled: ${s.writeOnly.join(', ')}`);
}

/**
 * `polystore schema status`: per resource, whether the store has every element the code's
 * current version needs. Exit 0 when it does for all, {@link ExitCode.schemaDrift} when a
 * resource lacks some (the same stores refuse to open with `SchemaBehindError`).
 */
export async function schemaStatus(
  url: string,
  opts: SchemaStoreOptions,
  print: Printer,
  registry: AdapterRegistry,
): Promise<ExitCodeValue> {
  const states = await withBackend(url, registry, opts.resources, (b) =>
    Promise.all(opts.resources.map((r) => schemaStateOf(b, r))),
  );
  for (const s of states) printState(s, print);
  const behind = states.filter((s) => !isEmptyElements(s.missing)).length;
  print.out(
    behind === 0
      ? `schema status: the store has every element of ${states.length} resources`
      : `schema status: ${behind} of ${states.length} resources lack elements; run polystore schema expand`,
  );
  return behind === 0 ? ExitCode.ok : ExitCode.schemaDrift;
}

/**
 * `polystore schema expand`: adds to the store the elements the code's current versions need
 * and it lacks (columns, indexes, unique constraints, key sets), one resource at a time, with
 * the backend's idempotent `expand`; what is there already is left alone, nothing is dropped.
 * A unique constraint that live records violate is refused with the clashing ids and nothing
 * of that resource is applied.
 */
export async function schemaExpand(
  url: string,
  opts: SchemaStoreOptions,
  print: Printer,
  registry: AdapterRegistry,
): Promise<ExitCodeValue> {
  return withBackend(url, registry, opts.resources, async (backend) => {
    let added = 0;
    for (const resource of opts.resources) {
      const result = await expandResource(backend, resource, { dryRun: opts.dryRun === true });
      const names = describeElements(result.added);
      if (names.length === 0) continue;
      const writeOnly = result.added.pending?.length
        ? ` (write-only until schema migrate: ${result.added.pending.join(', ')})`
        : '';
      print.out(
        `  ${opts.dryRun ? 'would add to' : 'added to'} ${resource.name}: ${names.join(', ')}${writeOnly}`,
      );
      added += names.length;
    }
    const verb = opts.dryRun ? 'would add' : 'added';
    print.out(
      added === 0
        ? `schema expand: nothing to add; the store has every element of ${opts.resources.length} resources`
        : `schema expand: ${verb} ${added} element(s)`,
    );
    return ExitCode.ok;
  });
}

/**
 * `polystore schema migrate`: rewrites every record stored at an older version at the
 * code's version (in pages, under revision checks), then makes the fields those records
 * lacked queryable. Exit 0 when every resource is done, {@link ExitCode.failure} when
 * older records remain (older code still writing): run it again once it is gone.
 */
export async function schemaMigrate(
  url: string,
  opts: SchemaStoreOptions,
  print: Printer,
  registry: AdapterRegistry,
): Promise<ExitCodeValue> {
  return withBackend(url, registry, opts.resources, async (backend) => {
    let unfinished = 0;
    for (const resource of opts.resources) {
      const { missing } = await schemaStateOf(backend, resource);
      if (!isEmptyElements(missing)) {
        throw new CliError(
          `${resource.name}: the store lacks ${describeElements(missing).join(', ')}: run polystore schema expand first`,
          ExitCode.schemaDrift,
        );
      }
      const r = await backfillResource(backend, resource);
      const left = Object.entries(r.remaining).map(([v, n]) => `${n} at ${v}`);
      if (left.length > 0) unfinished++;
      print.out(
        `  ${resource.name.padEnd(12)} rewrote ${r.rewritten} record(s) at ${resource.version}` +
          (r.published.length > 0 ? `; queryable now: ${r.published.join(', ')}` : '') +
          (left.length > 0 ? `; still older: ${left.join(', ')} (older code still writing?)` : ''),
      );
    }
    print.out(
      unfinished === 0
        ? `schema migrate: every record of ${opts.resources.length} resources is at the code's version`
        : `schema migrate: ${unfinished} resource(s) still hold older records; run it again once older code is gone`,
    );
    return unfinished === 0 ? ExitCode.ok : ExitCode.failure;
  });
}
