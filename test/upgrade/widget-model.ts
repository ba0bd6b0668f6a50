/**
 * The oracle of `live-upgrade.test.ts`: classifies every logged call's outcome, and replays
 * the acknowledged writes, ordered by revision per record, into a model of each widget
 * across the releases L (1.0), M (1.1) and N (2.0). The model is written from the fixture's
 * documented history, not from the library's code: a record stored at 1.0 shows
 * `color` = `large` when `size` ≥ 50 else `small`, and `title` = `name`; the first write at
 * 1.1 or later (or the migrate's rewrite) stores those values, which then change only when
 * written.
 *
 * Checks, each a list of findings (empty when all is well):
 * - every acknowledged write's returned record equals the model right after it;
 * - every record read (get, list) equals the model at the revision it shows;
 * - no revision of a record is acknowledged twice, no write acknowledged after its delete;
 * - list items match the query's filter and order;
 * - the final store, read by N's code, equals the model field by field.
 */
import type { CallEntry, LogEntry, LoggedRecord, Release } from './call-log.js';

/** A widget in the model: every field of every release. */
export interface ModelWidget {
  readonly id: string;
  serial: string;
  name: string;
  size: number;
  note: string | null;
  /** `undefined` while the record is stored at 1.0 (the value is derived when read). */
  color: string | null | undefined;
  title: string | undefined;
  deleted: boolean;
  /** The revision of the last acknowledged write. */
  revision: number;
}

/** The fields each release reads. */
const FIELDS_OF: Record<Release, readonly string[]> = {
  L: ['serial', 'name', 'size', 'note'],
  M: ['serial', 'name', 'size', 'note', 'color', 'title'],
  N: ['serial', 'size', 'color', 'title'],
};

/** `color` as 1.1's up-transform derives it from a 1.0 record's size. */
export function colorOfSize(size: number): 'small' | 'large' {
  return size >= 50 ? 'large' : 'small';
}

/** The widget as a release's code reads it (plus `deleted`). */
export function viewOf(w: ModelWidget, release: Release): Record<string, unknown> {
  const all: Record<string, unknown> = {
    serial: w.serial,
    name: w.name,
    size: w.size,
    note: w.note,
    color: w.color === undefined ? colorOfSize(w.size) : w.color,
    title: w.title === undefined ? w.name : w.title,
  };
  const out: Record<string, unknown> = { deleted: w.deleted };
  for (const f of FIELDS_OF[release]) out[f] = all[f];
  return out;
}

/** A logged or stored record as the same kind of view. */
export function viewOfRecord(r: LoggedRecord, release: Release): Record<string, unknown> {
  const out: Record<string, unknown> = { deleted: r.deletedAt !== null };
  for (const f of FIELDS_OF[release]) out[f] = (r as unknown as Record<string, unknown>)[f];
  return out;
}

/** Field-level differences between two views, e.g. `title: "a" ≠ "b"`. */
export function diffViews(
  got: Readonly<Record<string, unknown>>,
  want: Readonly<Record<string, unknown>>,
): string[] {
  const keys = new Set([...Object.keys(got), ...Object.keys(want)]);
  return [...keys]
    .filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k]))
    .map((k) => `${k}: got ${JSON.stringify(got[k])}, model ${JSON.stringify(want[k])}`);
}

/** Failed calls by how they are explained. */
export interface OutcomeClasses {
  /** Calls by operation. */
  readonly byOp: Record<string, number>;
  /** Calls by outcome (`ok` or the error class). */
  readonly byOutcome: Record<string, number>;
  /** Conflicts on a stale `expectedRevision` and not-founds of a record a client deleted. */
  readonly expected: Record<string, number>;
  /** Every other failed call, described. */
  readonly unexpected: readonly string[];
}

const describeCall = (c: CallEntry) =>
  `${c.client}#${c.seq} @${(c.start / 1000).toFixed(3)} ${c.op}${c.id ? ` ${c.id}` : ''} (pin ${c.pin}${
    c.expectedRevision === undefined ? '' : `, expectedRevision ${c.expectedRevision}`
  }) → ${c.outcome}${c.message ? `: ${c.message}` : ''}`;

/** The call entries of some logs. */
export function callsOf(entries: readonly LogEntry[]): CallEntry[] {
  return entries.filter((e): e is CallEntry => e.kind === 'call');
}

