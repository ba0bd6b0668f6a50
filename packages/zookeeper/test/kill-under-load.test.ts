import { createContext, type Stores, UnavailableError } from '@polystore/core';
import { startZooKeeper, type ZooKeeperServer } from '@polystore/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ZooKeeperBackend } from '../src/zookeeper-backend.js';
import { RECOVER_MS, until } from './fault-helpers.js';
import { openFresh } from './zookeeper-fixture.js';

// kill -9 of the server under a small concurrent load, down longer than the session
// timeout, then a restart: the same Stores must answer again (a new session) and every
// write it acknowledged must be read back.

const SESSION_MS = 2_000;
const LOOPS = 4;
const ROUNDS = 4;

let zk: ZooKeeperServer;
let stores: Stores;
let backend: ZooKeeperBackend;
const ctx = createContext({ projectId: 'p1' });
const flavor = { vcpus: 1, memoryMb: 512, rootGb: 1 };

beforeAll(async () => {
  zk = await startZooKeeper({ tickTime: 1_000 }); // durable: acknowledged means fsynced
  ({ stores, backend } = await openFresh(zk.url, {
    sessionTimeoutMs: SESSION_MS,
    requestTimeoutMs: 1_000,
    spinDelayMs: 100,
  }));
});
afterAll(async () => {
  await stores?.close();
  await zk?.stop();
});

type Instance = Awaited<ReturnType<Stores['instances']['create']>>;

/** One writer: creates records and updates them, remembering what was acknowledged. */
class Writer {
  /** The last acknowledged state of each record, and whether a write of unknown outcome followed it. */
  readonly acked = new Map<string, { record: Instance; unknownAfter: boolean }>();
  acks = 0;
  failures = 0;
  #stopped = false;
  readonly done: Promise<void>;

  constructor(readonly name: string) {
    this.done = this.#run();
  }

  stop(): Promise<void> {
    this.#stopped = true;
    return this.done;
  }

  async #run(): Promise<void> {
    let step = 0;
    let current: Instance | undefined;
    const deadline = Date.now() + 120_000;
    while (!this.#stopped && Date.now() < deadline) {
      step++;
      // Every fifth write creates a new record; the others update the current one.
      const updating = step % 5 === 0 ? undefined : current;
      try {
        current = updating
          ? await stores.instances.update(ctx, updating.id, { host: `${this.name}-${step}` })
          : await stores.instances.create(ctx, { flavor, displayName: `${this.name}-${step}` });
        this.acked.set(current.id, { record: current, unknownAfter: false });
        this.acks++;
      } catch (err) {
        // Unavailable: the outcome is unknown (it may have been applied); nothing else may happen.
        if (!(err instanceof UnavailableError)) throw err;
        this.failures++;
        const last = updating && this.acked.get(updating.id);
        if (last) last.unknownAfter = true;
        else current = undefined;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

it('answers after each kill -9 and restart under load, and loses no acknowledged write', async () => {
  const writers = Array.from({ length: LOOPS }, (_, i) => new Writer(`w${i}`));
  const acks = () => writers.map((w) => w.acks);
  const recoveries: number[] = [];
  try {
    await until(() => writers.every((w) => w.acks >= 10), 'acknowledged writes before the kill');
    for (let round = 0; round < ROUNDS; round++) {
      const sessions = backend.sessions;
      await zk.kill();
      // Down until the client gave its session up: longer than the session timeout.
      await until(() => backend.sessions > sessions, 'a new session after the outage');
      const atRestart = acks();
      const restarted = Date.now();
      await zk.restart();
      await until(
        () => writers.every((w, i) => w.acks >= atRestart[i]! + 10),
        `every writer acknowledged again after restart ${round + 1}`,
        RECOVER_MS,
      );
      recoveries.push(Date.now() - restarted);
    }
  } finally {
    await Promise.all(writers.map((w) => w.stop()));
  }
  let reread = 0;
  let lost = 0;
  for (const w of writers) {
    for (const [id, { record, unknownAfter }] of w.acked) {
      const now = await stores.instances.get(ctx, id);
      reread++;
      if (now.revision < record.revision) lost++;
      // A later write of unknown outcome may have landed; without one, the state is exactly it.
      if (unknownAfter) expect(now.revision).toBeGreaterThanOrEqual(record.revision);
      else expect(now).toEqual(record);
    }
  }
  const acked = writers.reduce((n, w) => n + w.acks, 0);
  const failures = writers.reduce((n, w) => n + w.failures, 0);
  console.info(
    `${ROUNDS} kills: 10 more acks per writer within ${recoveries.join(', ')} ms of each restart; ` +
      `${acked} writes acknowledged, ${failures} failed; ${reread} records re-read, ${lost} lost`,
  );
  expect(lost).toBe(0);
}, 90_000);
