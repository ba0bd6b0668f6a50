/**
 * The example service upgraded from release 1.0 to 1.1 of its instance object while it
 * serves: two service processes (`npm start` as a fleet member), a client driving HTTP
 * requests all along, and the operator's steps run through `@polystore/migrate`'s API,
 * exactly as the README's "Upgrading a running fleet" walk-through runs them with
 * `polystore migrate`: expand → deploy 1.1 beside 1.0 → retire 1.0 → migrate → switch.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  exitCodeOf,
  MigrateExitCode,
  openUpgrade,
  type Upgrade,
  UpgradeBlockedError,
} from '@polystore/migrate';
import { freshStoreUrl, removeTempDirs, type StoreBackend } from '@polystore/testing/vitest';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { COMPUTE_RELEASES } from '../src/index.js';

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const PROJECT = 'upgrade-demo';
const HEARTBEAT_MS = 500;
/** Generous bounds: the machine is shared and slow at times; nothing here sleeps a fixed time. */
const DEADLINE_MS = 60_000;

/** The `start` script of package.json as argv (it is one plain command). */
function startCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return pkg.scripts.start!.split(' ');
}

/** Polls `check` until it returns a value other than `undefined`, or fails at the deadline. */
async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A running service process of one release. */
interface ServiceProcess {
  readonly release: string;
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** Requests of the load in flight to it now. */
  inFlight: number;
}

const children: ChildProcess[] = [];

async function startService(storeUrl: string, release: '1.0' | '1.1'): Promise<ServiceProcess> {
  const [command, ...args] = startCommand();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POLYSTORE_URL: storeUrl,
    PORT: '0',
    COMPUTE_RELEASE: release,
    POLYSTORE_FLEET: '1',
    POLYSTORE_HEARTBEAT_MS: String(HEARTBEAT_MS),
  };
  delete env.INIT_CWD;
  const child = spawn(command!, args, { cwd: PACKAGE_DIR, env, detached: true });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      // The curl hint is the last line printed at start.
      const m = /listening on (http:\/\/\S+)[\s\S]*try: curl/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => reject(new Error(`${release} exited with ${code}:\n${out}`)));
  });
  expect(out).toContain(`release ${release} (instance ${release}), fleet member `);
  return { release, url, child, output: () => out, inFlight: 0 };
}

/** One answer the load got. */
interface Outcome {
  readonly op: 'create' | 'get' | 'list' | 'task-state';
  readonly release: string;
  readonly status: number;
  readonly code: string | undefined;
  readonly message: string | undefined;
}

const TASK_STATES = [null, 'scheduling', 'spawning', 'networking'] as const;

/**
 * The client side: a few workers sending creates, gets, lists and task-state changes, in
 * turn to each service in the rotation (a load balancer's round robin), recording every
 * answer. Task-state changes name an expected state at random, so some answer 409.
 */
class Load {
  readonly rotation: ServiceProcess[] = [];
  readonly outcomes: Outcome[] = [];
  readonly created: string[] = [];
  #next = 0;
  #stopped = false;
  #workers: Promise<void>[] = [];

  constructor(readonly networkId: string) {}

  start(workers: number): void {
    for (let i = 0; i < workers; i++) this.#workers.push(this.#work(i));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers);
  }

  /** Resolves once `n` more answers came back, `atLeast` of them from `release` if given. */
  async advance(n: number, release?: string): Promise<void> {
    const from = this.outcomes.length;
    await until(`${n} more answers${release ? ` from ${release}` : ''}`, () => {
      const since = this.outcomes.slice(from);
      const counted = release ? since.filter((o) => o.release === release) : since;
      return counted.length >= n ? true : undefined;
    });
  }

  /** Takes a service out of the rotation and waits for its requests in flight to finish. */
  async drain(service: ServiceProcess): Promise<void> {
    this.rotation.splice(this.rotation.indexOf(service), 1);
    await until(`the requests in flight to ${service.release} to finish`, () =>
      service.inFlight === 0 ? true : undefined,
    );
  }

  async #work(worker: number): Promise<void> {
    let i = 0;
    while (!this.#stopped) {
      const target = this.rotation[this.#next++ % this.rotation.length]!;
      target.inFlight++;
      try {
        const kind = this.created.length < 5 ? 0 : (worker + i++) % 4;
        this.outcomes.push(await this.#send(target, kind));
      } finally {
        target.inFlight--;
      }
    }
  }

  #pick(): string {
    return this.created[Math.floor(Math.random() * this.created.length)]!;
  }

