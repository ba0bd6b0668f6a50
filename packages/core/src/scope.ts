import type { ReadDeleted, RequestContext } from './context.js';
import type { AnyResource } from './schema/resource.js';

/** Which records a read may see, derived by core from the context and the resource. */
export interface ReadScope {
  /** Only this project's records; `null` means every project (admin, or a global resource). */
  readonly projectId: string | null;
  /** Also records with `projectId: null` (shared resources read by a project context). */
  readonly includeShared: boolean;
  /** Which soft-deleted records to include (resources without soft delete have none, so `only` finds nothing). */
  readonly deleted: ReadDeleted;
}

/** Which records a write may touch: only live ones, of this project (`null`: any project). */
export interface WriteScope {
  readonly projectId: string | null;
}

/** The read scope of a context on a resource. */
export function readScope(resource: AnyResource, ctx: RequestContext): ReadScope {
  const all = ctx.isAdmin || resource.scope === 'global';
  return {
    projectId: all ? null : ctx.projectId,
    includeShared: !all && resource.scope === 'shared',
    deleted: ctx.readDeleted,
  };
}

/** The write scope of a context on a resource. */
export function writeScope(resource: AnyResource, ctx: RequestContext): WriteScope {
  return { projectId: ctx.isAdmin || resource.scope === 'global' ? null : ctx.projectId };
}

/** Whether a stored record is visible under a read scope (for adapters that filter in process). */
export function inReadScope(
  record: { readonly projectId: string | null; readonly deletedAt: string | null },
  scope: ReadScope,
): boolean {
  if (scope.projectId !== null && record.projectId !== scope.projectId) {
    if (!(scope.includeShared && record.projectId === null)) return false;
  }
  if (scope.deleted === 'no') return record.deletedAt === null;
  if (scope.deleted === 'only') return record.deletedAt !== null;
  return true;
}

/** Whether a stored record may be written under a write scope: live and in the project. */
export function inWriteScope(
  record: { readonly projectId: string | null; readonly deletedAt: string | null },
  scope: WriteScope,
): boolean {
  return (
    record.deletedAt === null && (scope.projectId === null || record.projectId === scope.projectId)
  );
}
