import { elementsBetween } from '@polystore/core/adapter';
import { admin, at, gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import { MongoClient } from 'mongodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredDocument } from '../src/layout.js';
import { MongoBackend } from '../src/mongo-backend.js';
import type { MongoOptions } from '../src/mongo-options.js';
import { type Acked, lostWrites, writeDuring } from './concurrent-writers.js';
import { dropDatabase, freshUrl } from './mongo-server.js';

// `contract` dropping a field removes its values from every document. On FerretDB v1 an
// update is a read, then a write of the whole document by id: one `updateMany` puts back
// a document as it was before an update another client had acknowledged meanwhile (the
// live-upgrade load test lost an update of `color` made while contract ran). The values
// are dropped under claims, as the adapter's own writes are: a batch's claims together,
// a document another client holds or moved on then on its own.

/** Records each round starts with. */
const RECORDS = 100;
/** Rounds, each on a fresh database (the race is a timing matter: one round may miss it). */
const ROUNDS = 3;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * A store expanded to 1.1 whose records hold a color, a 1.0 client on it, and a tool of
 * 1.1 on another backend (as another process would be) that will contract color away.
 */
async function store(adapter: MongoOptions, toolAdapter: MongoOptions = adapter) {
  const url = freshUrl('mongo_contract_race');
  cleanup.push(() => dropDatabase(url));
  const client = await MongoBackend.open(url, { resources: [gadgetV10], adapter });
  cleanup.push(() => client.close());
  const tool = await MongoBackend.open(url, { resources: [gadgetV11], adapter: toolAdapter });
  cleanup.push(() => tool.close());
  const raw = new MongoClient(url, { serverSelectionTimeoutMS: 2_000 });
  cleanup.push(() => raw.close());
  await tool.expand(gadgetV11, elementsBetween(gadgetV11, '1.0', '1.1').expand);
  const ids: string[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const id = `g${String(i).padStart(2, '0')}`;
    await tool
      .driver(gadgetV11)
      .insert(rec(id, { label: `${id}.0`, color: i % 3 === 0 ? null : 'red' }));
    ids.push(id);
  }
  return {
    client,
    tool,
    ids,
    docs: raw.db().collection<StoredDocument>('gadgets'),
    claims: raw.db().collection('_claims'),
  };
}

/** One round: the 1.0 client updates and soft-deletes without pause while the tool contracts. */
async function round(toolSerialises: boolean) {
  const { client, tool, ids, docs, claims } = await store({}, { serializeWrites: toolSerialises });
  expect(client.describe()).toMatchObject({ claimWrites: true });
  const acked = new Map<string, Acked>(ids.map((id) => [id, { label: `${id}.0`, deleted: false }]));
  let contractMs = 0;
  const duringContract = await writeDuring(client.driver(gadgetV10), acked, async () => {
    const started = performance.now();
    await tool.contract(gadgetV11, elementsBetween(gadgetV11, '1.1', '1.0').contract);
    contractMs = performance.now() - started;
  });
  const { stored, lost } = await lostWrites(docs, acked);
  const kept = stored
    .filter((d) => 'color' in d || '_null_color' in d)
    .map((d) => `${d._id}: ${JSON.stringify(d)}`);
  return { lost, kept, duringContract, contractMs, claimsLeft: await claims.countDocuments() };
}

describe('contract while another client writes (FerretDB: claimed value drops)', () => {
  it('keeps every update and soft delete acknowledged meanwhile, and drops every value', {
    timeout: 600_000,
  }, async () => {
    const lost: string[] = [];
    const kept: string[] = [];
    const rounds: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const out = await round(r % 2 === 0);
      rounds.push(
        `round ${r}: ${out.duringContract} writes acknowledged during contract ` +
          `(${Math.round(out.contractMs)} ms), ${out.lost.length} lost`,
      );
      lost.push(...out.lost.map((l) => `round ${r}: ${l}`));
      kept.push(...out.kept.map((l) => `round ${r}: ${l}`));
      // The writes really overlapped the contract, and its claims were released.
      expect(out.duringContract).toBeGreaterThan(0);
      expect(out.claimsLeft).toBe(0);
      for (const c of cleanup.splice(0).reverse()) await c();
    }
    console.log(rounds.join('\n'));
    expect(lost).toEqual([]);
    expect(kept).toEqual([]);
  });
});

describe('the values contract drops', () => {
  /** The FerretDB defaults (claimed and serialised writes), and the MongoDB path (neither). */
  const guards: [string, MongoOptions][] = [
    ['claimed', {}],
    ['unclaimed', { claimWrites: false, serializeWrites: false }],
  ];
  for (const [name, adapter] of guards) {
    it(`are gone from every document, revisions untouched (${name})`, async () => {
      const { tool, ids, docs } = await store(adapter);
      await tool.driver(gadgetV11).delete(admin, ids[1]!, { soft: true, at, expectedRevision: 1 });
      const before = await docs.find().sort({ _id: 1 }).toArray();
      await tool.contract(gadgetV11, elementsBetween(gadgetV11, '1.1', '1.0').contract);
      const after = await docs.find().sort({ _id: 1 }).toArray();
      expect(after).toEqual(
        before.map(({ color: _c, _null_color: _n, ...rest }) => rest as StoredDocument),
      );
      expect(after.map((d) => d.revision)).toEqual(before.map((d) => d.revision));
    });
  }
});
