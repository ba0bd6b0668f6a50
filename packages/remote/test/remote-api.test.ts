import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adminContext,
  ConflictError,
  createContext,
  DuplicateError,
  ForbiddenError,
  InvalidInputError,
  InvalidQueryError,
  NotFoundError,
  openStores,
  type PolystoreError,
  type Stores,
  UnavailableError,
  UniqueViolationError,
} from '@polystore/core';
import { openMemoryStores } from '@polystore/memory';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createStoreServer,
  openRemoteStores,
  type StoreServer,
  staticTokens,
} from '../src/index.js';
import { decodeError, encodeError } from '../src/wire-errors.js';
import { newToken } from './support.js';

const TOKENS = {
  service: newToken(),
  p1: newToken(),
  p2: newToken(),
  admin: newToken(),
};
const verifyToken = staticTokens({
  tokens: [
    { token: TOKENS.service, role: 'service', name: 'compute' },
    { token: TOKENS.p1, role: 'project', projectId: 'p1', userId: 'alice' },
    { token: TOKENS.p2, role: 'project', projectId: 'p2', userId: 'bob' },
    { token: TOKENS.admin, role: 'admin', userId: 'ops' },
  ],
});

const p1 = createContext({ projectId: 'p1', userId: 'alice' });
const p2 = createContext({ projectId: 'p2', userId: 'bob' });
const admin = adminContext({ userId: 'ops' });

let local: Stores;
let server: StoreServer;
const opened: Stores[] = [];

async function client(token: string): Promise<Stores> {
  const s = await openRemoteStores(server.url, { adapter: { token, timeoutMs: 5_000 } });
  opened.push(s);
  return s;
}

/** What a caller can observe of an error: its class, message, and every own field. */
function observable(err: unknown): Record<string, unknown> {
  const e = err as PolystoreError & Record<string, unknown>;
  return {
    class: e.constructor.name,
    message: e.message,
    code: e.code,
    retriable: e.retriable,
    ...Object.fromEntries(Object.entries(e)),
    fields: e.fields,
  };
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function post(path: string, body: string, token?: string): Promise<Response> {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body,
  });
}

beforeAll(async () => {
  local = openMemoryStores();
  server = await createStoreServer(local, { verifyToken, maxBodyBytes: 64 * 1024 });
});

afterAll(async () => {
  for (const s of opened) await s.close();
  await server.close();
  await local.close();
});

describe('errors cross the wire exactly', () => {
  it('ConflictError, DuplicateError, InvalidInputError, NotFoundError and InvalidQueryError: same class, message and fields as locally', async () => {
    const remote = await client(TOKENS.service);
    const net = await remote.networks.create(p1, { label: 'lan', cidr: '10.1.0.0/24', vlan: 7 });
    const vm = await remote.instances.create(p1, { flavor: { vcpus: 1, memoryMb: 1, rootGb: 1 } });
    const cases: [string, (s: Stores) => Promise<unknown>][] = [
      [
        'conflict on revision',
        (s) => s.networks.update(p1, net.id, { label: 'x' }, { expectedRevision: 9 }),
      ],
      [
        'conflict on expected value',
        (s) =>
          s.instances.update(
            p1,
            vm.id,
            { taskState: 'spawning' },
            {
              expected: { taskState: ['deleting'] },
            },
          ),
      ],
      ['duplicate', (s) => s.networks.create(p1, { label: 'b', cidr: '10.2.0.0/24', vlan: 7 })],
      [
        'invalid input',
        (s) =>
          s.instances.create(p1, {
            flavor: { vcpus: -1, memoryMb: 1, rootGb: 1 },
            displayName: 7 as never,
          }),
      ],
      ['not found', (s) => s.networks.get(p2, net.id)],
      ['forged cursor', (s) => s.networks.list(p1, { limit: 1, after: 'c2.eyJ4IjoxfQ.AAAA' })],
      ['bad query', (s) => s.networks.list(p1, { where: { cidr: 'x' } as never })],
      [
        'forbidden purge',
        (s) => s.networks.purge(p1, { deletedBefore: '2030-01-01T00:00:00.000Z' }),
      ],
    ];
    for (const [what, run] of cases) {
      const want = await failure(run(local));
      const got = await failure(run(remote));
      expect(observable(got), what).toEqual(observable(want));
      expect(got, what).toBeInstanceOf((want as object).constructor);
    }
    const conflict = await failure(cases[1]![1](remote));
    expect(conflict).toBeInstanceOf(ConflictError);
    expect(conflict).toMatchObject({ reason: 'expected', field: 'taskState', currentRevision: 1 });
    expect(await failure(cases[2]![1](remote))).toBeInstanceOf(DuplicateError);
    expect((await failure(cases[3]![1](remote))) as InvalidInputError).toMatchObject({
      fields: ['displayName', 'flavor.vcpus'].sort(),
    });
  });

  it('a UniqueViolationError crosses with its class, fields and the clashing ids', () => {
    const back = decodeError(
      encodeError(new UniqueViolationError('gadget', ['label'], ['id-1', 'id-2'])),
    );
    expect(back).toBeInstanceOf(UniqueViolationError);
    expect(back).toMatchObject({ code: 'DUPLICATE', fields: ['label'], ids: ['id-1', 'id-2'] });
    expect(back.message).toContain('id-1, id-2');
  });

  it('an untyped server-side error crosses as a bare UnavailableError, its text withheld', () => {
    const wire = encodeError(new TypeError('relation "secret_table" does not exist'));
    expect(JSON.stringify(wire)).not.toContain('secret_table');
    const back = decodeError(wire);
    expect(back).toBeInstanceOf(UnavailableError);
    expect(back.retriable).toBe(true);
  });
});

