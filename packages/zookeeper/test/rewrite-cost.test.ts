import type { AnyResource } from '@polystore/core';
import {
  type EvolutionDriver,
  elementsBetween,
  type StoredRecord,
  supportsEvolution,
} from '@polystore/core/adapter';
import { freshNamespace, startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { gadgetV10, gadgetV11, rec } from '@polystore/testing/evolution-fixtures';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodeString, encodeValue } from '../src/layout.js';
import { zookeeperAdapter } from '../src/zookeeper-adapter.js';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { ZooKeeperClient } from '../src/zookeeper-client.js';

// What migrate pays per record on ZooKeeper: a rewrite finds the record's entries from its
// own values (and the small or unmaintained index directories), so its requests do not grow
// with the store; `rewriteMany` converts many records in one multi.

const up = elementsBetween(gadgetV11, '1.0', '1.1');

let zk: ZooKeeperServer;
let client: ZooKeeperClient;
const opened: ZooKeeperBackend[] = [];

beforeAll(async () => {
  zk = await startZooKeeper({ fast: true });
  client = await ZooKeeperClient.connect({
    servers: `${zk.host}:${zk.port}`,
    sessionTimeoutMs: 4_000,
    requestTimeoutMs: 2_000,
    failFastMs: 5_000,
    connectTimeoutMs: 10_000,
    spinDelayMs: 100,
  });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((b) => b.close()));
});
afterAll(async () => {
  client?.close();
  await zk?.stop();
});

async function open(resource: AnyResource, chroot: string): Promise<ZooKeeperBackend> {
  const backend = (await zookeeperAdapter.open(new URL(zk.url), {
    resources: [resource],
    adapter: { chroot },
  })) as ZooKeeperBackend;
  opened.push(backend);
  return backend;
}

/** A store of `n` gadgets written by 1.0 code (label `l<i>`, ids `r<i>`), expanded to 1.1. */
async function expandedStore(n: number) {
  const chroot = `/${freshNamespace('zkcost')}`;
  const oldBackend = await open(gadgetV10, chroot);
  const oldDriver = oldBackend.driver(gadgetV10);
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) =>
        oldDriver.insert(rec(`r${i + j}`, { label: `l${i + j}` })),
      ),
    );
  }
  await oldBackend.expand(gadgetV11, up.expand);
  const backend = await open(gadgetV11, chroot);
  const driver = backend.driver(gadgetV11);
  if (!supportsEvolution(driver)) throw new Error('the zookeeper driver must support evolution');
  return { chroot, backend, driver: driver as typeof driver & EvolutionDriver };
}

/** The 1.1 form of a record as migrate writes it. */
function converted(r: StoredRecord, color: string | null = null): StoredRecord {
  return { ...r, color, objectVersion: '1.1' };
}

function shown(encoded: string): string {
  return encoded === '_' ? 'null' : (decodeString(encoded) ?? encoded);
}

/** Every entry of the label and color indexes and label uniques, and of `extra` index dirs, as sorted lines. */
async function entryLines(chroot: string, extra: readonly string[] = []): Promise<string[]> {
  const root = `${chroot}/gadgets`;
  const lines: string[] = [];
  for (const field of ['label', 'color', ...extra]) {
    const dir = `${root}/index/${field}`;
    const values = (await client.getChildren(dir)) ?? [];
    const ids = await Promise.all(values.map((v) => client.getChildren(`${dir}/${v}`)));
    values.forEach((v, i) => {
      for (const id of ids[i] ?? []) lines.push(`index:${field} ${id}=${shown(v)}`);
    });
  }
  const dir = `${root}/unique/label`;
  const values = (await client.getChildren(dir)) ?? [];
  const holders = await Promise.all(values.map((v) => client.getData(`${dir}/${v}`)));
  values.forEach((v, i) => {
    lines.push(`unique:label ${holders[i]?.data.toString('utf8')}=${shown(v)}`);
  });
  return lines.sort();
}

/** The entry lines 1.1 records call for. */
function expectedLines(records: readonly StoredRecord[]): string[] {
  return records
    .flatMap((r) => [
      `index:label ${r.id}=${r.label}`,
      `index:color ${r.id}=${r.color ?? 'null'}`,
      ...(r.deletedAt === null ? [`unique:label ${r.id}=${r.label}`] : []),
    ])
    .sort();
}

