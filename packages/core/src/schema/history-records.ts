/**
 * What `objectVersion` means for stored records: readers upgrade older records to the
 * code's version, project newer minor ones (or refuse them), and writers never lower a
 * record's version.
 */
import type { StoredRecord } from '../driver.js';
import { type FieldIssue, IncompatibleVersionError, InvalidInputError } from '../errors.js';
import { backportFields, isOlder, sameMajor, upgradeFields } from './history.js';
import { type AnyResource, historyOf } from './resource.js';
import { checkValue } from './validate.js';

/**
 * A stored record as the code's version of the resource reads it.
 * - at the code's version: unchanged;
 * - older: upgraded through the history (defaults, up-transforms);
 * - a newer minor of the same major: the fields this code knows, each checked against
 *   this code's declaration (an enum value it does not know is refused);
 * - a newer major, or a version the history does not know: `IncompatibleVersionError`.
 */
export function readAtCodeVersion(resource: AnyResource, raw: StoredRecord): StoredRecord {
  const stored = raw.objectVersion;
  if (stored === resource.version) return raw;
  const history = historyOf(resource);
  if (typeof stored !== 'string' || !/^\d+\.\d+$/.test(stored))
    throw new IncompatibleVersionError(resource.name, String(stored), resource.version);
  if (isOlder(stored, resource.version)) {
    return upgradeFields(resource.name, history, raw, stored, resource.version) as StoredRecord;
  }
  if (!sameMajor(stored, resource.version))
    throw new IncompatibleVersionError(resource.name, stored, resource.version);
  const issues: FieldIssue[] = [];
  for (const name of resource.fieldNames) {
    const v = raw[name];
    if (v !== undefined) checkValue(resource.fields[name]!, v, name, issues);
  }
  if (issues.length > 0)
    throw new IncompatibleVersionError(resource.name, stored, resource.version);
  return raw;
}

/** How an update must be written given the record as it is now. */
export interface VersionedWrite {
  /** The version the record is written at: the writer's, or the record's if newer. */
  readonly objectVersion: string;
  /** Fields to write besides the patch, so the record has the shape of `objectVersion`. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/**
 * The write of a patch at `writeVersion` onto a record currently at another version.
 * An older record is upgraded (the fields added since are written too); a newer one of
 * the same major, or at the code's version, keeps its version (a write never lowers it);
 * another major is refused.
 */
export function versionedWrite(
  resource: AnyResource,
  current: StoredRecord,
  writeVersion: string,
  set: Readonly<Record<string, unknown>>,
): VersionedWrite {
  const stored = current.objectVersion;
  if (typeof stored !== 'string' || !/^\d+\.\d+$/.test(stored))
    throw new IncompatibleVersionError(resource.name, String(stored), writeVersion);
  if (!isOlder(stored, writeVersion)) {
    // A record already at the code's own version takes the patch as it is: the patch was
    // validated at that version. A pinned writer meets one when the fleet's pin moved on
    // while its call was in flight and a migrate converted the record, across a major too.
    if (!sameMajor(stored, writeVersion) && stored !== resource.version)
      throw new IncompatibleVersionError(resource.name, stored, writeVersion);
    return { objectVersion: stored, extra: {} };
  }
  const history = historyOf(resource);
  const upgraded = upgradeFields(resource.name, history, current, stored, writeVersion);
  const target = history.at(writeVersion)!;
  const extra: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  for (const name of target.fieldNames) {
    if (name in set) continue;
    const addedOrChanged = history.versions.some(
      (v) =>
        isOlder(stored, v.version) &&
        !isOlder(writeVersion, v.version) &&
        (v.added.some((a) => a.field === name) || v.changed.includes(name)),
    );
    if (addedOrChanged)
      extra[name] = checkValue(target.fields[name]!, upgraded[name], name, issues);
  }
  if (issues.length > 0) throw new InvalidInputError(resource.name, issues);
  return { objectVersion: writeVersion, extra };
}

/**
 * The field values of a record at the code's version as an older reader at `target`
 * (same major) holds them. Refuses with `IncompatibleVersionError` what it cannot hold.
 */
export function recordForVersion(
  resource: AnyResource,
  fields: Readonly<Record<string, unknown>>,
  target: string,
): Record<string, unknown> {
  if (target === resource.version) return { ...fields };
  return backportFields(resource.name, historyOf(resource), fields, resource.version, target);
}

/**
 * The field values of a new record (validated at the code's version) as the record is
 * stored at a fleet's pinned `target` version: backported through the history, across a
 * major version too (fields removed since get their last default). The create of a
 * process whose release is ahead of its fleet.
 */
export function fieldsAtWriteVersion(
  resource: AnyResource,
  fields: Readonly<Record<string, unknown>>,
  target: string,
): Record<string, unknown> {
  if (target === resource.version) return { ...fields };
  if (!isOlder(target, resource.version))
    throw new IncompatibleVersionError(resource.name, target, resource.version);
  return backportFields(resource.name, historyOf(resource), fields, resource.version, target, {
    acrossMajors: true,
  });
}
