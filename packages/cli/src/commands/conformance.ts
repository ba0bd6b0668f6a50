import { formatReport, runConformance } from '@polystore/conformance';
import { type AdapterRegistry, openStores } from '@polystore/core';
import { checkConformanceUrl, faultsFor, namespacedUrl } from '../conformance-target.js';
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
  checkConformanceUrl(url, plugins);
  const scheme = new URL(url).protocol.slice(0, -1);
  const report = await runConformance({
    name: scheme,
    open: (namespace, deps) =>
      openStores(deps.route(namespacedUrl(url, namespace, plugins)), {
        registry,
        clock: deps.clock,
        ids: deps.ids,
      }),
    faults: faultsFor(url),
    budget: options.runs === undefined ? {} : { runs: options.runs },
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  print.out(formatReport(report, options.report));
  return report.passed ? ExitCode.ok : ExitCode.failure;
}
