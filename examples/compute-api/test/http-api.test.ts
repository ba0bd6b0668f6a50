import { openStores } from '@polystore/core';
import { freshStoreUrl, removeTempDirs, STORE_BACKENDS } from '@polystore/testing/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeService, createApp, type RunningServer, startServer } from '../src/index.js';
import { type Exchange, normalise } from './api-client.js';
import { runApiScenario } from './api-scenario.js';

/** Runs the scenario on a fresh store behind a real listening server. */
async function scenarioOn(url: string): Promise<Exchange[]> {
  const stores = await openStores(url);
  let server: RunningServer | undefined;
  try {
    server = await startServer(createApp(new ComputeService(stores)), { port: 0 });
    return await runApiScenario(server.url);
  } finally {
    await server?.close();
    await stores.close();
  }
}

// The reference answers: the same scenario on the in-memory reference model.
let reference: Promise<Exchange[]> | undefined;
afterAll(removeTempDirs);
function referenceTranscript(): Promise<Exchange[]> {
  reference ??= scenarioOn('memory:');
  return reference;
}

for (const backend of STORE_BACKENDS) {
  describe(`compute API over HTTP on ${backend}`, () => {
    let url: string;
    beforeAll(async () => {
      url = await freshStoreUrl(backend, 'compute_api');
    });

    it('answers the scenario as specified, exactly as the memory reference does', async () => {
      const transcript = await scenarioOn(url);
      expect(normalise(transcript)).toEqual(normalise(await referenceTranscript()));
    });
  });
}

describe('compute API plumbing', () => {
  let server: RunningServer;
  let stores: Awaited<ReturnType<typeof openStores>>;
  const internal: unknown[] = [];
  beforeAll(async () => {
    stores = await openStores('memory:');
    server = await startServer(
      createApp(new ComputeService(stores), { onInternalError: (e) => internal.push(e) }),
      { port: 0 },
    );
  });
  afterAll(async () => {
    await server.close();
    await stores.close();
  });

  it('serves a health check without a project', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok', backend: 'memory', release: '1.0' });
  });

  it('rejects a malformed project header, naming it', async () => {
    const res = await fetch(`${server.url}/v1/networks`, {
      headers: { 'X-Project-Id': 'x'.repeat(300) },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { fields: { field: string }[] } };
    expect(body.error.fields.map((f) => f.field)).toEqual(['X-Project-Id']);
    expect(internal).toEqual([]);
  });
});
