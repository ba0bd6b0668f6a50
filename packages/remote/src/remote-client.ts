import { type Capabilities, ConfigError, PolystoreError, UnavailableError } from '@polystore/core';
import { deepFreeze, defineCapabilities } from '@polystore/core/adapter';
import { Pool } from 'undici';
import {
  CALL_MEDIA_TYPE,
  type CallRequest,
  type HelloResponse,
  PROTOCOL_VERSION,
} from './protocol.js';
import { REMOTE_DEFAULTS, type RemoteOptions } from './remote-options.js';
import type { VersionManifest } from './version-manifest.js';
import { decodeError } from './wire-errors.js';
import { encodeWire } from './wire-values.js';

// Errors of a connection that broke before any answer: a read may safely go again.
const BROKEN_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** What a successful hello told the client. */
export interface ServerInfo {
  readonly backend: string;
  readonly capabilities: Capabilities;
  readonly manifest: VersionManifest;
}

/** One server, one keep-alive pool: every store call is one POST. */
export class RemoteClient {
  readonly #pool: Pool;
  readonly #base: string;
  readonly #auth: string;
  readonly #timeoutMs: number;
  readonly #readRetries: number;
  readonly #label: string;
  #closed = false;

  constructor(url: URL, token: string, options: RemoteOptions) {
    const timeoutMs = options.timeoutMs ?? REMOTE_DEFAULTS.timeoutMs;
    this.#timeoutMs = timeoutMs;
    this.#readRetries = options.readRetries ?? REMOTE_DEFAULTS.readRetries;
    this.#base = url.pathname.replace(/\/+$/, '');
    this.#auth = `Bearer ${token}`;
    this.#label = `${url.protocol}//${url.host}${this.#base}`;
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? REMOTE_DEFAULTS.connections,
      pipelining: 1,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 4_000,
      connect: {
        timeout: options.connectTimeoutMs ?? REMOTE_DEFAULTS.connectTimeoutMs,
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
    });
  }

  /** Authenticates and negotiates versions; refusals surface here, at open. */
  async hello(manifest: VersionManifest): Promise<ServerInfo> {
    const body = JSON.stringify({ protocol: PROTOCOL_VERSION, manifest });
    const answer = (await this.#post('hello', 'application/json', body, false)) as HelloResponse;
    if (answer?.protocol !== PROTOCOL_VERSION || typeof answer.backend !== 'string') {
      throw new ConfigError(`remote: ${this.#label} is not a polystore server`);
    }
    return {
      backend: answer.backend,
      capabilities: defineCapabilities(answer.capabilities),
      manifest: Object.freeze({ ...answer.manifest }),
    };
  }

  /** One store call; the answer deeply frozen, or the server's typed error. */
  async call(req: CallRequest, idempotent: boolean): Promise<unknown> {
    const value = await this.#post('call', CALL_MEDIA_TYPE, encodeWire(req), idempotent);
    return deepFreeze(value);
  }

  async #post(op: string, type: string, body: string, idempotent: boolean): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) throw new UnavailableError(`remote: ${this.#label}: stores are closed`);
      try {
        return await this.#once(op, type, body);
      } catch (err) {
        if (err instanceof PolystoreError) throw err;
        const code = (err as { code?: string }).code ?? '';
        if (idempotent && attempt < this.#readRetries && BROKEN_CONNECTION.has(code)) continue;
        throw new UnavailableError(
          `remote: ${this.#label} unreachable or too slow (${code || (err as Error).message})`,
          { cause: err },
        );
      }
    }
  }

  async #once(op: string, type: string, body: string): Promise<unknown> {
    const res = await this.#pool.request({
      method: 'POST',
      path: `${this.#base}/v1/${op}`,
      headers: { authorization: this.#auth, 'content-type': type, accept: 'application/json' },
      body,
      signal: AbortSignal.timeout(this.#timeoutMs),
    });
    let json: unknown;
    try {
      json = await res.body.json();
    } catch (err) {
      if ((err as { name?: string }).name === 'SyntaxError') {
        throw new UnavailableError(
          `remote: ${this.#label} answered HTTP ${res.statusCode} without a polystore body`,
        );
      }
      throw err;
    }
    const msg = json as { value?: unknown; error?: unknown };
    if (res.statusCode === 200 && typeof msg === 'object' && msg !== null && 'value' in msg) {
      return msg.value;
    }
    if (typeof msg === 'object' && msg !== null && 'error' in msg) throw decodeError(msg.error);
    throw new UnavailableError(`remote: ${this.#label} answered HTTP ${res.statusCode}`);
  }

  /** Closes the pool; later calls fail with `UnavailableError`. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#pool.close().catch(() => undefined);
  }
}
