import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '@polystore/core';
import { z } from 'zod';

/**
 * Who a bearer token stands for.
 * - `project`: a project's user; every call runs in that project (`isAdmin: false`).
 * - `admin`: an operator; every call runs as an admin context.
 * - `service`: a trusted service (like a Nova service calling its conductor) that acts on
 *   behalf of the request context it sends with each call.
 */
export type TokenIdentity =
  | { readonly role: 'project'; readonly projectId: string; readonly userId: string | null }
  | { readonly role: 'admin'; readonly userId: string | null }
  | { readonly role: 'service'; readonly name: string };

/**
 * Maps a bearer token to an identity, or `undefined` for an unknown token (answered 401).
 * Plug in your own (JWT, Keystone, ...) in `createStoreServer({ verifyToken })`.
 */
export type TokenVerifier = (
  token: string,
) => TokenIdentity | undefined | Promise<TokenIdentity | undefined>;

const idString = z.string().min(1).max(255);

const entry = z.discriminatedUnion('role', [
  z.strictObject({
    token: z.string().min(16),
    role: z.literal('project'),
    projectId: idString,
    userId: idString.optional(),
  }),
  z.strictObject({
    token: z.string().min(16),
    role: z.literal('admin'),
    userId: idString.optional(),
  }),
  z.strictObject({ token: z.string().min(16), role: z.literal('service'), name: idString }),
]);

const tokenFile = z.strictObject({ tokens: z.array(entry).min(1) });

/** The token file `polystore serve --tokens <file>` reads (see the README's "Remote stores"). */
export type TokenFile = z.infer<typeof tokenFile>;

const digest = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * A verifier over a fixed list of tokens. Tokens are looked up by their SHA-256 digest, so
 * the lookup's timing does not depend on how much of a guess matches a real token.
 *
 * @example
 * ```ts
 * const verify = staticTokens({ tokens: [{ token: 'a-long-random-secret', role: 'service', name: 'compute' }] });
 * ```
 */
export function staticTokens(file: unknown): TokenVerifier {
  const parsed = tokenFile.safeParse(file);
  if (!parsed.success) {
    throw new ConfigError(
      `token file: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const byDigest = new Map<string, TokenIdentity>();
  for (const t of parsed.data.tokens) {
    const key = digest(t.token);
    if (byDigest.has(key)) throw new ConfigError('token file: a token is listed twice');
    byDigest.set(
      key,
      Object.freeze(
        t.role === 'project'
          ? { role: 'project', projectId: t.projectId, userId: t.userId ?? null }
          : t.role === 'admin'
            ? { role: 'admin', userId: t.userId ?? null }
            : { role: 'service', name: t.name },
      ),
    );
  }
  return (token) => byDigest.get(digest(token));
}

/** Reads a JSON token file into a verifier; a missing or malformed file is a `ConfigError`. */
export async function loadTokenFile(path: string): Promise<TokenVerifier> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`token file ${path}: cannot be read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`token file ${path}: not valid JSON`);
  }
  return staticTokens(json);
}
