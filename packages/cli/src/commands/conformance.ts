import { formatReport, runConformance } from '@polystore/conformance';
import type { AdapterRegistry } from '@polystore/core';
import { parseStoreUrl } from '@polystore/core/adapter';
import { pluginUrlOf } from '../conformance-target.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { NamespaceUrlFn } from '../load-adapters.js';
import type { Printer } from '../printer.js';

/** Options of `polystore conformance`. */
export interface ConformanceCommandOptions {
  /** fast-check runs per property (default: the suite's). */
  readonly runs?: number;
  /** Fixed seed (default random). */
  readonly seed?: number;
  /** Report format. */
  readonly report: 'md' | 'json';
}

/**
 * `polystore conformance`: runs the whole suite against the store a URL names, each
 * check in a fresh namespace of it, and prints the report. Exit 1 when anything failed.
 */
export async function conformance(
  url: string,
  options: ConformanceCommandOptions,
  print: Printer,
  registry: AdapterRegistry,
  plugins: ReadonlyMap<string, NamespaceUrlFn> = new Map(),
): Promise<ExitCodeValue> {
  const scheme = parseStoreUrl(url, registry).protocol.slice(0, -1).toLowerCase();
  const adapter = await registry.resolve(scheme);
  // The suite opens every namespace through the adapter, and refuses (ConfigError) a store
  // it cannot namespace and a server URL without its port before any group runs.
  const report = await runConformance({
    name: scheme,
    adapter,
    url,
    urlOf: pluginUrlOf(url, plugins.get(scheme)),
    budget: options.runs === undefined ? {} : { runs: options.runs },
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  print.out(formatReport(report, options.report));
  return report.passed ? ExitCode.ok : ExitCode.failure;
}
