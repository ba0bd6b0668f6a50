import {
  type EvolutionDriver,
  type StoredRecord,
  supportsEvolution,
} from '@polystore/core/adapter';
import { admin, at, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredDocument } from '../src/layout.js';
import { MongoBackend } from '../src/mongo-backend.js';
import type { ClaimDocument } from '../src/record-claims.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

// `rewriteMany`, the batch the live-upgrade engine's migrate uses: under claims (FerretDB)
// a batch is claimed in one insert, read by id and replaced in one bulk write; a record
// not at its revision, gone, claimed by another process or clashing on a unique index is
// left out (the engine rewrites those one by one), and no concurrent write is lost.

const opened: { backends: MongoBackend[]; clients: MongoClient[]; urls: string[] } = {
  backends: [],
  clients: [],
  urls: [],
};

afterEach(async () => {
  for (const b of opened.backends.splice(0)) await b.close();
  for (const c of opened.clients.splice(0)) await c.close();
  for (const u of opened.urls.splice(0)) await dropDatabase(u);
});

type Driver = ReturnType<MongoBackend['driver']> & EvolutionDriver;

async function open(url: string, adapter: Record<string, unknown> = {}) {
  const backend = await MongoBackend.open(url, { resources: [gadgetV11], adapter });
  opened.backends.push(backend);
  const driver = backend.driver(gadgetV11);
  if (!supportsEvolution(driver)) throw new Error('the mongo driver must support evolution');
  return driver as Driver;
}

/** A fresh database with `n` gadgets stored at 1.0 (ids `r000`…, labels `l<i>`). */
async function store(n: number, adapter: Record<string, unknown> = {}) {
  const url = freshUrl('mongo_rewrite_many');
  opened.urls.push(url);
  const driver = await open(url, adapter);
  for (let i = 0; i < n; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, (_, k) =>
        driver.insert(
          rec(`r${String(i + k).padStart(3, '0')}`, { label: `l${i + k}`, color: null }),
        ),
      ),
    );
  }
  const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
  opened.clients.push(raw);
  return {
    url,
    driver,
    docs: raw.db().collection<StoredDocument>('gadgets'),
    claims: raw.db().collection<ClaimDocument>('_claims'),
  };
}

/** Record `r` converted to 1.1 with color `color`. */
function converted(r: StoredRecord, color: string | null = 'blue'): StoredRecord {
  return { ...r, color, objectVersion: '1.1' };
}

async function all(driver: Driver): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for (const v of ['1.0', '1.1'])
    out.push(...(await driver.scanVersion(v, undefined, 1000)).records);
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

describe.each([
  ['under claims (FerretDB)', {}],
  ['without claims (the MongoDB path)', { claimWrites: false, serializeWrites: false }],
])('rewriteMany %s', (_name, adapter) => {
  it('rewrites every record at its revision, leaving out a conflict, a gone record and a unique clash', async () => {
    const { driver } = await store(120, adapter);
    const records = (await driver.scanVersion('1.0', undefined, 200)).records;
    expect(records).toHaveLength(120);
    const ghost = rec('zz-ghost', { label: 'ghost', color: null });
    const rewrites = [
      ...records.map((r) => ({
        // l10 is r010's: a unique clash
        record: r.id === 'r009' ? converted({ ...r, label: 'l10' }) : converted(r),
        expectedRevision: r.id === 'r003' ? 7 : r.revision,
      })),
      { record: converted(ghost), expectedRevision: 1 },
    ];
    const done = await driver.rewriteMany!(rewrites);
    const expected = records.map((r) => r.id).filter((id) => id !== 'r003' && id !== 'r009');
    expect([...done].sort()).toEqual(expected);
    expect(await driver.countByVersion()).toEqual({ '1.0': 2, '1.1': 118 });
    const byId = new Map((await all(driver)).map((r) => [r.id, r]));
    expect(byId.get('r003')).toEqual(records[3]);
    expect(byId.get('r009')).toEqual(records[9]);
    for (const id of expected) {
      const before = records.find((r) => r.id === id)!;
      expect(byId.get(id)).toEqual({ ...converted(before), revision: before.revision + 1 });
    }
    expect(byId.has('zz-ghost')).toBe(false);
    expect(await driver.rewriteMany!([])).toEqual([]);
  });

  it('rewrites soft-deleted records of any project', async () => {
    const url = freshUrl('mongo_rewrite_many');
    opened.urls.push(url);
    const driver = await open(url, adapter);
    const gone = await driver.insert(
      rec('d', { label: 'd', color: null }, { projectId: 'p9', deletedAt: at, revision: 4 }),
    );
    const live = await driver.insert(rec('e', { label: 'e', color: null }, { projectId: 'p8' }));
    expect(
      [
        ...(await driver.rewriteMany!(
          [gone, live].map((r) => ({ record: converted(r), expectedRevision: r.revision })),
        )),
      ].sort(),
    ).toEqual(['d', 'e']);
    expect(await all(driver)).toEqual([
      { ...converted(gone), revision: 5 },
      { ...converted(live), revision: 2 },
    ]);
  });
});

describe('rewriteMany under claims', () => {
  it('leaves out a record whose step another process holds, and drops only its own claims', async () => {
    const { driver, claims } = await store(10);
    const records = (await driver.scanVersion('1.0', undefined, 20)).records;
    const key = JSON.stringify(['gadgets', 'r004', 2]);
    const foreign = {
      _id: JSON.stringify(['gadgets', 'r004', 2, 0]),
      key,
      epoch: 0,
      token: 'other',
    };
    await claims.insertOne(foreign);
    const done = await driver.rewriteMany!(
      records.map((r) => ({ record: converted(r), expectedRevision: r.revision })),
    );
    expect([...done].sort()).toEqual(records.map((r) => r.id).filter((id) => id !== 'r004'));
    expect(await claims.find().toArray()).toEqual([foreign]);
  });

  it('loses no write of another process that updates the records meanwhile', async () => {
    const { url, driver, docs } = await store(150);
    // Another process: its own backend (its own claims), writing without a lock shared with this one.
    const other = await open(url, { serializeWrites: false });
    const records = (await driver.scanVersion('1.0', undefined, 200)).records;
    const applied = new Map<string, number>();
    let stop = false;
    const writer = async (w: number) => {
      for (let k = 0; !stop; k++) {
        const r = records[(w * 37 + k * 11) % records.length]!;
        const out = await other.update(admin, r.id, {
          set: { label: `w${w}-${k}-${r.label}` },
          updatedAt: at,
          objectVersion: '1.0',
          expectedRevision: undefined,
          expected: undefined,
        });
        if (out.status === 'ok') applied.set(r.id, (applied.get(r.id) ?? 0) + 1);
      }
    };
    const writers = [0, 1, 2].map(writer);
    const done = new Set(
      await driver.rewriteMany!(
        records.map((r) => ({ record: converted(r), expectedRevision: r.revision })),
      ),
    );
    stop = true;
    await Promise.all(writers);
    // Every acknowledged step is in the revision: an update and a rewrite never both won one.
    for (const d of await docs.find().toArray()) {
      const id = d._id as string;
      expect(d.revision, id).toBe(1 + (applied.get(id) ?? 0) + (done.has(id) ? 1 : 0));
    }
    expect(done.size).toBeGreaterThan(0);
  });
});
