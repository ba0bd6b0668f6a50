import type { AdapterRegistry, AnyResource } from '@polystore/core';
import {
  type Backend,
  describeElements,
  type EvolutionBackend,
  elementsMinus,
  elementsOf,
  isEmptyElements,
  openBackend,
  type SchemaElements,
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

/** How one resource's stored elements compare with what its code's current version needs. */
export interface ResourceSchemaState {
  readonly resource: AnyResource;
  /** Elements the code needs that the store lacks: opening with this code is refused until they are added. */
  readonly missing: SchemaElements;
  /** Elements the store has that the code does not need (added by newer code, or not contracted yet). */
  readonly extra: SchemaElements;
}

type EvolvableBackend = Backend & EvolutionBackend;

function evolvable(backend: Backend | undefined, url: string): EvolvableBackend {
  if (
    backend === undefined ||
    typeof backend.appliedElements !== 'function' ||
    typeof backend.expand !== 'function'
  ) {
    throw new CliError(
      backend === undefined
        ? `${url} is served by a remote server: run this against the store the server opens`
        : `the ${backend.name} adapter does not record schema elements (no evolution SPI)`,
      ExitCode.usage,
    );
  }
  return backend as EvolvableBackend;
}

/** Compares each resource's stored elements with its code's current version. */
export async function schemaStates(
  backend: EvolvableBackend,
  resources: readonly AnyResource[],
): Promise<ResourceSchemaState[]> {
  const out: ResourceSchemaState[] = [];
  for (const resource of resources) {
    const applied = await backend.appliedElements(resource);
    const needed = elementsOf(resource);
    out.push({
      resource,
      missing: elementsMinus(needed, applied),
      extra: elementsMinus(applied, needed),
    });
  }
  return out;
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
    return await run(evolvable(target.backend, url));
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
  const extra = describeElements(s.extra);
  if (extra.length > 0) print.out(`          ${''.padEnd(22)} also has ${extra.join(', ')}`);
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
    schemaStates(b, opts.resources),
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
    const states = await schemaStates(backend, opts.resources);
    let added = 0;
    for (const s of states) {
      const missing = describeElements(s.missing);
      if (missing.length === 0) continue;
      if (opts.dryRun) {
        print.out(`  would add to ${s.resource.name}: ${missing.join(', ')}`);
      } else {
        await backend.expand(s.resource, s.missing);
        print.out(`  added to ${s.resource.name}: ${missing.join(', ')}`);
      }
      added += missing.length;
    }
    const verb = opts.dryRun ? 'would add' : 'added';
    print.out(
      added === 0
        ? `schema expand: nothing to add; the store has every element of ${states.length} resources`
        : `schema expand: ${verb} ${added} element(s)`,
    );
    return ExitCode.ok;
  });
}
