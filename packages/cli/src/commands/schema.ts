import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AnyResource, computeResources } from '@polystore/core';
import {
  compareSnapshots,
  type ObjectSnapshotSource,
  type ResourceSnapshot,
  type SnapshotProblem,
  snapshotResource,
} from '@polystore/core/adapter';
import { CliError } from '../cli-error.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Printer } from '../printer.js';

/** Options of `polystore schema snapshot|check`. */
export interface SchemaOptions {
  /** Modules whose exported resources and object registries are snapshotted (default: the built-in resources). */
  readonly modules: readonly string[];
  /** The directory of the snapshot files (one `<resource>.snapshot.json` each). */
  readonly dir: string;
}

interface SchemaSources {
  readonly resources: readonly AnyResource[];
  readonly objects: readonly ObjectSnapshotSource[];
}

function isResource(v: unknown): v is AnyResource {
  const r = v as Partial<AnyResource> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.name === 'string' &&
    Array.isArray(r.fieldNames) &&
    typeof r.history === 'object' &&
    typeof r.queryable === 'object'
  );
}

function isRegistry(v: unknown): v is { snapshotSources(): ObjectSnapshotSource[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as { snapshotSources?: unknown }).snapshotSources === 'function'
  );
}

/** The resources and object classes a service declares: what its modules export. */
export async function loadSources(modules: readonly string[]): Promise<SchemaSources> {
  if (modules.length === 0) return { resources: computeResources, objects: [] };
  const resources = new Set<AnyResource>();
  const objects: ObjectSnapshotSource[] = [];
  for (const spec of modules) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(resolve(spec)).href)) as Record<string, unknown>;
    } catch (err) {
      throw new CliError(
        `cannot import ${spec}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    for (const value of Object.values(mod)) {
      if (isResource(value)) resources.add(value);
      if (isRegistry(value)) {
        for (const o of value.snapshotSources()) {
          objects.push(o);
          resources.add(o.resource);
        }
      }
    }
  }
  if (resources.size === 0)
    throw new CliError(`no resource or object registry is exported by ${modules.join(', ')}`);
  return { resources: [...resources], objects };
}

// `.snapshot.json`: written by the tool, byte for byte, so formatters leave them alone.
const SUFFIX = '.snapshot.json';
const fileOf = (dir: string, resource: string) => join(dir, `${resource}${SUFFIX}`);

/**
 * `polystore schema snapshot`: writes one readable JSON file per resource (every
 * version's fields, indexes, uniques and fingerprint, and the wire form of its objects).
 */
export async function schemaSnapshot(opts: SchemaOptions, print: Printer): Promise<ExitCodeValue> {
  const { resources, objects } = await loadSources(opts.modules);
  await mkdir(opts.dir, { recursive: true });
  for (const resource of resources) {
    const snapshot = snapshotResource(resource, objects);
    const file = fileOf(opts.dir, resource.name);
    await writeFile(file, `${JSON.stringify(snapshot, null, 2)}\n`);
    print.out(`wrote ${file} (${resource.name} ${resource.version}, ${snapshot.fingerprint})`);
  }
  return ExitCode.ok;
}

/**
 * `polystore schema check`: compares the code with the committed snapshots. Exit 0 when
 * they agree, {@link ExitCode.schemaDrift} with a field-level diff when a version changed
 * without a bump, a released version changed, a version or object is not snapshotted,
 * or a snapshot names a resource the code no longer declares.
 */
export async function schemaCheck(opts: SchemaOptions, print: Printer): Promise<ExitCodeValue> {
  const { resources, objects } = await loadSources(opts.modules);
  const committed = new Map<string, ResourceSnapshot>();
  let files: string[] = [];
  try {
    files = (await readdir(opts.dir)).filter((f) => f.endsWith(SUFFIX));
  } catch {
    // No directory: every resource is reported as not snapshotted.
  }
  for (const file of files) {
    try {
      const snap = JSON.parse(await readFile(join(opts.dir, file), 'utf8')) as ResourceSnapshot;
      committed.set(snap.resource, snap);
    } catch (err) {
      throw new CliError(
        `${join(opts.dir, file)} is not a schema snapshot: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  const problems: SnapshotProblem[] = [];
  for (const resource of resources) {
    problems.push(
      ...compareSnapshots(snapshotResource(resource, objects), committed.get(resource.name)),
    );
    committed.delete(resource.name);
  }
  for (const name of committed.keys()) {
    problems.push({
      resource: name,
      message: 'has a committed snapshot but the code no longer declares it',
      diff: [],
    });
  }
  if (problems.length === 0) {
    print.out(`schema check: ${resources.length} resources match the snapshots in ${opts.dir}`);
    return ExitCode.ok;
  }
  for (const p of problems) {
    print.out(`${p.resource}: ${p.message}`);
    for (const line of p.diff) print.out(`    ${line}`);
  }
  print.out(`schema check: ${problems.length} problem(s) against ${opts.dir}`);
  return ExitCode.schemaDrift;
}
