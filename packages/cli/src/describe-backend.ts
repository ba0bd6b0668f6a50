import type { Backend } from '@polystore/core';

const HIDDEN = new Set(['constructor', 'name', 'capabilities', 'allocator']);
const SECRET_KEY = /pass|secret|token|api_?key|private|tls|auth|cert|credential/i;

type Scalar = string | number | boolean;

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/**
 * What a backend tells about itself beyond the SPI: its public scalar properties and
 * getters (a key prefix, a server version, request counters) and the scalar entries of a
 * public `options` object (table prefix, schema, chroot, timeouts). The SPI has no
 * describe method, so this reads what adapters happen to expose; secrets-looking keys are
 * left out.
 */
export function describeBackend(backend: Backend): [string, string][] {
  const keys = new Set<string>();
  for (
    let o: object | null = backend;
    o !== null && o !== Object.prototype;
    o = Object.getPrototypeOf(o)
  ) {
    for (const k of Object.getOwnPropertyNames(o)) keys.add(k);
  }
  const out: [string, string][] = [];
  for (const key of [...keys].sort()) {
    if (HIDDEN.has(key) || SECRET_KEY.test(key)) continue;
    let value: unknown;
    try {
      value = (backend as unknown as Record<string, unknown>)[key];
    } catch {
      continue;
    }
    if (isScalar(value)) out.push([key, String(value)]);
    else if (key === 'options' && typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        if (isScalar(v) && !SECRET_KEY.test(k)) out.push([`options.${k}`, String(v)]);
      }
    }
  }
  return out;
}
