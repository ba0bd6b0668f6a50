import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { signalTree } from './process-tree.js';

/**
 * The watchdog process, as plain CommonJS for `node -e`.
 *
 * It reads JSON lines on stdin that name the server processes and directories
 * its parent owns. Its stdin is a pipe whose only writer is the parent, so
 * the pipe reaches EOF the moment the parent dies, however it dies (SIGKILL,
 * OOM, crash): then it SIGKILLs every server with its whole process tree and
 * removes every directory.
 * It runs in its own session, so a Ctrl-C in the terminal does not reach it
 * before it has done its job.
 */
const WATCHDOG_SOURCE = `'use strict';
const fs = require('node:fs');
const roots = new Set();
const dirs = new Set();
let buffered = '';
let done = false;
function apply(message) {
  if (message.op === 'track-process') roots.add(message.pid);
  else if (message.op === 'untrack-process') roots.delete(message.pid);
  else if (message.op === 'track-dir') dirs.add(message.path);
  else if (message.op === 'untrack-dir') dirs.delete(message.path);
}
function signal(pid, name) {
  try { process.kill(pid, name); } catch {}
}
// Every live process, as [pid, ppid, pgrp]; see process-tree.ts for why the group is not enough.
function table() {
  const rows = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const text = fs.readFileSync('/proc/' + entry + '/stat', 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z') rows.push([Number(entry), Number(fields[1]), Number(fields[2])]);
    } catch {}
  }
  return rows;
}
function cleanUp() {
  if (done) return;
  done = true;
  for (const root of roots) signal(root, 'SIGSTOP');
  const rows = table();
  const doomed = new Set();
  const pending = [...roots];
  for (const [pid, , pgrp] of rows) if (roots.has(pgrp)) pending.push(pid);
  while (pending.length > 0) {
    const pid = pending.pop();
    if (doomed.has(pid)) continue;
    doomed.add(pid);
    for (const [child, ppid] of rows) if (ppid === pid) pending.push(child);
  }
  for (const pid of doomed) signal(pid, 'SIGKILL');
  // Give the kernel a moment to tear the processes down before their files go.
  setTimeout(() => {
    for (const dir of dirs) {
      try { fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5 }); } catch {}
    }
    process.exit(0);
  }, 100);
}
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\\n')) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line !== '') apply(JSON.parse(line));
  }
});
process.stdin.on('end', cleanUp);
process.stdin.on('error', cleanUp);
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.on('SIGTERM', cleanUp);
`;

const INSTANCE = Symbol.for('@polystore/testing/watchdog');

type WatchdogMessage =
  | { readonly op: 'track-process' | 'untrack-process'; readonly pid: number }
  | { readonly op: 'track-dir' | 'untrack-dir'; readonly path: string };

/**
 * Guarantees that the servers and temp dirs of this process do not outlive it.
 *
 * Two lines of defence: an `exit` hook kills and removes everything
 * synchronously on a normal exit (including `process.exit()` from an
 * uncaught error), and a small detached watchdog process does the same when
 * this process dies without running its hooks (SIGKILL, SIGTERM, Ctrl-C).
 *
 * @example
 * ```ts
 * const watchdog = Watchdog.instance();
 * watchdog.trackDir(root);
 * watchdog.trackProcess(child.pid);
 * ```
 */
export class Watchdog {
  readonly #roots = new Set<number>();
  readonly #dirs = new Set<string>();
  #child: ChildProcess | undefined;

  /** The watchdog of this process, created on first use. */
  static instance(): Watchdog {
    // On globalThis, not in a static field: vitest loads this module once per project, and one
    // process needs one watchdog and one exit hook, however many copies of the module it holds.
    const global = globalThis as { [INSTANCE]?: Watchdog };
    global[INSTANCE] ??= new Watchdog();
    return global[INSTANCE];
  }

  private constructor() {
    process.once('exit', () => this.#cleanUpNow());
  }

  /** The watchdog process's pid, if it has been started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Kills the server `pid`, its process group and its descendants if this process dies first. */
  trackProcess(pid: number): void {
    this.#roots.add(pid);
    this.#send({ op: 'track-process', pid });
  }

  /** Forgets a server that has exited, so a recycled pid is never signalled. */
  untrackProcess(pid: number): void {
    this.#roots.delete(pid);
    this.#send({ op: 'untrack-process', pid });
  }

  /** Removes `path` recursively if this process dies first. */
  trackDir(path: string): void {
    this.#dirs.add(path);
    this.#send({ op: 'track-dir', path });
  }

  /** Forgets a directory that has been removed or handed over. */
  untrackDir(path: string): void {
    this.#dirs.delete(path);
    this.#send({ op: 'untrack-dir', path });
  }

  #send(message: WatchdogMessage): void {
    const child = this.#ensureChild();
    child.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  #ensureChild(): ChildProcess {
    if (
      this.#child !== undefined &&
      this.#child.exitCode === null &&
      this.#child.signalCode === null
    ) {
      return this.#child;
    }
    const { NODE_OPTIONS: _ignored, ...env } = process.env;
    const child = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      // NODE_OPTIONS may carry --inspect or loaders meant for the test process, not for the watchdog.
      env,
    });
    // Neither the watchdog nor its pipe may keep this process alive.
    child.unref();
    const stdin = child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null;
    stdin?.unref?.();
    stdin?.on('error', () => {});
    this.#child = child;
    // A replacement watchdog must learn everything its predecessor knew.
    for (const pid of this.#roots)
      child.stdin?.write(`${JSON.stringify({ op: 'track-process', pid })}\n`);
    for (const path of this.#dirs)
      child.stdin?.write(`${JSON.stringify({ op: 'track-dir', path })}\n`);
    return child;
  }

  #cleanUpNow(): void {
    for (const pid of this.#roots) signalTree(pid, 'SIGKILL');
    for (const dir of this.#dirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
      } catch {
        // The watchdog retries after this process is gone.
      }
    }
  }
}
