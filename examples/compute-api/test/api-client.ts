/** One request and its answer, as the scenario records them. */
export interface Exchange {
  readonly request: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: unknown;
}

/** Options of one {@link ApiClient} request. */
export interface RequestOptions {
  /** The `X-Project-Id` header; `null` leaves it out. Default the client's project. */
  readonly project?: string | null;
  /** A JSON body, or a raw string sent as is. */
  readonly body?: unknown;
}

/**
 * A small fetch client for the compute API that records every exchange, so the same
 * scenario run on two backends can be compared response by response.
 */
export class ApiClient {
  readonly #base: string;
  readonly #project: string;
  readonly transcript: Exchange[] = [];

  constructor(base: string, project: string) {
    this.#base = base;
    this.#project = project;
  }

  /** Sends one request and records it; returns the exchange. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Exchange> {
    const headers: Record<string, string> = {};
    const project = options.project === undefined ? this.#project : options.project;
    if (project !== null) headers['X-Project-Id'] = project;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const res = await fetch(`${this.#base}${path}`, { method, headers, body });
    const text = await res.text();
    const kept: Record<string, string> = {};
    for (const name of ['content-type', 'retry-after']) {
      const v = res.headers.get(name);
      if (v !== null) kept[name] = v;
    }
    const exchange: Exchange = {
      request: `${method} ${path}`,
      status: res.status,
      headers: kept,
      body: text === '' ? null : JSON.parse(text),
    };
    this.transcript.push(exchange);
    return exchange;
  }
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g;
// Any cursor format version (c1, c2, ...): its payload, and signature if any.
const CURSOR = /c\d+\.[A-Za-z0-9_.-]+/g;

/**
 * The transcript with what legitimately differs between runs replaced by stable tokens:
 * ids numbered by first appearance, timestamps and cursors blanked.
 */
export function normalise(transcript: readonly Exchange[]): unknown {
  const ids = new Map<string, string>();
  const text = JSON.stringify(transcript)
    .replace(UUID, (id) => {
      let token = ids.get(id);
      if (token === undefined) {
        token = `<id${ids.size + 1}>`;
        ids.set(id, token);
      }
      return token;
    })
    .replace(TIME, '<time>')
    .replace(CURSOR, '<cursor>');
  return JSON.parse(text);
}