describe('auth', () => {
  it('no token and an unknown token are 401, and refused at open', async () => {
    const none = await post('/v1/hello', '{"protocol":1,"manifest":{}}');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await post('/v1/call', '{}', 'not-a-real-token-at-all')).status).toBe(401);
    await expect(
      openRemoteStores(server.url, { adapter: { token: 'not-a-real-token-at-all' } }),
    ).rejects.toBeInstanceOf(ForbiddenError);
    const saved = process.env.POLYSTORE_TOKEN;
    delete process.env.POLYSTORE_TOKEN;
    try {
      await expect(openRemoteStores(server.url)).rejects.toThrow(/no bearer token/);
    } finally {
      if (saved !== undefined) process.env.POLYSTORE_TOKEN = saved;
    }
  });

  it("a project token touching another project's ids gets the same NotFoundError as locally; acting for another project is Forbidden; nothing changes", async () => {
    const service = await client(TOKENS.service);
    const theirs = await service.instances.create(p2, {
      flavor: { vcpus: 1, memoryMb: 1, rootGb: 1 },
      displayName: 'bobs',
    });
    const a = await client(TOKENS.p1);
    const want = await failure(local.instances.get(p1, theirs.id));
    expect(observable(await failure(a.instances.get(p1, theirs.id)))).toEqual(observable(want));
    expect(
      await failure(a.instances.update(p1, theirs.id, { displayName: 'mine' })),
    ).toBeInstanceOf(NotFoundError);
    expect(await failure(a.instances.delete(p1, theirs.id))).toBeInstanceOf(NotFoundError);
    // The token, not the request, says who the caller is.
    expect(await failure(a.instances.get(p2, theirs.id))).toBeInstanceOf(ForbiddenError);
    expect(
      await failure(a.instances.update(p2, theirs.id, { displayName: 'mine' })),
    ).toBeInstanceOf(ForbiddenError);
    expect(await failure(a.instances.list(admin))).toBeInstanceOf(ForbiddenError);
    expect(await local.instances.get(p2, theirs.id)).toEqual(theirs);
    // A project token still chooses readDeleted, and sees its own rows.
    const mine = await a.instances.create(p1, { flavor: { vcpus: 1, memoryMb: 1, rootGb: 1 } });
    expect(mine.projectId).toBe('p1');
    await a.instances.delete(p1, mine.id);
    const gone = createContext({ projectId: 'p1', readDeleted: 'only' });
    expect((await a.instances.list(gone)).items.map((r) => r.id)).toContain(mine.id);
    // An admin token acts as admin only.
    const ops = await client(TOKENS.admin);
    expect(await ops.instances.get(admin, theirs.id)).toEqual(theirs);
    expect(await failure(ops.instances.get(p2, theirs.id))).toBeInstanceOf(ForbiddenError);
  });
});