  async #send(target: ServiceProcess, kind: number): Promise<Outcome> {
    const op = (['create', 'get', 'list', 'task-state'] as const)[kind]!;
    let res: Response;
    try {
      if (op === 'create') {
        res = await api(target, 'POST', '/v1/instances', {
          displayName: `vm-${this.created.length}`,
          networkId: this.networkId,
          flavor: { vcpus: 1, memoryMb: 512, rootGb: 10 },
        });
      } else if (op === 'get') {
        res = await api(target, 'GET', `/v1/instances/${this.#pick()}`);
      } else if (op === 'list') {
        res = await api(target, 'GET', '/v1/instances?limit=20');
      } else {
        const pick = () => TASK_STATES[Math.floor(Math.random() * TASK_STATES.length)]!;
        res = await api(target, 'POST', `/v1/instances/${this.#pick()}/task-state`, {
          taskState: pick(),
          expected: [pick(), pick()],
        });
      }
    } catch (err) {
      return {
        op,
        release: target.release,
        status: 0,
        code: 'FETCH_FAILED',
        message: err instanceof Error ? `${err.message} ${String(err.cause)}` : String(err),
      };
    }
    const body = (await res.json()) as {
      instance?: { id: string };
      error?: { code: string; message: string };
    };
    if (op === 'create' && res.status === 201) this.created.push(body.instance!.id);
    return {
      op,
      release: target.release,
      status: res.status,
      code: body.error?.code,
      message: body.error?.message,
    };
  }
}

