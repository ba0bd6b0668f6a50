/**
 * One client of the live-upgrade load: a service process of one widget release (L, M or
 * N) that joins the fleet and makes random store calls until told to stop, logging every
 * call and its outcome ({@link CallLog}). It writes only the fields its fleet's pin has (it
 * reads `member.pin` before choosing them), and only serials of its own, so a
 * `DuplicateError` on the unique serial cannot happen.
 *
 * The same code runs in a worker process (`test/upgrade-load-worker.ts`) and, for
 * `memory:` (whose database lives in one process), inside the test process.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  type AnyResource,
  ConflictError,
  createContext,
  type RequestContext,
} from '@polystore/core';
import { type FleetMember, joinFleet, type StoreTarget } from '@polystore/migrate';
import { widgetL, widgetM, widgetN } from '@polystore/testing/upgrade-fixtures';
import {
  type CallEntry,
  CallLog,
  type CallOp,
  type LoggedRecord,
  nowMs,
  type Release,
} from './call-log.js';

/** The project every load client works in. */
export const LOAD_PROJECT = 'upgrade-load';

/** The fleet service every load client belongs to. */
export const LOAD_SERVICE = 'widget-api';

/** The widget definition and release string of each release. */
export const RELEASES = {
  L: { resource: widgetL, release: '1.0.0' },
  M: { resource: widgetM, release: '1.1.0' },
  N: { resource: widgetN, release: '2.0.0' },
} as const satisfies Record<Release, { resource: AnyResource; release: string }>;

/** The values of a widget as a client sends them (the fields of whichever release). */
export type WidgetValues = Readonly<Record<string, string | number | null>>;

/** A widget as the stores return it, whatever the release. */
interface WidgetRecord extends Readonly<Record<string, unknown>> {
  readonly id: string;
  readonly revision: number;
  readonly objectVersion: string;
  readonly deletedAt: string | null;
}

/** The calls a client makes, typed loosely enough for all three releases. */
interface WidgetApi {
  create(ctx: RequestContext, values: WidgetValues): Promise<WidgetRecord>;
  get(ctx: RequestContext, id: string): Promise<WidgetRecord>;
  list(
    ctx: RequestContext,
    options: Readonly<Record<string, unknown>>,
  ): Promise<{ readonly items: readonly WidgetRecord[]; readonly next: string | null }>;
  update(
    ctx: RequestContext,
    id: string,
    patch: WidgetValues,
    options?: { readonly expectedRevision?: number },
  ): Promise<WidgetRecord>;
  delete(
    ctx: RequestContext,
    id: string,
    options?: { readonly expectedRevision?: number },
  ): Promise<WidgetRecord>;
}

/** Options of {@link runLoadClient}. */
export interface LoadClientOptions {
  /** The store (a URL). */
  readonly target: StoreTarget;
  readonly release: Release;
  /** The client's name: its serials start with it, its log lines carry it. */
  readonly client: string;
  /** Ids of records every client works on besides its own. */
  readonly shared: readonly string[];
  /** The log file (appended to). */
  readonly log: string;
  /** Seed of the client's random choices. */
  readonly seed: number;
  /** The fleet member's heartbeat interval and lease, ms. */
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  /** At most this many calls per second (the load is meant to overlap phases, not flood the host). */
  readonly maxCallsPerSecond: number;
  /**
   * At most this many creates (then updates instead), and half as many deletes: the
   * store's size stays bounded however long a phase takes on a slow backend.
   */
  readonly maxCreates: number;
  /** Stops the client after its current call. */
  readonly signal: AbortSignal;
}

/** What a client did, by outcome class. */
export interface LoadClientSummary {
  readonly client: string;
  readonly calls: number;
  readonly outcomes: Readonly<Record<string, number>>;
}

/** mulberry32: a small seeded generator, so a client's choices follow from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The fields of a widget a logged record keeps. */
const LOGGED_FIELDS = ['serial', 'size', 'name', 'note', 'color', 'title'] as const;

/** A returned widget as the log keeps it (the fields its release reads). */
export function logged(returned: object): LoggedRecord {
  const record = returned as WidgetRecord;
  const out: Record<string, unknown> = {
    id: record.id,
    revision: record.revision,
    objectVersion: record.objectVersion,
    deletedAt: record.deletedAt,
  };
  for (const f of LOGGED_FIELDS) if (f in record) out[f] = record[f];
  return out as unknown as LoggedRecord;
}

/**
 * The fields a client of `release` may set now, at the fleet's `pin`: its code's fields
 * that the pin's version has too (an update may set only those).
 */
export function writableFields(release: Release, pin: string): readonly string[] {
  switch (release) {
    case 'L':
      return ['name', 'size', 'note'];
    case 'M':
      return pin === '1.0' ? ['name', 'size', 'note'] : ['name', 'size', 'note', 'color', 'title'];
    case 'N':
      return ['size', 'color', 'title'];
  }
}

