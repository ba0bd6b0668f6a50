/**
 * Whether `POLYSTORE_REQUIRE_ALL_BACKENDS=1` is set: then a server that cannot
 * start fails the whole run in the globalSetup, instead of failing only the
 * tests that use it.
 *
 * @example
 * ```sh
 * POLYSTORE_REQUIRE_ALL_BACKENDS=1 npx vitest run
 * ```
 */
export function requireAllBackends(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.POLYSTORE_REQUIRE_ALL_BACKENDS?.trim().toLowerCase();
  return value === '1' || value === 'true' || value === 'yes';
}
