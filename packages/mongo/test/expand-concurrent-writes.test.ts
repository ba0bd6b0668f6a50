import { defineResource, f } from '@polystore/core';
import { elementsBetween } from '@polystore/core/adapter';
import {
  admin,
  at,
  gadgetBase,
  gadgetV10,
  gadgetV11,
  rec,
} from '@polystore/testing/evolution-fixtures';
import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredDocument } from '../src/layout.js';
import { MongoBackend } from '../src/mongo-backend.js';
import type { MongoOptions } from '../src/mongo-options.js';
import { type Acked, lostWrites, writeDuring } from './concurrent-writers.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

// `expand` adding a unique constraint gives documents the markers its index needs. On
// FerretDB v1 an update is a read, then a write of the whole document by id: a marker
// write that is not claimed like the adapter's own writes puts back a document as it was
// before an update (or a soft delete) another client had acknowledged meanwhile.

/** A later release: the nullable color becomes unique too (every 1.0 document needs its null marker). */
const gadgetV12 = defineResource({
  ...gadgetBase,
  version: '1.2',
  history: {
    '1.0': 'initial version',
    '1.1': { note: 'added color (indexed), label unique', addUnique: [['label']] },
    '1.2': { note: 'color unique', addUnique: [['color']] },
  },
  fields: {
    label: f.string().indexed(),
    color: f.string().nullable().indexed().addedIn('1.1'),
  },
  unique: [['label'], ['color']],
});

/** Records each round starts with. */
const RECORDS = 60;
/** Rounds, each on a fresh database (the race is a timing matter: one round may miss it). */
const ROUNDS = 6;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * One round: a 1.0 client (claimed and serialised writes, the FerretDB defaults) updates
 * and soft-deletes records without pause, while a tool on another backend expands the
 * store to 1.1 (label unique) and then to 1.2 (color unique). Returns what was lost, how
 * many writes were acknowledged while the expands ran, and the markers left wrong.
 */
async function round(expanderSerialises: boolean) {
  const url = freshUrl('mongo_expand_race');
  cleanup.push(() => dropDatabase(url));
  const client = await MongoBackend.open(url, { resources: [gadgetV10] });
  cleanup.push(() => client.close());
  // The tool: another backend, as another process would be (without the in-process
  // record lock its writes rely on claims alone).
  const tool = await MongoBackend.open(url, {
    resources: [gadgetV12],
    adapter: { serializeWrites: expanderSerialises },
  });
  cleanup.push(() => tool.close());
  expect(client.describe()).toMatchObject({ claimWrites: true });
  expect(tool.describe()).toMatchObject({ claimWrites: true });
  const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
  cleanup.push(() => raw.close());
  const docs = raw.db().collection<StoredDocument>('gadgets');

  const driver = client.driver(gadgetV10);
  const acked = new Map<string, Acked>();
  for (let i = 0; i < RECORDS; i++) {
    const id = `g${String(i).padStart(2, '0')}`;
    await driver.insert(rec(id, { label: `${id}.0` }));
    acked.set(id, { label: `${id}.0`, deleted: false });
  }

  let expandMs: number[] = [];
  const duringExpand = await writeDuring(driver, acked, async () => {
    const started = performance.now();
    await tool.expand(gadgetV11, elementsBetween(gadgetV11, '1.0', '1.1').expand);
    const v11 = performance.now();
    await tool.expand(gadgetV12, elementsBetween(gadgetV12, '1.1', '1.2').expand);
    expandMs = [v11 - started, performance.now() - v11];
  });

  const { stored, lost } = await lostWrites(docs, acked);
  const wrongMarkers: string[] = [];
  for (const d of stored) {
    const deleted = d.deletedAt !== null;
    // What the new unique index on color needs: liveness, and color's null marker.
    if (d._dead !== (deleted ? d._id : '') || d._null_color !== d._id)
      wrongMarkers.push(`${d._id}: _dead ${d._dead}, _null_color ${d._null_color}`);
  }
  const indexes = (await docs.listIndexes().toArray()).map((i) => i.name as string);
  return { lost, duringExpand, wrongMarkers, indexes, expandMs };
}

