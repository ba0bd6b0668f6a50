import { redactUrl } from '@polystore/core';

/**
 * Removes a store URL's secrets from any text: the URL itself is replaced by its redacted
 * form, and its password (raw and percent-decoded) wherever else it appears, since driver
 * messages sometimes quote it. Every line the CLI prints goes through this.
 */
export function redactText(text: string, url: string | undefined): string {
  if (url === undefined || url === '') return text;
  let out = text.split(url).join(redactUrl(url));
  const secrets = new Set<string>();
  try {
    // Whatever core's redactUrl hides is a secret; compare to find the values it hid.
    const raw = new URL(url);
    const redacted = new URL(redactUrl(url));
    if (raw.password) {
      secrets.add(raw.password);
      secrets.add(safeDecode(raw.password));
    }
    for (const [key, value] of raw.searchParams) {
      if (redacted.searchParams.get(key) !== value) secrets.add(value);
    }
  } catch {
    // An unparseable URL was already replaced whole above.
  }
  for (const secret of [...secrets]
    .filter((s) => s.length > 0)
    .sort((a, b) => b.length - a.length)) {
    out = out.split(secret).join('***');
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