/** A random value of a widget field; `tag` makes strings traceable to the call. */
function randomValue(field: string, random: () => number, tag: string): string | number | null {
  switch (field) {
    case 'name':
      return `n-${tag}`;
    case 'title':
      return `t-${tag}`;
    case 'note':
      return random() < 0.3 ? null : `note-${tag}`;
    case 'size':
      return Math.floor(random() * 100);
    case 'color':
      return random() < 0.2 ? null : random() < 0.5 ? 'small' : 'large';
    default:
      throw new Error(`no value for field ${field}`);
  }
}

const isList = (out: WidgetRecord | readonly WidgetRecord[]): out is readonly WidgetRecord[] =>
  Array.isArray(out);

/** A record this client knows of: its last known revision and whether it saw it deleted. */
interface Known {
  revision: number;
  deleted: boolean;
}

/**
 * Joins the fleet as a client of `release` and makes random calls until `signal` aborts,
 * then leaves the fleet. Every call is logged; calls are made one at a time.
 */
export async function runLoadClient(options: LoadClientOptions): Promise<LoadClientSummary> {
  const { release, client, shared, signal } = options;
  const { resource, release: releaseName } = RELEASES[release];
  const log = new CallLog(options.log);
  const random = seededRandom(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const ctx = createContext({ projectId: LOAD_PROJECT });
  const outcomes: Record<string, number> = {};
  let member: FleetMember | undefined;
  try {
    member = await joinFleet(options.target, {
      service: LOAD_SERVICE,
      release: releaseName,
      member: `${client}:${process.pid}`,
      resources: [resource],
      heartbeatMs: options.heartbeatMs,
      leaseMs: options.leaseMs,
      onHeartbeatError: (err) =>
        log.write({
          kind: 'event',
          client,
          release,
          event: 'heartbeat-error',
          at: nowMs(),
          detail: `${(err as Error).name}: ${(err as Error).message}`,
        }),
    });
    const fleet = member;
    log.write({
      kind: 'event',
      client,
      release,
      event: 'joined',
      at: nowMs(),
      detail: `pin ${fleet.pin(resource)}`,
    });
    const store = fleet.stores.store(resource) as unknown as WidgetApi;
    const own: string[] = [];
    const known = new Map<string, Known>();
    const serials: string[] = [];
    let seq = 0;
    let created = 0;
    let deletes = 0;
    const started = nowMs();

    const live = (ids: readonly string[]) => ids.filter((id) => !known.get(id)?.deleted);
    const target = (): string | undefined => {
      const mine = live(own);
      if (mine.length > 0 && random() < 0.5) return pick(mine);
      const others = live(shared);
      return others.length > 0 ? pick(others) : undefined;
    };
    const note = (r: WidgetRecord) =>
      known.set(r.id, { revision: r.revision, deleted: r.deletedAt !== null });
    const revisionFor = (id: string): number | undefined => {
      const k = known.get(id);
      if (k === undefined || random() < 0.7) return undefined;
      // Now and then a revision known to be stale, so conflicts happen for sure.
      return random() < 0.2 ? Math.max(1, k.revision - 1) : k.revision;
    };
    const patchOf = (pin: string, tag: string): Record<string, string | number | null> => {
      const fields = writableFields(release, pin);
      const patch: Record<string, string | number | null> = {};
      const n = 1 + Math.floor(random() * 2);
      for (let i = 0; i < n; i++) {
        const f = pick(fields);
        patch[f] = randomValue(f, random, tag);
      }
      return patch;
    };
    const listOptions = (): Record<string, unknown> => {
      const menu: Record<string, unknown>[] = [{ limit: 20 }];
      if (serials.length > 0) menu.push({ where: { serial: pick(serials) } });
      if (release !== 'L') menu.push({ orderBy: { field: 'size', direction: 'desc' }, limit: 20 });
      // color is queryable for N only: N starts after M's switch published it.
      if (release === 'N') menu.push({ where: { color: pick(['small', 'large']) }, limit: 20 });
      return pick(menu);
    };

    const call = async (
      op: CallOp,
      id: string | undefined,
      args: Record<string, unknown> | undefined,
      expectedRevision: number | undefined,
      pin: string,
      run: () => Promise<WidgetRecord | readonly WidgetRecord[]>,
    ) => {
      const start = nowMs();
      const base = {
        kind: 'call' as const,
        client,
        release,
        seq: seq++,
        op,
        pin,
        ...(id === undefined ? {} : { id }),
        ...(args === undefined ? {} : { args }),
        ...(expectedRevision === undefined ? {} : { expectedRevision }),
      };
      let entry: CallEntry;
      try {
        const out = await run();
        if (isList(out)) {
          for (const r of out) {
            note(r);
            if (!serials.includes(r.serial as string) && serials.length < 500)
              serials.push(r.serial as string);
          }
          entry = { ...base, start, end: nowMs(), outcome: 'ok', items: out.map(logged) };
        } else {
          note(out);
          entry = {
            ...base,
            ...(op === 'create' ? { id: out.id } : {}),
            start,
            end: nowMs(),
            outcome: 'ok',
            record: logged(out),
          };
        }
      } catch (err) {
        const e = err as Error;
        if (err instanceof ConflictError) {
          const k = known.get(err.id);
          if (k) k.revision = err.currentRevision;
        }
        if (e.name === 'NotFoundError' && id !== undefined) {
          const k = known.get(id);
          known.set(id, { revision: k?.revision ?? 0, deleted: true });
        }
        entry = {
          ...base,
          start,
          end: nowMs(),
          outcome: e.name,
          message: e.message,
          ...(err instanceof ConflictError ? { currentRevision: err.currentRevision } : {}),
        };
      }
      outcomes[entry.outcome] = (outcomes[entry.outcome] ?? 0) + 1;
      log.write(entry);
    };

    while (!signal.aborted) {
      // Pace to the rate; also yields to the event loop, so heartbeats run on time even
      // where every call completes synchronously (memory).
      const due = started + (seq / options.maxCallsPerSecond) * 1000;
      const wait = due - nowMs();
      if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
      else await yieldToLoop();
      if (signal.aborted) break;
      const pin = fleet.pin(resource);
      const tag = `${client}-${seq}`;
      const dice = random();
      const mayCreate = created < options.maxCreates;
      if ((dice < 0.1 && mayCreate) || (own.length === 0 && shared.length === 0)) {
        const serial = `${client}-${created++}`;
        const values: Record<string, string | number | null> = { serial };
        for (const f of writableFields(release, pin)) {
          if (random() < 0.6) values[f] = randomValue(f, random, tag);
        }
        serials.push(serial);
        await call('create', undefined, values, undefined, pin, async () => {
          const r = await store.create(ctx, values);
          own.push(r.id);
          return r;
        });
      } else if (dice < 0.5) {
        const id = target();
        if (id === undefined) continue;
        const patch = patchOf(pin, tag);
        const expectedRevision = revisionFor(id);
        await call('update', id, patch, expectedRevision, pin, () =>
          store.update(
            ctx,
            id,
            patch,
            expectedRevision === undefined ? undefined : { expectedRevision },
          ),
        );
      } else if (dice < 0.55 && deletes < options.maxCreates / 2) {
        // Mostly its own records; now and then a shared one, which other clients then miss.
        // At most half as many as it may create, so live records remain however long it runs.
        deletes++;
        const mine = live(own);
        const id = mine.length > 0 && random() < 0.7 ? pick(mine) : target();
        if (id === undefined) continue;
        const expectedRevision = revisionFor(id);
        await call('delete', id, undefined, expectedRevision, pin, () =>
          store.delete(ctx, id, expectedRevision === undefined ? undefined : { expectedRevision }),
        );
      } else if (dice < 0.8) {
        const id = target();
        if (id === undefined) continue;
        await call('get', id, undefined, undefined, pin, () => store.get(ctx, id));
      } else {
        const opts = listOptions();
        await call(
          'list',
          undefined,
          opts,
          undefined,
          pin,
          async () => (await store.list(ctx, opts)).items,
        );
      }
    }
  } finally {
    await member?.close();
    log.write({ kind: 'event', client, release, event: 'closed', at: nowMs() });
    await log.close();
  }
  const calls = Object.values(outcomes).reduce((a, n) => a + n, 0);
  return { client, calls, outcomes };
}

/**
 * Seeds `count` widgets with L's code (release 1.0.0, in a fleet member of its own that
 * leaves once done), logging each create as client `seed`; the ids, in order.
 */
export async function seedWidgets(
  target: StoreTarget,
  count: number,
  logPath: string,
): Promise<string[]> {
  const member = await joinFleet(target, {
    service: 'widget-seed',
    release: RELEASES.L.release,
    resources: [widgetL],
  });
  const log = new CallLog(logPath);
  const ctx = createContext({ projectId: LOAD_PROJECT });
  const store = member.stores.store(widgetL) as unknown as WidgetApi;
  const ids: string[] = [];
  try {
    // A few at a time: quicker than one by one, gentle on a shared host.
    for (let from = 0; from < count; from += 16) {
      const batch = Array.from({ length: Math.min(16, count - from) }, (_, k) => from + k);
      const created = await Promise.all(
        batch.map(async (i) => {
          const values = {
            serial: `seed-${i}`,
            name: `seed ${i}`,
            size: (i * 37) % 100,
            note: i % 3 === 0 ? null : `note ${i}`,
          };
          const start = nowMs();
          const r = await store.create(ctx, values);
          log.write({
            kind: 'call',
            client: 'seed',
            release: 'L',
            seq: i,
            op: 'create',
            id: r.id,
            args: values,
            pin: member.pin(widgetL),
            start,
            end: nowMs(),
            outcome: 'ok',
            record: logged(r),
          });
          return r.id;
        }),
      );
      ids.push(...created);
    }
  } finally {
    await log.close();
    await member.close();
  }
  return ids;
}