describe('hostile requests get typed errors and change nothing', () => {
  it('oversized bodies, malformed JSON, unknown methods and resources, forged cursors', async () => {
    const before = await local.networks.count(admin);
    const big = await post(
      '/v1/call',
      JSON.stringify({
        resource: 'network',
        method: 'create',
        ctx: p1,
        args: [{ label: 'x'.repeat(70_000) }],
      }),
      TOKENS.service,
    );
    expect(big.status).toBe(413);
    expect(decodeError(((await big.json()) as { error: unknown }).error)).toBeInstanceOf(
      InvalidInputError,
    );
    const remote = await client(TOKENS.service);
    expect(
      await failure(
        remote.networks.create(p1, {
          label: 'y'.repeat(200),
          cidr: '10.9.0.0/24',
          dnsServers: Array(9000).fill('10.0.0.1'),
        }),
      ),
    ).toBeInstanceOf(InvalidInputError);
    for (const body of ['{not json', '[]', '{"resource":"network"}', 'null', '"x"']) {
      const res = await post('/v1/call', body, TOKENS.service);
      expect(res.status, body).toBe(400);
      expect(decodeError(((await res.json()) as { error: unknown }).error), body).toBeInstanceOf(
        InvalidInputError,
      );
    }
    for (const [resource, method] of [
      ['network', 'driver'],
      ['network', 'constructor'],
      ['network', '__proto__'],
      ['nope', 'get'],
      ['network', 'toString'],
    ]) {
      const res = await post(
        '/v1/call',
        JSON.stringify({ resource, method, ctx: p1, args: [] }),
        TOKENS.service,
      );
      expect(res.status, `${resource}.${method}`).toBe(400);
    }
    const res = await post('/v1/hello', '{"protocol":1,"manifest":', TOKENS.service);
    expect(res.status).toBe(400);
    expect(
      await failure(remote.networks.list(p1, { after: 'c2.forged.AAAAAAAAAAAAAAAAAAAAAA' })),
    ).toBeInstanceOf(InvalidQueryError);
    expect(await local.networks.count(admin)).toBe(before);
  });

  it('over the rate limit is a retriable UnavailableError (HTTP 429)', async () => {
    const limited = await createStoreServer(local, {
      verifyToken,
      rateLimit: { perSecond: 1, burst: 3 },
    });
    try {
      // The hello takes one token of the burst.
      const s = await openRemoteStores(limited.url, { adapter: { token: TOKENS.p1 } });
      opened.push(s);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, () => s.instances.count(p1)),
      );
      const refused = outcomes.filter((o) => o.status === 'rejected');
      expect(refused.length).toBeGreaterThanOrEqual(3);
      for (const r of refused) {
        expect(r.reason).toBeInstanceOf(UnavailableError);
        expect(r.reason.retriable).toBe(true);
      }
    } finally {
      await limited.close();
    }
  });
});

describe('reachability', () => {
  it('an unreachable server is UnavailableError at open and on calls after it went away', async () => {
    const gone = await createStoreServer(local, { verifyToken });
    const s = await openRemoteStores(gone.url, {
      adapter: { token: TOKENS.p1, timeoutMs: 2_000 },
    });
    opened.push(s);
    expect(await s.instances.count(p1)).toBeGreaterThanOrEqual(0);
    await gone.close();
    expect(await failure(s.instances.count(p1))).toBeInstanceOf(UnavailableError);
    await expect(
      openRemoteStores(gone.url, { adapter: { token: TOKENS.p1 } }),
    ).rejects.toBeInstanceOf(UnavailableError);
    await gone.listen();
    expect(await s.instances.count(p1)).toBeGreaterThanOrEqual(0);
    await gone.close();
  });

  it('openStores finds the adapter by the http: scheme, with the token in the URL', async () => {
    const url = new URL(server.url);
    url.username = 'compute';
    url.password = TOKENS.service;
    const s = await openStores(url.toString());
    opened.push(s);
    expect(s.backend).toBe('remote:memory');
    expect(s.capabilities).toEqual(local.capabilities);
    expect(Object.isFrozen(s.capabilities)).toBe(true);
  });
});

describe('TLS', () => {
  let dir: string;
  let tls: StoreServer;
  let cert: Buffer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'remote-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(join(dir, 'cert.pem'));
    tls = await createStoreServer(local, {
      verifyToken,
      tls: { key: readFileSync(join(dir, 'key.pem')), cert },
    });
  });
  afterAll(async () => {
    await tls.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves https:// to a client that trusts the certificate, and refuses one that does not', async () => {
    expect(tls.url).toMatch(/^https:\/\//);
    const s = await openRemoteStores(tls.url, { adapter: { token: TOKENS.p1, ca: cert } });
    opened.push(s);
    const vm = await s.instances.create(p1, { flavor: { vcpus: 2, memoryMb: 1, rootGb: 1 } });
    expect(await s.instances.get(p1, vm.id)).toEqual(vm);
    await expect(
      openRemoteStores(tls.url, { adapter: { token: TOKENS.p1 } }),
    ).rejects.toBeInstanceOf(UnavailableError);
    // Plain HTTP to the TLS port is not answered as a store either.
    await expect(
      openRemoteStores(tls.url.replace('https:', 'http:'), {
        adapter: { token: TOKENS.p1, timeoutMs: 2_000 },
      }),
    ).rejects.toBeInstanceOf(UnavailableError);
  });
});
