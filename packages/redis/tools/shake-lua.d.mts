// Types of shake-lua.mjs, for the tests that use it.

/** A top-level definition of prelude.lua: its text (with its comment), the names it defines and uses. */
export interface PreludeDefinition {
  readonly names: string[];
  readonly text: string;
  readonly uses: Set<string>;
}

/** The names a Lua text mentions outside comments and strings, but fields. */
export function luaNames(text: string): Set<string>;

/** The prelude's header comment and its top-level definitions, in order. */
export function preludeParts(prelude: string): {
  header: string;
  definitions: PreludeDefinition[];
};

/** The definitions (first names) a body uses, directly or through others, in the prelude's order. */
export function usedDefinitions(definitions: readonly PreludeDefinition[], body: string): string[];

/** A script's whole source: the prelude's header, the definitions its body uses, the body. */
export function shakeScript(prelude: string, body: string): string;

/** What lua-sources.ts embeds from the scripts directory `dir`. */
export function scriptParts(dir: URL): {
  header: string;
  definitions: Record<string, string>;
  scripts: Record<string, { uses: string[]; body: string }>;
};