describe('expand while another client writes (FerretDB: claimed marker writes)', () => {
  it('keeps every update and soft delete acknowledged meanwhile, and leaves every marker right', {
    timeout: 600_000,
  }, async () => {
    const lost: string[] = [];
    const wrongMarkers: string[] = [];
    const rounds: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const out = await round(r % 2 === 0);
      rounds.push(
        `round ${r}: ${out.duringExpand} writes acknowledged during expand ` +
          `(${out.expandMs.map((ms) => `${Math.round(ms)} ms`).join(' + ')}), ${out.lost.length} lost`,
      );
      lost.push(...out.lost.map((l) => `round ${r}: ${l}`));
      wrongMarkers.push(...out.wrongMarkers.map((l) => `round ${r}: ${l}`));
      expect(out.indexes).toEqual(expect.arrayContaining(['unique_label', 'unique_color']));
      // The writes really overlapped the expands.
      expect(out.duringExpand).toBeGreaterThan(0);
      for (const c of cleanup.splice(0).reverse()) await c();
    }
    console.log(rounds.join('\n'));
    expect(lost).toEqual([]);
    expect(wrongMarkers).toEqual([]);
  });
});

describe('the markers expand writes', () => {
  /** The FerretDB defaults (claimed and serialised writes), and the MongoDB path (neither). */
  const guards: [string, MongoOptions][] = [
    ['claimed', {}],
    ['unclaimed', { claimWrites: false, serializeWrites: false }],
  ];

  for (const [name, adapter] of guards) {
    it(`are only those the new index needs, changing no revision (${name})`, async () => {
      const url = freshUrl('mongo_expand_marks');
      cleanup.push(() => dropDatabase(url));
      const client = await MongoBackend.open(url, { resources: [gadgetV10], adapter });
      cleanup.push(() => client.close());
      const tool = await MongoBackend.open(url, { resources: [gadgetV12], adapter });
      cleanup.push(() => tool.close());
      const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
      cleanup.push(() => raw.close());
      const docs = raw.db().collection<StoredDocument>('gadgets');
      const driver = client.driver(gadgetV10);
      await driver.insert(rec('r1', { label: 'one' }));
      await driver.insert(rec('r2', { label: 'two' }));
      await driver.delete(admin, 'r2', { soft: true, at, expectedRevision: undefined });
      // As an older layout wrote them: no liveness marker on a live record, a live one on a
      // deleted record.
      const { id: _l1, ...l1 } = rec('l1', { label: 'three' }, { revision: 4 });
      await docs.insertOne({ _id: 'l1', ...l1 });
      const { id: _l2, ...l2 } = rec('l2', { label: 'four' }, { revision: 7, deletedAt: at });
      await docs.insertOne({ _id: 'l2', ...l2, _dead: '' });
      const before = await docs.find().sort({ _id: 1 }).toArray();

      // label is no nullable field: its index needs the liveness marker only.
      await tool.expand(gadgetV11, elementsBetween(gadgetV11, '1.0', '1.1').expand);
      const afterV11 = await docs.find().sort({ _id: 1 }).toArray();
      expect(afterV11).toEqual([
        { ...before[0], _dead: '' },
        { ...before[1], _dead: 'l2' },
        before[2],
        before[3],
      ]);

      // color is nullable and no 1.0 document has it: each gets its null marker.
      await tool.expand(gadgetV12, elementsBetween(gadgetV12, '1.1', '1.2').expand);
      expect(await docs.find().sort({ _id: 1 }).toArray()).toEqual(
        afterV11.map((d) => ({ ...d, _null_color: d._id })),
      );
      // The claims of the marker writes are released.
      expect(await raw.db().collection('_claims').countDocuments()).toBe(0);
      // The index holds: a second live record without color does not clash, a deleted
      // record frees its label.
      await driver.insert(rec('r3', { label: 'two' }));
      await expect(driver.insert(rec('r4', { label: 'three' }))).rejects.toMatchObject({
        code: 'DUPLICATE',
      });
    });
  }
});
