import {
  createContext,
  ManualClock,
  type Stores,
  sequentialIds,
  UnavailableError,
} from '@polystore/core';
import { TcpProxy, type TcpProxyMode } from '@polystore/testing';
import { ConformanceFailure } from './conformance-failure.js';
import type { ServerControl } from './conformance-options.js';
import type { GroupContext, GroupOutcome } from './group.js';
import { CLOCK_EPOCH } from './session.js';

/** The coverage units of the fault group. */
export const FAULT_UNITS = [
  'faults.close',
  'faults.stall',
  'faults.latency',
  'faults.drop',
  'faults.server',
] as const;

const p1 = createContext({ projectId: 'p1', userId: 'u1' });
const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 1 };
/** Extra time over `failFastMs` before a call counts as hung (timers and scheduling). */
const GRACE_MS = 750;

type Settled =
  | { state: 'ok'; value: unknown }
  | { state: 'error'; error: unknown }
  | { state: 'hung' };

async function within(ms: number, call: () => Promise<unknown>): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'hung' }), ms);
  });
  const run = (async (): Promise<Settled> => {
    try {
      return { state: 'ok', value: await call() };
    } catch (error) {
      return { state: 'error', error };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** One fault scenario's bookkeeping: acknowledged writes, problems and a log. */
class FaultRun {
  readonly acked = new Map<string, number>();
  readonly problems: string[] = [];
  readonly log: string[] = [];

  constructor(
    readonly stores: Stores,
    readonly failFastMs: number,
    readonly recoverMs: number,
  ) {}

  ack(record: { id: string; revision: number }): void {
    this.acked.set(record.id, Math.max(this.acked.get(record.id) ?? 0, record.revision));
  }

  /** A call while the backend is unreachable must fail fast with `UnavailableError`. */
  async outage(
    fault: string,
    what: string,
    call: () => Promise<unknown>,
    write: boolean,
  ): Promise<void> {
    const start = performance.now();
    const r = await within(this.failFastMs + GRACE_MS, call);
    const ms = Math.round(performance.now() - start);
    this.log.push(
      `${fault}: ${what} → ${r.state === 'ok' ? 'ok' : r.state === 'hung' ? 'no answer' : (r.error as Error)?.name} after ${ms} ms`,
    );
    if (r.state === 'hung') {
      this.problems.push(
        `${fault}: ${what} hung for ${ms} ms; calls must fail within ${this.failFastMs} ms with UnavailableError`,
      );
    } else if (r.state === 'ok') {
      if (write) {
        const v = r.value as { id?: string; revision?: number } | undefined;
        if (v?.id !== undefined && v.revision !== undefined)
          this.ack(v as { id: string; revision: number });
        this.problems.push(
          `${fault}: ${what} was acknowledged while the backend was unreachable (reported done without confirmation)`,
        );
      } else {
        this.problems.push(
          `${fault}: ${what} answered while the backend was unreachable (served from a cache?)`,
        );
      }
    } else if (!(r.error instanceof UnavailableError)) {
      this.problems.push(
        `${fault}: ${what} failed with ${(r.error as Error)?.name ?? typeof r.error} (${String((r.error as Error)?.message ?? r.error)}), expected UnavailableError`,
      );
    } else if (ms > this.failFastMs + GRACE_MS) {
      this.problems.push(`${fault}: ${what} took ${ms} ms to fail`);
    }
  }

  /** After healing, the same bag must answer again without being reopened. */
  async recover(fault: string, id: string): Promise<boolean> {
    const deadline = performance.now() + this.recoverMs;
    let last: unknown;
    while (performance.now() < deadline) {
      const r = await within(this.failFastMs + GRACE_MS, () => this.stores.instances.get(p1, id));
      if (r.state === 'ok') {
        this.log.push(`${fault}: healed, the same Stores answers again`);
        return true;
      }
      last = r.state === 'error' ? r.error : 'no answer';
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    this.problems.push(
      `${fault}: the same Stores did not recover within ${this.recoverMs} ms after the fault healed (last: ${String(last)})`,
    );
    return false;
  }

  /** Every acknowledged write is still there. */
  async checkAcked(): Promise<void> {
    for (const [id, revision] of this.acked) {
      const r = await within(this.recoverMs, () =>
        this.stores.instances.get(createContext({ projectId: 'p1', readDeleted: 'yes' }), id),
      );
      if (r.state !== 'ok')
        this.problems.push(
          `acknowledged write lost: instance ${id} (revision ${revision}) is gone`,
        );
      else if ((r.value as { revision: number }).revision < revision) {
        this.problems.push(
          `acknowledged write lost: instance ${id} is at revision ${(r.value as { revision: number }).revision}, after revision ${revision} was acknowledged`,
        );
      }
    }
  }
}

async function networkFault(
  run: FaultRun,
  proxy: TcpProxy,
  name: string,
  mode: TcpProxyMode,
  id: string,
): Promise<void> {
  proxy.set(mode);
  // The calls are independent and each must fail fast on its own: made at once, a fault
  // costs one fail-fast bound instead of four.
  await Promise.all([
    run.outage(name, 'instances.get', () => run.stores.instances.get(p1, id), false),
    run.outage(name, 'instances.list', () => run.stores.instances.list(p1, {}), false),
    run.outage(
      name,
      'instances.create',
      () => run.stores.instances.create(p1, { displayName: `during ${name}`, flavor: FLAVOR }),
      true,
    ),
    run.outage(
      name,
      'instances.update',
      () => run.stores.instances.update(p1, id, { displayName: `during ${name}` }),
      true,
    ),
  ]);
  proxy.heal();
  await run.recover(name, id);
}

/**
 * The fault group. Through a loopback TCP proxy the suite owns, between the adapter and
 * its server: added latency (calls still succeed), closed connections, a stall, and
 * responses dropped after the request went out (recorded as indeterminate); with process
 * control, also a killed and restarted server. Calls must fail fast with
 * `UnavailableError`, the same `Stores` must recover without being reopened, and no
 * acknowledged write may be lost.
 */
export async function runFaults(g: GroupContext): Promise<GroupOutcome> {
  const faults = g.session.options.faults;
  if (faults === undefined) {
    return {
      status: 'passed',
      runs: 0,
      notes: ['no `faults` option: every fault unit counts as skipped'],
    };
  }
  if ('inProcess' in faults) {
    for (const u of FAULT_UNITS)
      g.coverage.notApplicable(u, `in-process adapter: ${faults.inProcess}`);
    return { status: 'not-applicable', runs: 0, notes: [`n/a: in-process (${faults.inProcess})`] };
  }
  const target = faults.proxy.target;
  const proxy = await TcpProxy.start(target);
  g.session.setRoute((url) => url.split(target).join(proxy.address));
  let stores: Stores | undefined;
  const run = { value: undefined as FaultRun | undefined };
  try {
    stores = await g.session.open(
      g.session.namespace('f'),
      new ManualClock(CLOCK_EPOCH),
      sequentialIds(),
    );
    const r = new FaultRun(stores, faults.failFastMs ?? 5000, faults.recoverMs ?? 15_000);
    run.value = r;
    const a = await stores.instances.create(p1, { displayName: 'before', flavor: FLAVOR });
    r.ack(a);
    // Latency: slower, still correct.
    proxy.set({ kind: 'latency', ms: 40 });
    r.ack(
      await stores.instances.update(
        p1,
        a.id,
        { displayName: 'slow' },
        { expectedRevision: a.revision },
      ),
    );
    const slow = await stores.instances.get(p1, a.id);
    if (slow.displayName !== 'slow')
      r.problems.push('latency: a read after an acknowledged write did not see it');
    proxy.heal();
    g.coverage.tested('faults.latency');
    await networkFault(r, proxy, 'close', { kind: 'close' }, a.id);
    g.coverage.tested('faults.close');
    await networkFault(r, proxy, 'stall', { kind: 'stall' }, a.id);
    g.coverage.tested('faults.stall');
    // Drop the response of a write that reached the server: indeterminate, never a lie.
    const before = await stores.instances.get(p1, a.id);
    proxy.set({ kind: 'drop-responses' });
    const sent = proxy.bytesUp;
    await r.outage(
      'drop',
      'instances.update (response dropped)',
      () => stores!.instances.update(p1, a.id, { displayName: 'maybe' }),
      true,
    );
    if (proxy.bytesUp === sent) r.log.push('drop: the request never reached the server');
    proxy.heal();
    if (await r.recover('drop', a.id)) {
      const after = await stores.instances.get(p1, a.id);
      const applied = after.revision === before.revision + 1 && after.displayName === 'maybe';
      const untouched =
        after.revision === before.revision && after.displayName === before.displayName;
      if (!applied && !untouched)
        r.problems.push(
          `drop: after an indeterminate update the record is at revision ${after.revision} (${after.displayName}), neither the old nor the new state`,
        );
      r.log.push(
        `drop: the indeterminate update ${applied ? 'took effect' : 'did not take effect'}`,
      );
    }
    g.coverage.tested('faults.drop');
    if (faults.server) {
      await serverFaults(r, faults.server, a.id);
      g.coverage.tested('faults.server');
    } else {
      g.coverage.notApplicable('faults.server', 'no process control given (faults.server)');
    }
    await r.checkAcked();
    if (r.problems.length > 0) {
      throw new ConformanceFailure('faults', r.problems.join('\n'), {
        snippet: r.log.join('\n'),
        steps: r.log.length,
      });
    }
    return { status: 'passed', runs: 1, notes: r.log.map((l) => `· ${l}`) };
  } finally {
    g.session.setRoute(undefined);
    if (stores) await g.session.close(stores).catch(() => undefined);
    await proxy.close();
  }
}

async function serverFaults(r: FaultRun, server: ServerControl, id: string): Promise<void> {
  await server.kill();
  try {
    await Promise.all([
      r.outage('kill', 'instances.get', () => r.stores.instances.get(p1, id), false),
      r.outage(
        'kill',
        'instances.create',
        () => r.stores.instances.create(p1, { displayName: 'during kill', flavor: FLAVOR }),
        true,
      ),
    ]);
  } finally {
    await server.restart();
  }
  await r.recover('kill', id);
  if (server.pause && server.resume) {
    server.pause();
    try {
      await r.outage('pause', 'instances.get', () => r.stores.instances.get(p1, id), false);
    } finally {
      server.resume();
    }
    await r.recover('pause', id);
  }
}
