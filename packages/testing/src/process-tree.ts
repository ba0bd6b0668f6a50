import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A server process and everything it spawned: its process group and, walking
 * /proc by parent pid, all its descendants.
 *
 * The group alone is not enough: PostgreSQL makes every backend a session
 * and group leader of its own (`setsid()`), so a signal to the postmaster's
 * group reaches neither the backends nor the auxiliary processes.
 */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  const members = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (stat === undefined || stat.state === 'Z') continue;
    if (stat.pgrp === root) members.add(pid);
    const siblings = children.get(stat.ppid);
    if (siblings === undefined) children.set(stat.ppid, [pid]);
    else siblings.push(pid);
  }
  // Walk down from the root and from every group member (a group member may have forked too).
  const tree = new Set<number>();
  const pending = [...members, ...(isProcessAlive(root) ? [root] : [])];
  while (pending.length > 0) {
    const pid = pending.pop()!;
    if (tree.has(pid)) continue;
    tree.add(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return [...tree];
}

/**
 * Signals a server's whole {@link processTree}.
 *
 * For SIGKILL and SIGSTOP the root is stopped first, so that it cannot fork
 * while we walk the tree, and its children are not reparented to init
 * (and lost to the walk) before they are signalled.
 */
export function signalTree(root: number, signal: NodeJS.Signals): number[] {
  if (signal === 'SIGKILL' || signal === 'SIGSTOP') signalProcess(root, 'SIGSTOP');
  const tree = processTree(root);
  for (const pid of tree) signalProcess(pid, signal);
  return tree;
}

/**
 * Blocks until every thread of `pids` is stopped (state `T`) or gone, for at most `limitMs`.
 * `kill(SIGSTOP)` returns before a busy multi-threaded server (a JVM) has stopped, so one
 * more request could still be answered; `pause()` waits here. Linux reads /proc; elsewhere
 * this returns at once.
 */
export function waitUntilStopped(pids: readonly number[], limitMs = 2_000): void {
  const deadline = Date.now() + limitMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (pids.some(isRunning) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 2);
}

function isRunning(pid: number): boolean {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return false; // gone, or no /proc
  }
  return tasks.some((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      return state !== 'T' && state !== 't' && state !== 'Z' && state !== 'X';
    } catch {
      return false;
    }
  });
}

/** Sends a signal to one process; one that is already gone is not an error. */
export function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Whether a process exists and is not a zombie.
 *
 * Zombies count as dead: they hold no sockets, files or shared memory, and
 * orphans may stay zombies for a while where PID 1 is slow to reap (containers).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** Waits until none of `pids` is alive; returns false on timeout. */
export async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isProcessAlive)) {
    if (Date.now() > deadline) return false;
    await sleep(10);
  }
  return true;
}

function readStat(pid: number): { state: string; ppid: number; pgrp: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses; the fields after the last ')' are fixed.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', ppid: Number(fields[1]), pgrp: Number(fields[2]) };
}
