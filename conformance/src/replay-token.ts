/** What one replay token pins: the group, and fast-check's seed, path and command replay path. */
export interface ReplayToken {
  readonly group: string;
  readonly seed: number;
  readonly path: string;
  readonly replayPath?: string;
}

const PREFIX = 'v1.';

/** Encodes a failure's coordinates as one opaque token for `POLYSTORE_REPLAY`. */
export function encodeReplayToken(token: ReplayToken): string {
  return PREFIX + Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

/** Decodes a token made by {@link encodeReplayToken}; `undefined` for anything else. */
export function decodeReplayToken(text: string | undefined): ReplayToken | undefined {
  if (!text?.startsWith(PREFIX)) return undefined;
  try {
    const t = JSON.parse(Buffer.from(text.slice(PREFIX.length), 'base64url').toString('utf8'));
    if (typeof t.group === 'string' && Number.isSafeInteger(t.seed) && typeof t.path === 'string') {
      return t as ReplayToken;
    }
  } catch {
    // Not a token: ignored like an unset variable, but said so by the caller.
  }
  return undefined;
}

/** The token in `POLYSTORE_REPLAY`, if any. */
export function replayFromEnv(): ReplayToken | undefined {
  return decodeReplayToken(process.env.POLYSTORE_REPLAY);
}