/**
 * Classifies every call: a `ConflictError` is expected when the call gave an
 * `expectedRevision` the record no longer had; a `NotFoundError` when some client's delete
 * of that record was acknowledged and had started before this call ended. Anything else
 * that failed is unexpected.
 */
export function classify(calls: readonly CallEntry[]): OutcomeClasses {
  const deletedFrom = new Map<string, number>();
  for (const c of calls) {
    if (c.op === 'delete' && c.outcome === 'ok' && c.id !== undefined)
      deletedFrom.set(c.id, Math.min(deletedFrom.get(c.id) ?? Number.POSITIVE_INFINITY, c.start));
  }
  const byOp: Record<string, number> = {};
  const byOutcome: Record<string, number> = {};
  const expected: Record<string, number> = {};
  const unexpected: string[] = [];
  for (const c of calls) {
    byOp[c.op] = (byOp[c.op] ?? 0) + 1;
    byOutcome[c.outcome] = (byOutcome[c.outcome] ?? 0) + 1;
    if (c.outcome === 'ok') continue;
    let explained = false;
    if (c.outcome === 'ConflictError')
      explained = c.expectedRevision !== undefined && c.currentRevision !== c.expectedRevision;
    else if (c.outcome === 'NotFoundError' && c.id !== undefined)
      explained = (deletedFrom.get(c.id) ?? Number.POSITIVE_INFINITY) <= c.end;
    if (explained) expected[c.outcome] = (expected[c.outcome] ?? 0) + 1;
    else unexpected.push(describeCall(c));
  }
  return { byOp, byOutcome, expected, unexpected };
}

/** The model built from the acknowledged writes, and what disagreed with it. */
export interface ModelReplay {
  readonly widgets: ReadonlyMap<string, ModelWidget>;
  /** Acknowledged writes whose returned record is not the model's after them. */
  readonly writeMismatches: readonly string[];
  /** Records read (get, list) that are not the model at their revision. */
  readonly readMismatches: readonly string[];
  /** The same revision of a record acknowledged to two writes (a lost write). */
  readonly repeatedRevisions: readonly string[];
  /** Writes acknowledged after (by revision) an acknowledged delete of the record. */
  readonly writesAfterDelete: readonly string[];
  /** List items that do not match the list's filter, or are out of order. */
  readonly listMismatches: readonly string[];
}

interface Snapshot {
  readonly revision: number;
  readonly widget: ModelWidget;
}

/** Applies one acknowledged write to the model (the widget before it, or none for a create). */
function apply(before: ModelWidget | undefined, call: CallEntry): ModelWidget {
  const record = call.record!;
  const args = (call.args ?? {}) as Record<string, unknown>;
  const at10 = record.objectVersion === '1.0';
  if (call.op === 'create') {
    return {
      id: record.id,
      serial: args.serial as string,
      name: (args.name as string | undefined) ?? '',
      size: (args.size as number | undefined) ?? 0,
      note: (args.note as string | null | undefined) ?? null,
      color: at10 ? undefined : ((args.color as string | null | undefined) ?? null),
      title: at10 ? undefined : ((args.title as string | undefined) ?? ''),
      deleted: false,
      revision: record.revision,
    };
  }
  const w: ModelWidget = { ...before!, revision: record.revision };
  if (call.op === 'delete') {
    w.deleted = true;
    return w;
  }
  // A write at 1.1 or later of a record stored at 1.0 stores the derived fields first.
  if (!at10 && w.color === undefined) w.color = colorOfSize(w.size);
  if (!at10 && w.title === undefined) w.title = w.name;
  for (const [k, v] of Object.entries(args)) (w as unknown as Record<string, unknown>)[k] = v;
  return w;
}

/** The model's state of a record at `revision`: after its last acknowledged write up to it. */
function stateAt(history: readonly Snapshot[], revision: number): ModelWidget | undefined {
  let found: ModelWidget | undefined;
  for (const s of history) {
    if (s.revision > revision) break;
    found = s.widget;
  }
  return found;
}

