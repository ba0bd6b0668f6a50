import {
  type AnyResource,
  ConfigError,
  historyOf,
  IncompatibleVersionError,
} from '@polystore/core';
import { isOlder, sameMajor } from '@polystore/core/adapter';

/** The object version of each resource a party speaks, by resource name (`{ instance: '1.0' }`). */
export type VersionManifest = Readonly<Record<string, string>>;

/** The manifest of a set of resource declarations. */
export function manifestOf(resources: readonly AnyResource[]): VersionManifest {
  return Object.freeze(Object.fromEntries(resources.map((r) => [r.name, r.version])));
}

/**
 * The versions the server answers a client in: for each resource the client speaks, its
 * version when the server can serve it (the same, or an older minor its history knows).
 * Refuses a newer or another major version with `IncompatibleVersionError`, and a resource
 * the server does not hold with `ConfigError` — at open, before any call.
 */
export function negotiateVersions(
  served: ReadonlyMap<string, AnyResource>,
  client: unknown,
): Map<string, string> {
  if (typeof client !== 'object' || client === null || Array.isArray(client)) {
    throw new ConfigError('remote: the client sent no version manifest');
  }
  const out = new Map<string, string>();
  for (const [name, version] of Object.entries(client)) {
    const resource = served.get(name);
    if (!resource) throw new ConfigError(`remote: the server does not serve resource ${name}`);
    if (typeof version !== 'string' || !/^\d+\.\d+$/.test(version)) {
      throw incompatible(name, String(version), resource.version);
    }
    if (version === resource.version) continue;
    if (
      !sameMajor(version, resource.version) ||
      !isOlder(version, resource.version) ||
      !historyOf(resource).at(version)
    ) {
      throw incompatible(name, version, resource.version);
    }
    out.set(name, version);
  }
  return out;
}

/** `IncompatibleVersionError` (stored: the client's version, known: the server's) saying who speaks what. */
function incompatible(name: string, client: string, server: string): IncompatibleVersionError {
  const err = new IncompatibleVersionError(name, client, server);
  Object.defineProperty(err, 'message', {
    value: `remote: the client speaks ${name} ${client}; the server holds ${server} and cannot answer in ${client}`,
    writable: true,
    configurable: true,
  });
  return err;
}
