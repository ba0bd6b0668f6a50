import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TcpProxy } from '../src/index.js';

/** An echo server that records what it received. */
interface Echo {
  readonly server: Server;
  readonly port: number;
  received: number;
}

let echo: Echo;
const proxies: TcpProxy[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.on('data', (chunk) => {
      echo.received += chunk.length;
      s.write(chunk);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  echo = { server, port: (server.address() as { port: number }).port, received: 0 };
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(proxies.splice(0).map((p) => p.close()));
  echo.received = 0;
});

afterAll(async () => {
  await new Promise((resolve) => echo.server.close(resolve));
});

async function startProxy(): Promise<TcpProxy> {
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: echo.port });
  proxies.push(proxy);
  return proxy;
}

/** A client connection that collects what it receives and how it ended. */
async function client(port: number) {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  const state = { data: '', error: undefined as NodeJS.ErrnoException | undefined, closed: false };
  socket.on('data', (chunk) => {
    state.data += chunk.toString();
  });
  socket.on('error', (err) => {
    state.error = err;
  });
  socket.on('close', () => {
    state.closed = true;
  });
  await once(socket, 'connect');
  return { socket, state };
}

/** Sends `text` and waits for it to come back. */
async function roundTrip(c: Awaited<ReturnType<typeof client>>, text: string): Promise<void> {
  const before = c.state.data.length;
  c.socket.write(text);
  await vi.waitFor(() => expect(c.state.data.length).toBe(before + text.length));
}

describe('TcpProxy', () => {
  it('forwards both ways and accepts host:port strings', async () => {
    const proxy = await TcpProxy.start(`127.0.0.1:${echo.port}`);
    proxies.push(proxy);
    expect(proxy.address).toBe(`127.0.0.1:${proxy.port}`);
    const c = await client(proxy.port);
    await roundTrip(c, 'hello');
    expect(c.state.data).toBe('hello');
    expect(proxy.bytesUp).toBe(5);
    expect(echo.received).toBe(5);
  });

  it('rejects a target that is not host:port', async () => {
    await expect(TcpProxy.start('localhost')).rejects.toThrow(/host:port/);
  });

  it('adds the latency both ways', async () => {
    const proxy = await startProxy();
    const c = await client(proxy.port);
    await roundTrip(c, 'warm');
    proxy.set({ kind: 'latency', ms: 60 });
    const t0 = performance.now();
    await roundTrip(c, 'slow');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    expect(c.state.data).toBe('warmslow');
  });

  it('stall forwards nothing; heal resets the stalled connection and passes new ones', async () => {
    const proxy = await startProxy();
    const c = await client(proxy.port);
    await roundTrip(c, 'a');
    proxy.stall();
    expect(proxy.mode).toEqual({ kind: 'stall' });
    c.socket.write('lost');
    await vi.waitFor(() => expect(proxy.bytesDropped).toBe(4));
    expect(echo.received).toBe(1);
    expect(c.state.data).toBe('a');
    proxy.heal();
    await vi.waitFor(() => expect(c.state.closed).toBe(true));
    expect(c.state.error?.code).toBe('ECONNRESET');
    const fresh = await client(proxy.port);
    await roundTrip(fresh, 'back');
  });

  it('drop-responses forwards the request and drops the answer', async () => {
    const proxy = await startProxy();
    const c = await client(proxy.port);
    proxy.set({ kind: 'drop-responses' });
    c.socket.write('req');
    await vi.waitFor(() => expect(proxy.bytesDropped).toBe(3));
    expect(proxy.bytesUp).toBe(3);
    expect(echo.received).toBe(3);
    expect(c.state.data).toBe('');
    proxy.heal();
    await vi.waitFor(() => expect(c.state.closed).toBe(true));
  });

  it('close resets live connections and every new one', async () => {
    const proxy = await startProxy();
    const c = await client(proxy.port);
    proxy.set({ kind: 'close' });
    await vi.waitFor(() => expect(c.state.closed).toBe(true));
    expect(c.state.error?.code).toBe('ECONNRESET');
    const late = connect(proxy.port, '127.0.0.1');
    sockets.push(late);
    const [err] = await once(late, 'error');
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    proxy.heal();
    await roundTrip(await client(proxy.port), 'ok');
  });

  it('down refuses connections and closes open ones; up listens again on the same port', async () => {
    const proxy = await startProxy();
    const port = proxy.port;
    const c = await client(port);
    await proxy.down();
    await vi.waitFor(() => expect(c.state.closed).toBe(true));
    const refused = connect(port, '127.0.0.1');
    sockets.push(refused);
    const [err] = await once(refused, 'error');
    expect((err as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    proxy.stall();
    await proxy.up();
    expect(proxy.port).toBe(port);
    expect(proxy.mode.kind).toBe('pass');
    await roundTrip(await client(port), 'up');
  });

  it('counts exchanges per connection and sequential round trips across them', async () => {
    const proxy = await startProxy();
    const a = await client(proxy.port);
    const b = await client(proxy.port);
    await roundTrip(a, 'x');
    await roundTrip(a, 'y');
    expect(proxy.exchanges).toBe(2);
    expect(proxy.sequential).toBe(2);
    proxy.resetCounts();
    expect(proxy.exchanges).toBe(0);
    // Two connections waiting at once: two exchanges, one round trip on the critical path.
    proxy.set({ kind: 'latency', ms: 30 });
    await Promise.all([roundTrip(a, 'p'), roundTrip(b, 'q')]);
    expect(proxy.exchanges).toBe(2);
    expect(proxy.sequential).toBe(1);
  });
});
