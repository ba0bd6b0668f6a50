import { SingleBar } from 'cli-progress';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Printer } from '../printer.js';
import { seedDemoData } from '../seed-demo-data.js';
import type { StoreTarget } from '../store-target.js';

/** Options of `polystore seed`. */
export interface SeedCommandOptions {
  readonly instances: number;
  readonly project: string;
}

/** `polystore seed`: boots demo instances with a progress bar on stderr. */
export async function seed(
  target: StoreTarget,
  options: SeedCommandOptions,
  print: Printer,
): Promise<ExitCodeValue> {
  const bar = new SingleBar({
    format: 'seeding [{bar}] {value}/{total} instances  {eta_formatted} left',
    stream: print.streams.err,
    hideCursor: true,
  });
  const started = performance.now();
  bar.start(options.instances, 0);
  let result: Awaited<ReturnType<typeof seedDemoData>>;
  try {
    result = await seedDemoData(target.stores, {
      instances: options.instances,
      project: options.project,
      onProgress: (done) => bar.update(done),
    });
  } finally {
    bar.stop();
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  print.out(
    `seeded ${result.instances} instances with addresses in ${result.cidr} ` +
      `(network ${result.networkId}) for project ${result.project} on ${target.stores.backend} in ${seconds} s`,
  );
  return ExitCode.ok;
}
