import {
  adminContext,
  type Capabilities,
  PolystoreError,
  redactUrl,
  type Stores,
} from '@polystore/core';
import { STORE_NAMES } from '@polystore/core/adapter';
import { describeBackend } from '../describe-backend.js';
import { ExitCode, type ExitCodeValue } from '../exit-codes.js';
import type { Printer } from '../printer.js';
import type { StoreTarget } from '../store-target.js';

/** The result of one resource's read check. */
export interface ResourceCheck {
  readonly store: (typeof STORE_NAMES)[number];
  readonly ok: boolean;
  /** Live records visible to an admin, when the check passed. */
  readonly count?: number;
  /** The error code and message, when it failed. */
  readonly error?: string;
  readonly ms: number;
}

/** Reads every resource store once (a one-row page and a count) as an admin. */
export async function checkResources(stores: Stores): Promise<ResourceCheck[]> {
  const ctx = adminContext({ userId: 'polystore-doctor' });
  const out: ResourceCheck[] = [];
  for (const store of STORE_NAMES) {
    const started = performance.now();
    try {
      await stores[store].list(ctx, { limit: 1 });
      const count = await stores[store].count(ctx);
      out.push({ store, ok: true, count, ms: performance.now() - started });
    } catch (err) {
      const error =
        err instanceof PolystoreError ? `${err.code}: ${err.message}` : `unexpected ${String(err)}`;
      out.push({ store, ok: false, error, ms: performance.now() - started });
    }
  }
  return out;
}

function features(c: Capabilities): string {
  const entries = Object.entries(c.features);
  if (entries.length === 0) return 'none declared';
  return entries.map(([name, on]) => `${name}=${on ? 'on' : 'off'}`).join(', ');
}

/** `polystore doctor`: prints what the store is and whether every resource can be read. */
export async function doctor(target: StoreTarget, print: Printer): Promise<ExitCodeValue> {
  const { url, adapter, backend, stores } = target;
  const pad = (s: string) => s.padEnd(22);
  print.out(`${pad('store')}${redactUrl(url)}`);
  print.out(
    `${pad('adapter')}${adapter.name} (schemes: ${adapter.schemes.map((s) => `${s}:`).join(' ')})`,
  );
  print.out(`${pad('backend')}${stores.backend}`);
  const described = backend === undefined ? [] : describeBackend(backend);
  for (const [key, value] of described) print.out(`${pad(`  ${key}`)}${value}`);
  print.out('capabilities');
  const c = stores.capabilities;
  print.out(`${pad('  reads')}${c.reads}`);
  print.out(`${pad('  serverSideQueries')}${c.serverSideQueries}`);
  print.out(`${pad('  maxRecordBytes')}${c.maxRecordBytes}`);
  print.out(`${pad('  features')}${features(c)}`);
  print.out('checks (list and count as admin)');
  const checks = await checkResources(stores);
  for (const check of checks) {
    const took = `${check.ms.toFixed(0)} ms`;
    print.out(
      check.ok
        ? `  ok    ${check.store.padEnd(12)} ${String(check.count).padStart(8)} records  ${took}`
        : `  FAIL  ${check.store.padEnd(12)} ${check.error}  ${took}`,
    );
  }
  const failed = checks.filter((c) => !c.ok).length;
  print.out(failed === 0 ? 'doctor: ok' : `doctor: ${failed} of ${checks.length} checks failed`);
  return failed === 0 ? ExitCode.ok : ExitCode.failure;
}
