// Entry point: `npm start` (POLYSTORE_URL picks the backend, PORT the port, HOST the interface,
// COMPUTE_RELEASE the release, POLYSTORE_FLEET=1 joins the fleet for live upgrades).
import { ConfigError, redactUrl } from '@polystore/core';
import { type ComputeRelease, computeRelease } from './compute-release.js';
import { ComputeService } from './compute-service.js';
import { createApp, PROJECT_HEADER } from './create-app.js';
import { openComputeStores } from './open-compute-stores.js';
import { startServer } from './start-server.js';

function fail(message: string, code: number): never {
  console.error(`compute-api: ${message}`);
  process.exit(code);
}

// npm runs scripts in the package directory; a relative store path such as the default
// `./.data/polystore.db` should be relative to where the user typed the command.
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);

const portText = process.env.PORT ?? '3000';
if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65_535) {
  fail(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(portText)}`, 2);
}
const given = process.env.POLYSTORE_URL;

let release: ComputeRelease;
try {
  release = computeRelease(process.env.COMPUTE_RELEASE || '1.0');
} catch (err) {
  fail(`COMPUTE_RELEASE: ${err instanceof Error ? err.message : String(err)}`, 2);
}
const fleetText = process.env.POLYSTORE_FLEET ?? '';
if (!['', '0', '1'].includes(fleetText)) {
  fail(`POLYSTORE_FLEET must be 1 (join the fleet) or 0, got ${JSON.stringify(fleetText)}`, 2);
}
const heartbeatText = process.env.POLYSTORE_HEARTBEAT_MS;
if (heartbeatText !== undefined && !/^[1-9]\d{1,6}$/.test(heartbeatText)) {
  fail(
    `POLYSTORE_HEARTBEAT_MS must be an integer from 10 to 9999999, got ${JSON.stringify(heartbeatText)}`,
    2,
  );
}

let opened: Awaited<ReturnType<typeof openComputeStores>>;
try {
  opened = await openComputeStores({
    url: given,
    release,
    ...(fleetText === '1'
      ? { fleet: heartbeatText === undefined ? {} : { heartbeatMs: Number(heartbeatText) } }
      : {}),
  });
} catch (err) {
  const message = err instanceof Error ? err.message : String(err);
  fail(
    `cannot open the store ${redactUrl(given || 'default')}: ${message}`,
    err instanceof ConfigError ? 2 : 1,
  );
}
const { stores, url, fleet } = opened;
const service = new ComputeService(stores, {
  release,
  ...(fleet ? { pin: (resource) => fleet.pin(resource) } : {}),
});
const server = await startServer(createApp(service), {
  port: Number(portText),
  hostname: process.env.HOST ?? '127.0.0.1',
});

console.log(`compute-api: store ${redactUrl(url)} (backend ${stores.backend})`);
console.log(
  `compute-api: release ${release.name} (instance ${release.instanceResource.version})${
    fleet ? `, fleet member ${fleet.member}` : ''
  }`,
);
console.log(`compute-api: listening on ${server.url}`);
console.log(
  `try: curl -s -X POST ${server.url}/v1/networks -H '${PROJECT_HEADER}: demo' ` +
    `-H 'Content-Type: application/json' -d '{"label":"lan","cidr":"10.0.0.0/24"}'`,
);

let stopping = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) {
    console.error(`compute-api: ${signal} again, exiting now`);
    process.exit(1);
  }
  stopping = true;
  console.log(`compute-api: ${signal}, shutting down`);
  try {
    await server.close();
    // Leaving the fleet deletes this process's member record, so `polystore migrate` stops
    // waiting for it at once; it closes the stores too.
    await (fleet ? fleet.close() : stores.close());
  } catch (err) {
    console.error('compute-api: error while shutting down', err);
    process.exit(1);
  }
  // A driver that keeps a timer or socket would hold the loop open; we are done either way.
  process.exit(0);
}
process.on('SIGINT', (s) => void shutdown(s));
process.on('SIGTERM', (s) => void shutdown(s));
