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
  'p2/yes': createContext({ projectId: 'p2', userId: 'u2', readDeleted: 'yes' }),
  'p2/only': createContext({ projectId: 'p2', userId: 'u2', readDeleted: 'only' }),
  // Project ids that naive filters confuse with p1: a longer id it is a prefix of, its
  // case twin, and one full of quote, LIKE and glob characters.
  p10: createContext({ projectId: 'p10', userId: 'u3' }),
  P1: createContext({ projectId: 'P1', userId: 'u4' }),
  pq: createContext({ projectId: "p1%'_*", userId: 'u5' }),
} as const satisfies Record<string, RequestContext>;

/** The name of one of {@link CONTEXTS}. */
export type ContextName = keyof typeof CONTEXTS;

/** The project ids of the non-admin contexts, for values that name a project. */
export const PROJECT_IDS = ['p1', 'p2', 'p10', 'P1', "p1%'_*"] as const;

/** Every context name. */
export const CONTEXT_NAMES = Object.keys(CONTEXTS) as ContextName[];

/** The source line that builds a named context, for snippets. */
export function contextSource(name: ContextName): string {
  const c = CONTEXTS[name];
  const parts = c.isAdmin ? ['isAdmin: true'] : [`projectId: ${JSON.stringify(c.projectId)}`];
  parts.push(`userId: ${JSON.stringify(c.userId)}`);
  if (c.readDeleted !== 'no') parts.push(`readDeleted: '${c.readDeleted}'`);
  return `createContext({ ${parts.join(', ')} })`;
}

/** A variable name for a context in snippets. */
export function contextVar(name: ContextName): string {
  return name.replace('/', '_');
}
