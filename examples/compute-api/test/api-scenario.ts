import { expect } from 'vitest';
import { ApiClient, type Exchange } from './api-client.js';

const FLAVOR = { vcpus: 1, memoryMb: 512, rootGb: 10 };
/** An id no record has. */
const ABSENT = '01900000-0000-7000-8000-000000000000';

type Json = Record<string, unknown> & {
  id: string;
  items: Json[];
  next: string | null;
  instance: Json;
  address: Json;
  error: { code: string; message: string; fields?: { field: string; message: string }[] };
};

function json(x: Exchange): Json {
  return x.body as Json;
}

function fieldsOf(x: Exchange): string[] {
  return (json(x).error.fields ?? []).map((f) => f.field);
}

/**
 * The API's behaviour as one scripted conversation: networks, boots up to exhaustion,
 * bad input, paging, filters, conditional task-state changes, races, deletes and project
 * isolation. Asserts as it goes and returns the transcript, so two backends can be
 * compared response by response.
 */
export async function runApiScenario(base: string): Promise<Exchange[]> {
  const api = new ApiClient(base, 'p1');
  const other = new ApiClient(base, 'p2');

  // The project header is required, and named when missing.
  const noProject = await api.send('GET', '/v1/instances', { project: null });
  expect(noProject.status).toBe(400);
  expect(fieldsOf(noProject)).toEqual(['X-Project-Id']);
  expect(noProject.headers['content-type']).toMatch(/^application\/json/);

  // Networks: create, duplicate VLAN, bad input, get, list.
  const created = await api.send('POST', '/v1/networks', {
    body: { label: 'lan', cidr: '10.0.0.0/29', gateway: '10.0.0.1', vlan: 10 },
  });
  expect(created.status).toBe(201);
  const net = json(created);
  expect(net).toMatchObject({ label: 'lan', cidr: '10.0.0.0/29', projectId: 'p1', revision: 1 });

  const dupVlan = await api.send('POST', '/v1/networks', {
    body: { label: 'other', cidr: '10.1.0.0/24', vlan: 10 },
  });
  expect(dupVlan.status).toBe(409);
  expect(json(dupVlan).error.code).toBe('DUPLICATE');
  expect(fieldsOf(dupVlan)).toEqual(['vlan']);

  const badNet = await api.send('POST', '/v1/networks', { body: { label: 5, cidr: 'nope' } });
  expect(badNet.status).toBe(400);
  expect(fieldsOf(badNet).sort()).toEqual(['cidr', 'label']);

  const unknownField = await api.send('POST', '/v1/networks', {
    body: { label: 'x', cidr: '10.2.0.0/24', projectId: 'p2' },
  });
  expect(unknownField.status).toBe(400);
  expect(fieldsOf(unknownField)).toEqual(['projectId']);

  const notJson = await api.send('POST', '/v1/networks', { body: '{"label":' });
  expect(notJson.status).toBe(400);
  expect(fieldsOf(notJson)).toEqual(['body']);

  expect((await api.send('GET', `/v1/networks/${net.id}`)).status).toBe(200);
  const absentNet = await api.send('GET', `/v1/networks/${ABSENT}`);
  expect(absentNet.status).toBe(404);
  expect(json(absentNet).error.code).toBe('NOT_FOUND');
  const badId = await api.send('GET', '/v1/networks/not-a-uuid');
  expect(badId.status).toBe(400);
  expect(fieldsOf(badId)).toEqual(['id']);
  const nets = await api.send('GET', '/v1/networks');
  expect(json(nets).items.map((n) => n.label)).toEqual(['lan']);
  expect(json(nets).next).toBeNull();

  // Boots: a /29 with a gateway has five free addresses, .2 to .6.
  const hosts = ['cmp-1', 'cmp-2', 'cmp-1', 'cmp-2', null];
  const booted: Json[] = [];
  for (const [i, host] of hosts.entries()) {
    const boot = await api.send('POST', '/v1/instances', {
      body: { displayName: `web-${i + 1}`, networkId: net.id, flavor: FLAVOR, host },
    });
    expect(boot.status).toBe(201);
    expect(json(boot).address.address).toBe(`10.0.0.${i + 2}`);
    expect(json(boot).address.instanceId).toBe(json(boot).instance.id);
    expect(json(boot).instance.taskState).toBe('scheduling');
    booted.push(json(boot).instance);
  }
  const full = await api.send('POST', '/v1/instances', {
    body: { displayName: 'web-6', networkId: net.id, flavor: FLAVOR },
  });
  expect(full.status).toBe(409);
  expect(json(full).error.code).toBe('EXHAUSTED');

  const badFlavor = await api.send('POST', '/v1/instances', {
    body: { displayName: 'bad', networkId: net.id, flavor: { ...FLAVOR, vcpus: 0 } },
  });
  expect(badFlavor.status).toBe(400);
  expect(fieldsOf(badFlavor)).toEqual(['flavor.vcpus']);
  const missing = await api.send('POST', '/v1/instances', { body: { displayName: 'bad' } });
  expect(missing.status).toBe(400);
  expect(fieldsOf(missing)).toEqual(['networkId', 'flavor']);
  const badNetId = await api.send('POST', '/v1/instances', {
    body: { displayName: 'bad', networkId: 'lan', flavor: FLAVOR },
  });
  expect(fieldsOf(badNetId)).toEqual(['networkId']);
  const noNet = await api.send('POST', '/v1/instances', {
    body: { displayName: 'bad', networkId: ABSENT, flavor: FLAVOR },
  });
  expect(noNet.status).toBe(404);
  // Another project cannot boot into p1's network.
  const foreignNet = await other.send('POST', '/v1/instances', {
    body: { displayName: 'x', networkId: net.id, flavor: FLAVOR },
  });
  expect(foreignNet.status).toBe(404);

  // Paging: every instance exactly once, in creation order; failed boots left nothing.
  const names: string[] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    const query: string = after === null ? '' : `&after=${after}`;
    const page = await api.send('GET', `/v1/instances?limit=2${query}`);
    expect(page.status).toBe(200);
    names.push(...json(page).items.map((i) => i.displayName as string));
    after = json(page).next;
    pages += 1;
  } while (after !== null);
  expect(names).toEqual(['web-1', 'web-2', 'web-3', 'web-4', 'web-5']);
  expect(pages).toBe(3);

  // Filters.
  const onCmp1 = await api.send('GET', '/v1/instances?host=cmp-1');
  expect(json(onCmp1).items.map((i) => i.displayName)).toEqual(['web-1', 'web-3']);
  const unplaced = await api.send('GET', '/v1/instances?host=null');
  expect(json(unplaced).items.map((i) => i.displayName)).toEqual(['web-5']);
  const scheduling = await api.send('GET', '/v1/instances?taskState=scheduling&limit=10');
  expect(json(scheduling).items).toHaveLength(5);
  for (const [query, field] of [
    ['vmState=bogus', 'vmState'],
    ['limit=0', 'limit'],
    ['limit=abc', 'limit'],
    ['after=garbage', 'after'],
    ['colour=red', 'colour'],
  ] as const) {
    const bad = await api.send('GET', `/v1/instances?${query}`);
    expect(bad.status, query).toBe(400);
    expect(fieldsOf(bad), query).toEqual([field]);
  }

  // Conditional task-state changes.
  const web1 = booted[0]!;
  const spawn = await api.send('POST', `/v1/instances/${web1.id}/task-state`, {
    body: { taskState: 'spawning', expected: [null, 'scheduling'] },
  });
  expect(spawn.status).toBe(200);
  expect(json(spawn)).toMatchObject({ taskState: 'spawning', revision: 2 });
  const stale = await api.send('POST', `/v1/instances/${web1.id}/task-state`, {
    body: { taskState: 'spawning', expected: 'scheduling' },
  });
  expect(stale.status).toBe(409);
  expect(json(stale).error.code).toBe('CONFLICT');
  const badState = await api.send('POST', `/v1/instances/${web1.id}/task-state`, {
    body: { taskState: 'dancing', expected: null },
  });
  expect(fieldsOf(badState)).toEqual(['taskState']);
  const noExpected = await api.send('POST', `/v1/instances/${web1.id}/task-state`, {
    body: { taskState: null },
  });
  expect(fieldsOf(noExpected)).toEqual(['expected']);
  const absentVm = await api.send('POST', `/v1/instances/${ABSENT}/task-state`, {
    body: { taskState: null, expected: null },
  });
  expect(absentVm.status).toBe(404);

  // A race: two requests move web-2 from scheduling at once; exactly one wins.
  const web2 = booted[1]!;
  const race = await Promise.all(
    (['spawning', 'deleting'] as const).map((taskState) =>
      api.send('POST', `/v1/instances/${web2.id}/task-state`, {
        body: { taskState, expected: 'scheduling' },
      }),
    ),
  );
  expect(race.map((r) => r.status).sort()).toEqual([200, 409]);
  // The two race entries are recorded in completion order, and either request may win:
  // record them winner first, with the winning task state blanked.
  const raceEntries = api.transcript.splice(-2, 2).sort((a, b) => a.status - b.status);
  const [won, lost] = raceEntries as [Exchange, Exchange];
  api.transcript.push({ ...won, body: { ...json(won), taskState: '<race winner>' } }, lost);
  const winner = json(race.find((r) => r.status === 200)!);
  const web2Now = await api.send('GET', `/v1/instances/${web2.id}`);
  expect(json(web2Now).taskState).toBe(winner.taskState);
  expect(json(web2Now).revision).toBe(2);
  api.transcript.pop(); // its task state is whichever request won

  // Projects are isolated: p2 sees none of p1's records, not even by id.
  expect((await other.send('GET', `/v1/instances/${web1.id}`)).status).toBe(404);
  expect((await other.send('DELETE', `/v1/instances/${web1.id}`)).status).toBe(404);
  expect(json(await other.send('GET', '/v1/instances')).items).toEqual([]);
  expect(json(await other.send('GET', '/v1/fixed-ips')).items).toEqual([]);

  // Fixed IPs, then delete an instance: its address is released and reused.
  const ips = await api.send('GET', `/v1/fixed-ips?networkId=${net.id}`);
  expect(json(ips).items.map((i) => i.address)).toEqual([
    '10.0.0.2',
    '10.0.0.3',
    '10.0.0.4',
    '10.0.0.5',
    '10.0.0.6',
  ]);
  const web3 = booted[2]!;
  const deleted = await api.send('DELETE', `/v1/instances/${web3.id}`);
  expect(deleted.status).toBe(200);
  expect(json(deleted).released).toBe(1);
  expect(json(deleted).instance.deletedAt).not.toBeNull();
  expect((await api.send('GET', `/v1/instances/${web3.id}`)).status).toBe(404);
  expect((await api.send('DELETE', `/v1/instances/${web3.id}`)).status).toBe(404);
  const web3Ips = await api.send('GET', `/v1/fixed-ips?instanceId=${web3.id}`);
  expect(json(web3Ips).items).toEqual([]);
  const reboot = await api.send('POST', '/v1/instances', {
    body: { displayName: 'web-6', networkId: net.id, flavor: FLAVOR },
  });
  expect(reboot.status).toBe(201);
  expect(json(reboot).address.address).toBe('10.0.0.4');
  const badIpQuery = await api.send('GET', '/v1/fixed-ips?instanceId=web-1');
  expect(fieldsOf(badIpQuery)).toEqual(['instanceId']);

  const noRoute = await api.send('GET', '/v1/volumes');
  expect(noRoute.status).toBe(404);

  return [...api.transcript, ...other.transcript];
}