async function allRecords(driver: EvolutionDriver): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for (const v of Object.keys(await driver.countByVersion())) {
    out.push(...(await driver.scanVersion(v, undefined, 10_000)).records);
  }
  return out;
}

describe('rewrite cost', () => {
  it('takes as many requests in a store of 400 records as in one of 20', async () => {
    const figures: number[] = [];
    for (const n of [20, 400]) {
      const { backend, driver } = await expandedStore(n);
      const [r] = (await driver.scanVersion('1.0', undefined, 1)).records;
      const before = backend.requests;
      const out = await driver.rewrite(converted(r!, 'red'), r!.revision);
      expect(out.status).toBe('ok');
      figures.push(backend.requests - before);
    }
    expect(figures[1]).toBe(figures[0]);
    // About 20: its entries, the resource's directories and the small ones' values, one
    // read and one multi; not one probe per value of the label index (20 or 400).
    expect(figures[0]).toBeLessThanOrEqual(25);
  });

  it('still removes entries another layout left in a small or an unmaintained index', async () => {
    const { chroot, driver } = await expandedStore(40);
    const root = `${chroot}/gadgets`;
    await client.ensurePath(`${root}/index/color/${encodeValue('blue')}/r7`);
    await client.ensurePath(`${root}/index/size/${encodeValue(3)}/r7`);
    const r7 = (await driver.scanVersion('1.0', undefined, 100)).records.find((r) => r.id === 'r7');
    expect((await driver.rewrite(converted(r7!, 'red'), 1)).status).toBe('ok');
    expect(await client.getChildren(`${root}/index/color/${encodeValue('blue')}`)).toEqual([]);
    expect(await client.getChildren(`${root}/index/size/${encodeValue(3)}`)).toEqual([]);
    expect(await entryLines(chroot)).toEqual(expectedLines(await allRecords(driver)));
  });
});

describe('rewriteMany', () => {
  it('rewrites every record at its revision, leaving out a conflict and a unique clash', async () => {
    const { chroot, driver } = await expandedStore(120);
    const root = `${chroot}/gadgets`;
    await client.ensurePath(`${root}/index/color/${encodeValue('blue')}/r5`);
    const records = (await driver.scanVersion('1.0', undefined, 200)).records;
    expect(records).toHaveLength(120);
    const rewrites = records.map((r) => ({
      record:
        r.id === 'r9'
          ? converted({ ...r, label: 'l10' }) // l10 is r10's: a unique clash
          : converted(r, r.id === 'r5' ? 'red' : null),
      expectedRevision: r.id === 'r3' ? 7 : r.revision,
    }));
    const done = await driver.rewriteMany!(rewrites);
    expect([...done].sort()).toEqual(
      records
        .map((r) => r.id)
        .filter((id) => id !== 'r3' && id !== 'r9')
        .sort(),
    );
    expect(await driver.countByVersion()).toEqual({ '1.0': 2, '1.1': 118 });
    const after = await allRecords(driver);
    const byId = new Map(after.map((r) => [r.id, r]));
    expect(byId.get('r3')).toEqual(records.find((r) => r.id === 'r3'));
    expect(byId.get('r9')).toEqual(records.find((r) => r.id === 'r9'));
    expect(byId.get('r5')).toEqual({
      ...converted(records.find((r) => r.id === 'r5')!, 'red'),
      revision: 2,
    });
    // Every entry matches its record: the stale color entry of r5 is gone.
    expect(await entryLines(chroot)).toEqual(expectedLines(after));
    expect(await driver.rewriteMany!([])).toEqual([]);
  });

  it('returns no id for records gone or already rewritten, and changes nothing for them', async () => {
    const { chroot, driver } = await expandedStore(3);
    const records = (await driver.scanVersion('1.0', undefined, 10)).records;
    const rewrites = records.map((r) => ({ record: converted(r), expectedRevision: r.revision }));
    expect([...(await driver.rewriteMany!(rewrites))].sort()).toEqual(['r0', 'r1', 'r2']);
    const lines = await entryLines(chroot);
    const ghost = { record: converted(rec('ghost', { label: 'g' })), expectedRevision: 1 };
    expect(await driver.rewriteMany!([...rewrites, ghost])).toEqual([]);
    expect(await entryLines(chroot)).toEqual(lines);
    expect(await driver.countByVersion()).toEqual({ '1.1': 3 });
  });
});