function api(
  service: Pick<ServiceProcess, 'url'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${service.url}${path}`, {
    method,
    headers: { 'X-Project-Id': PROJECT, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Stops a service as an orchestrator does (SIGTERM) and checks it left cleanly. */
async function stopService(service: ServiceProcess): Promise<void> {
  const exited = new Promise<number | null>((resolve) =>
    service.child.once('exit', (code) => resolve(code)),
  );
  service.child.kill('SIGTERM');
  expect(await exited, service.output()).toBe(0);
}

/** Every instance of the project whose zone is `zone`, through the API, every page. */
async function listZone(service: ServiceProcess, zone: string) {
  const items: { id: string; objectVersion: string; availabilityZone: string }[] = [];
  let after: string | null = null;
  do {
    const res = await api(
      service,
      'GET',
      `/v1/instances?availabilityZone=${zone}&limit=100${after ? `&after=${after}` : ''}`,
    );
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: typeof items; next: string | null };
    items.push(...page.items);
    after = page.next;
  } while (after !== null);
  return items;
}

/** How many items have each key (Node 20 has no `Object.groupBy`). */
function tally<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) out.set(key(item), (out.get(key(item)) ?? 0) + 1);
  return out;
}

let upgrade: Upgrade | undefined;
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(-child.pid, 'SIGKILL');
  }
  await upgrade?.close();
  upgrade = undefined;
});
afterAll(removeTempDirs);

const BACKENDS: readonly StoreBackend[] = ['sqlite', 'postgres', 'redis', 'zookeeper', 'mongo'];

describe.each(BACKENDS)(
  'the compute API upgraded from 1.0 to 1.1 while it serves, on %s',
  (backend) => {
    it('answers every request (409 only for a task-state conflict) and ends with every instance at 1.1, queryable by zone', async () => {
      const storeUrl = await freshStoreUrl(backend, 'compute_upgrade');
      const v10 = await startService(storeUrl, '1.0');
      const network = await api(v10, 'POST', '/v1/networks', {
        label: 'lan',
        cidr: '10.0.0.0/16',
      });
      expect(network.status).toBe(201);
      const load = new Load(((await network.json()) as { id: string }).id);
      load.rotation.push(v10);
      load.start(3);
      await load.advance(20);

      // 1. expand, with the 1.1 definitions: the store gains availabilityZone (write-only)
      //    and its index; 1.0 keeps serving.
      upgrade = await openUpgrade(storeUrl, { resources: COMPUTE_RELEASES['1.1'].resources });
      expect(exitCodeOf(await upgrade.status())).toBe(MigrateExitCode.expandNeeded);
      const [expanded] = (await upgrade.expand()).filter((r) => r.resource === 'instance');
      expect(expanded!.elements).toEqual(
        expect.arrayContaining(['field availabilityZone', 'index availabilityZone (eq)']),
      );
      await load.advance(20);

      // 2. deploy 1.1 beside 1.0: it joins at the fleet's pin, 1.0, so both write 1.0 records.
      const v11 = await startService(storeUrl, '1.1');
      load.rotation.push(v11);
      await load.advance(20, '1.1');
      // While pinned, 1.1 refuses a zone it could not store, and the zone is not queryable;
      // 1.0 does not know the field at all.
      const zoned = await api(v11, 'POST', '/v1/instances', {
        displayName: 'early',
        networkId: load.networkId,
        flavor: { vcpus: 1, memoryMb: 512, rootGb: 10 },
        availabilityZone: 'az-2',
      });
      expect(zoned.status).toBe(400);
      expect(await zoned.json()).toMatchObject({
        error: { code: 'INVALID_INPUT', fields: [{ field: 'availabilityZone' }] },
      });
      const early = await api(v11, 'GET', '/v1/instances?availabilityZone=nova');
      expect(early.status).toBe(400);
      expect(await early.json()).toMatchObject({ error: { code: 'INVALID_QUERY' } });
      expect((await api(v10, 'GET', '/v1/instances?availabilityZone=nova')).status).toBe(400);

      // The pin cannot move while a 1.0 process is live.
      let status = await upgrade.status();
      expect(status.services.map((s) => s.release).sort()).toEqual(['1.0', '1.1']);
      expect(exitCodeOf(status)).toBe(MigrateExitCode.blocked);
      await expect(upgrade.migrate({ waitMs: 100 })).rejects.toBeInstanceOf(UpgradeBlockedError);

      // 3. retire 1.0: out of the rotation, its requests finish, SIGTERM (it leaves the fleet).
      await load.drain(v10);
      await stopService(v10);
      status = await upgrade.status();
      expect(status.services.map((s) => s.release)).toEqual(['1.1']);
      expect(exitCodeOf(status)).toBe(MigrateExitCode.migrateNeeded);

      // 4. migrate under load: the pin moves to 1.1 (acknowledged by 1.1's next heartbeat),
      //    then every 1.0 record is converted in batches.
      const before = load.outcomes.length;
      const reports = await upgrade.migrate({ batch: 25 });
      const instance = reports.find((r) => r.resource === 'instance')!;
      expect(instance).toMatchObject({ pin: { from: '1.0', to: '1.1' }, remaining: 0 });
      expect(instance.converted).toBeGreaterThan(0);
      expect(load.outcomes.length).toBeGreaterThan(before);
      expect(exitCodeOf(await upgrade.status())).toBe(MigrateExitCode.switchNeeded);

      // 5. switch: availabilityZone becomes queryable; 1.1 sees it within one heartbeat.
      await upgrade.switch();
      await until('the zone to be queryable through 1.1', async () => {
        const res = await api(v11, 'GET', '/v1/instances?availabilityZone=nova&limit=1');
        return res.status === 200 ? true : undefined;
      });
      await load.advance(20);
      await load.stop();

      // Every request was answered; the only refusals are task-state conflicts.
      const failed = load.outcomes.filter(
        (o) => o.status >= 300 && !(o.status === 409 && o.op === 'task-state'),
      );
      expect(failed).toEqual([]);
      for (const o of load.outcomes.filter((x) => x.status === 409))
        expect(o.code).toBe('CONFLICT');
      const byRelease = tally(load.outcomes, (o) => o.release);
      expect(byRelease.get('1.0')).toBeGreaterThan(0);
      expect(byRelease.get('1.1')).toBeGreaterThan(0);

      // A zone can be set now, and every instance is stored at 1.1 and found by zone.
      const placed = await api(v11, 'POST', '/v1/instances', {
        displayName: 'zoned',
        networkId: load.networkId,
        flavor: { vcpus: 1, memoryMb: 512, rootGb: 10 },
        availabilityZone: 'az-2',
      });
      expect(placed.status).toBe(201);
      const zonedId = ((await placed.json()) as { instance: { id: string } }).instance.id;
      expect((await listZone(v11, 'az-2')).map((i) => i.id)).toEqual([zonedId]);
      const nova = await listZone(v11, 'nova');
      expect(nova.map((i) => i.id).sort()).toEqual([...load.created].sort());
      expect(new Set(nova.map((i) => i.objectVersion))).toEqual(new Set(['1.1']));

      status = await upgrade.status();
      const stored = status.resources.find((r) => r.resource === 'instance')!.stored;
      expect(stored).toEqual({ '1.1': load.created.length + 1 });
      expect(exitCodeOf(status)).toBe(MigrateExitCode.upToDate);
      await stopService(v11);

      const counts = tally(load.outcomes, (o) => `${o.op} ${o.status}`);
      console.log(
        `${backend}: ${load.outcomes.length} requests, ${load.created.length} instances, ${instance.converted} converted; ${[
          ...counts,
        ]
          .map(([k, n]) => `${k}: ${n}`)
          .sort()
          .join(', ')}`,
      );
    }, 240_000);
  },
);
