import { createContext, type RequestContext } from '@polystore/core';

/** The request contexts commands run under, by short name. */
export const CONTEXTS = {
  p1: createContext({ projectId: 'p1', userId: 'u1' }),
  p2: createContext({ projectId: 'p2', userId: 'u2' }),
  'p1/yes': createContext({ projectId: 'p1', userId: 'u1', readDeleted: 'yes' }),
  'p1/only': createContext({ projectId: 'p1', userId: 'u1', readDeleted: 'only' }),
  admin: createContext({ isAdmin: true, userId: 'root' }),
  'admin/yes': createContext({ isAdmin: true, userId: 'root', readDeleted: 'yes' }),
  'admin/only': createContext({ isAdmin: true, userId: 'root', readDeleted: 'only' }),
} as const satisfies Record<string, RequestContext>;

/** The name of one of {@link CONTEXTS}. */
export type ContextName = keyof typeof CONTEXTS;

/** Every context name. */
export const CONTEXT_NAMES = Object.keys(CONTEXTS) as ContextName[];

/** The source line that builds a named context, for snippets. */
export function contextSource(name: ContextName): string {
  const c = CONTEXTS[name];
  const parts = c.isAdmin ? ['isAdmin: true'] : [`projectId: '${c.projectId}'`];
  parts.push(`userId: '${c.userId}'`);
  if (c.readDeleted !== 'no') parts.push(`readDeleted: '${c.readDeleted}'`);
  return `createContext({ ${parts.join(', ')} })`;
}

/** A variable name for a context in snippets. */
export function contextVar(name: ContextName): string {
  return name.replace('/', '_');
}