/** Replays the acknowledged writes of `calls` and checks every returned and read record. */
export function replay(calls: readonly CallEntry[]): ModelReplay {
  const writes = new Map<string, CallEntry[]>();
  for (const c of calls) {
    if (c.outcome !== 'ok' || c.record === undefined) continue;
    if (c.op !== 'create' && c.op !== 'update' && c.op !== 'delete') continue;
    const list = writes.get(c.record.id) ?? [];
    list.push(c);
    writes.set(c.record.id, list);
  }
  const widgets = new Map<string, ModelWidget>();
  const histories = new Map<string, Snapshot[]>();
  const writeMismatches: string[] = [];
  const repeatedRevisions: string[] = [];
  const writesAfterDelete: string[] = [];
  for (const [id, list] of writes) {
    list.sort((a, b) => a.record!.revision - b.record!.revision);
    const history: Snapshot[] = [];
    let w: ModelWidget | undefined;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      const prev = list[i - 1];
      if (prev && prev.record!.revision === c.record!.revision)
        repeatedRevisions.push(
          `${id} revision ${c.record!.revision}: ${describeCall(prev)} and ${describeCall(c)}`,
        );
      if (c.op === 'create' && w !== undefined) {
        writeMismatches.push(`${describeCall(c)}: a create of an id already written`);
        continue;
      }
      if (c.op !== 'create' && w === undefined) {
        writeMismatches.push(`${describeCall(c)}: a write of a record never created`);
        continue;
      }
      if (w?.deleted)
        writesAfterDelete.push(`${describeCall(c)} at revision ${c.record!.revision}`);
      w = apply(w, c);
      history.push({ revision: w.revision, widget: w });
      const diff = diffViews(viewOfRecord(c.record!, c.release), viewOf(w, c.release));
      if (diff.length > 0)
        writeMismatches.push(
          `${describeCall(c)} revision ${c.record!.revision}: ${diff.join('; ')}`,
        );
    }
    if (w) widgets.set(id, w);
    histories.set(id, history);
  }

  const readMismatches: string[] = [];
  const listMismatches: string[] = [];
  const checkRead = (c: CallEntry, r: LoggedRecord) => {
    const at = stateAt(histories.get(r.id) ?? [], r.revision);
    if (at === undefined) {
      readMismatches.push(
        `${describeCall(c)}: read ${r.id} at revision ${r.revision}, unknown to the model`,
      );
      return;
    }
    const diff = diffViews(viewOfRecord(r, c.release), viewOf(at, c.release));
    if (diff.length > 0)
      readMismatches.push(
        `${describeCall(c)}: ${r.id} at revision ${r.revision}: ${diff.join('; ')}`,
      );
  };
  for (const c of calls) {
    if (c.outcome !== 'ok') continue;
    if (c.op === 'get' && c.record) checkRead(c, c.record);
    if (c.op !== 'list' || !c.items) continue;
    for (const r of c.items) checkRead(c, r);
    const where = (c.args?.where ?? {}) as Record<string, unknown>;
    for (const r of c.items) {
      for (const [field, value] of Object.entries(where)) {
        if ((r as unknown as Record<string, unknown>)[field] !== value)
          listMismatches.push(
            `${describeCall(c)}: ${r.id} has ${field} ${JSON.stringify((r as unknown as Record<string, unknown>)[field])}, not ${JSON.stringify(value)}`,
          );
      }
    }
    const order = c.args?.orderBy as { field: string; direction: 'asc' | 'desc' } | undefined;
    if (order) {
      for (let i = 1; i < c.items.length; i++) {
        const a = (c.items[i - 1] as unknown as Record<string, number>)[order.field]!;
        const b = (c.items[i] as unknown as Record<string, number>)[order.field]!;
        if (order.direction === 'asc' ? a > b : a < b)
          listMismatches.push(
            `${describeCall(c)}: items ${i - 1} and ${i} out of ${order.direction} order`,
          );
      }
    }
  }
  return {
    widgets,
    writeMismatches,
    readMismatches,
    repeatedRevisions,
    writesAfterDelete,
    listMismatches,
  };
}

/**
 * Compares the final store, as N's code reads it (every record, deleted ones too), with the
 * model: the same ids, and per record the same N fields and deletion.
 */
export function compareFinal(
  stored: readonly LoggedRecord[],
  model: ReadonlyMap<string, ModelWidget>,
): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const r of stored) {
    seen.add(r.id);
    const w = model.get(r.id);
    if (!w) {
      out.push(`${r.id} (serial ${r.serial}) is stored but no acknowledged create made it`);
      continue;
    }
    const diff = diffViews(viewOfRecord(r, 'N'), viewOf(w, 'N'));
    if (diff.length > 0) out.push(`${r.id} (serial ${r.serial}): ${diff.join('; ')}`);
  }
  for (const id of model.keys())
    if (!seen.has(id)) out.push(`${id}: acknowledged but missing from the store`);
  return out;
}
