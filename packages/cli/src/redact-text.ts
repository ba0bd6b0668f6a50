import { redactUrl } from '@polystore/core';

/**
 * Hides a store URL's secrets in a line of text, in place: every occurrence of the URL
 * (as given, or as a driver prints it after parsing) becomes its redacted form, and a
 * password or secret parameter is replaced only where it stands in URL position
 * (`:secret@`, `key=secret`). Nothing else in the text changes: a URL without secrets
 * leaves the text as it is, and a secret's letters are never blanked out elsewhere (which
 * would let a reader work out a short password from what vanished). Every line the CLI
 * prints goes through this.
 */
export function redactText(text: string, url: string | undefined): string {
  if (url === undefined || url === '') return text;
  const redacted = redactUrl(url);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined) {
    // Unparseable: it may still carry `user:pass@`; hide the whole URL where it appears,
    // unless nothing in it looks like a credential.
    return /[@?]/.test(url) ? replaceAll(text, url, redacted) : text;
  }
  if (redacted === parsed.href && !parsed.password) return text;

  let out = text;
  for (const form of new Set([url, parsed.href])) out = replaceAll(out, form, redacted);
  const secrets: string[] = [];
  if (parsed.password) {
    secrets.push(parsed.password, safeDecode(parsed.password));
    for (const secret of new Set(secrets)) {
      out = replaceAll(out, `:${secret}@`, ':***@');
    }
  }
  const hidden = new URL(redacted);
  for (const [key, value] of parsed.searchParams) {
    if (value === '' || hidden.searchParams.get(key) === value) continue;
    for (const form of new Set([value, encodeURIComponent(value)])) {
      out = replaceAll(out, `${key}=${form}`, `${key}=***`);
    }
  }
  return out;
}

function replaceAll(text: string, what: string, by: string): string {
  return what === '' ? text : text.split(what).join(by);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
