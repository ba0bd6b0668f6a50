const SECRET_PARAMS = /^(password|pass|pwd|secret|token|auth|sslpassword|apikey|api_key)$/i;

/**
 * A store URL safe to print: the password and secret query parameters replaced by `***`.
 *
 * @example
 * ```ts
 * redactUrl('postgres://app:hunter2@db/app'); // 'postgres://app:***@db/app'
 * ```
 */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    // Not parseable: keep only the scheme, never the rest (it may hold a password).
    const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(String(url))?.[0];
    return scheme ? `${scheme}***` : '***';
  }
  if (u.password) u.password = '***';
  for (const key of [...u.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) u.searchParams.set(key, '***');
  }
  return u.toString();
}
