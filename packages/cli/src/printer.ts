import { redactText } from './redact-text.js';

/** Where the CLI writes: stdout for results, stderr for diagnostics and progress. */
export interface Streams {
  readonly out: NodeJS.WritableStream;
  readonly err: NodeJS.WritableStream;
}

/**
 * Writes the CLI's lines with every store URL it was given redacted (the URL, its
 * password, its secret parameters), wherever they appear in the text.
 */
export class Printer {
  readonly #urls: readonly string[];
  readonly streams: Streams;

  constructor(urls: readonly (string | undefined)[], streams: Streams) {
    this.#urls = urls.filter((u): u is string => typeof u === 'string' && u !== '');
    this.streams = streams;
  }

  /** The text with every known secret replaced. */
  redact(text: string): string {
    return this.#urls.reduce((t, url) => redactText(t, url), text);
  }

  /** Prints a result line to stdout. */
  out(line = ''): void {
    this.streams.out.write(`${this.redact(line)}\n`);
  }

  /** Prints a diagnostic line to stderr. */
  err(line: string): void {
    this.streams.err.write(`${this.redact(line)}\n`);
  }
}
