/**
 * The call log of the live-upgrade load clients: one JSON line per store call (what was
 * asked, when, and what came back or which error), written by every client, in-process or
 * in a worker process, and read back by `live-upgrade.test.ts` to classify outcomes and
 * replay the acknowledged writes into a model.
 */
import { closeSync, createWriteStream, openSync, readFileSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/** The releases of the widget fixture a client can run. */
export type Release = 'L' | 'M' | 'N';

/** The store calls a client makes. */
export type CallOp = 'create' | 'update' | 'delete' | 'get' | 'list';

/** A widget as a call returned it: the fields its release reads, plus the record's bookkeeping. */
export interface LoggedRecord {
  readonly id: string;
  readonly revision: number;
  readonly objectVersion: string;
  readonly deletedAt: string | null;
  readonly serial: string;
  readonly size: number;
  readonly name?: string;
  readonly note?: string | null;
  readonly color?: string | null;
  readonly title?: string;
}

/** One store call and its outcome. */
export interface CallEntry {
  readonly kind: 'call';
  /** The client that made it (`seed`, `l1`, `m2`, ...). */
  readonly client: string;
  readonly release: Release;
  /** The call's number within its client. */
  readonly seq: number;
  readonly op: CallOp;
  /** The record the call addressed (for a create: the id it got). */
  readonly id?: string;
  /** The values of a create, the patch of an update, the options of a list. */
  readonly args?: Readonly<Record<string, unknown>>;
  readonly expectedRevision?: number;
  /** The pin the client's fleet member reported just before the call. */
  readonly pin: string;
  /** Wall-clock milliseconds (fractional) at the call's start and end. */
  readonly start: number;
  readonly end: number;
  /** `ok`, or the error's class name (`ConflictError`, `NotFoundError`, ...). */
  readonly outcome: string;
  readonly message?: string;
  /** For a `ConflictError`: the revision the record had. */
  readonly currentRevision?: number;
  /** The record returned (create, update, delete, get). */
  readonly record?: LoggedRecord;
  /** The records a list returned, and whether it had a next page. */
  readonly items?: readonly LoggedRecord[];
}

/** A client's life-cycle event. */
export interface EventEntry {
  readonly kind: 'event';
  readonly client: string;
  readonly release: Release;
  readonly event: 'joined' | 'closed' | 'heartbeat-error';
  readonly at: number;
  readonly detail?: string;
}

/** One line of a call log. */
export type LogEntry = CallEntry | EventEntry;

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes of one host. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Appends log entries to a file, one JSON line each. */
export class CallLog {
  readonly #stream;

  constructor(readonly path: string) {
    this.#stream = createWriteStream(path, { flags: 'a' });
  }

  /** Queues one entry. */
  write(entry: LogEntry): void {
    this.#stream.write(`${JSON.stringify(entry)}\n`);
  }

  /** Flushes and closes the file. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#stream.once('error', reject);
      this.#stream.end(() => resolve());
    });
  }
}

/** Every entry of a log file (a missing file has none). */
export function readLog(path: string): LogEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as LogEntry);
}

/**
 * Follows a growing log file and counts its complete lines, reading only what was added
 * since the last look (a worker's log grows to megabytes over a run).
 */
export class LogTail {
  #offset = 0;
  #calls = 0;
  #partial = '';
  readonly #decoder = new StringDecoder('utf8');
  #events: EventEntry[] = [];

  constructor(readonly path: string) {}

  /** Reads what was appended; the number of call lines so far. */
  calls(): number {
    this.#read();
    return this.#calls;
  }

  /** The life-cycle events seen so far. */
  events(): readonly EventEntry[] {
    this.#read();
    return this.#events;
  }

  #read(): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      const buf = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.#offset);
        if (n === 0) break;
        this.#offset += n;
        const text = this.#partial + this.#decoder.write(buf.subarray(0, n));
        const lines = text.split('\n');
        this.#partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line.length === 0) continue;
          // Events are rare and short; calls are only counted.
          if (line.startsWith('{"kind":"event"')) this.#events.push(JSON.parse(line) as EventEntry);
          else this.#calls++;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}
