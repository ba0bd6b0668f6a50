// Tree-shakes prelude.lua per script: each script gets only the prelude's top-level
// definitions its body uses, directly or through other definitions. Redis runs a script's
// top level on every call, so every `local function` of the whole prelude would be a
// closure made again per call (about 60 of them: ~7 us of a warm write, ~16 us cold);
// those a script never calls cost it nothing once they are left out.
//
// The prelude is read as the plain top-level structure its header describes: the header
// comment, then definitions, each a `local function name(...)` block ending at an `end`
// in column 0 (or on its first line) or a `local name = ...` statement (further lines
// indented), with the comment lines right above it. Anything else at the top level is
// refused, so that a change of that structure fails the embed step instead of producing a
// script that misses what it calls. What a definition or body uses is every name it
// mentions outside comments and strings but fields: more than it may call (a local of its
// own that shadows a definition counts as a use), never less.

import { readdirSync, readFileSync } from 'node:fs';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * The names a Lua text mentions: every identifier outside comments and strings that is
 * not a field (`t.name`, `t:name()`), keywords included (no definition has their names).
 * @param {string} text
 * @returns {Set<string>}
 */
export function luaNames(text) {
  const names = new Set();
  let i = 0;
  // The token before i: '.' and ':' make the name after it a field.
  let prev = '';
  // The closing bracket of a long bracket opening at `at` ('[[', '[=[', ...), if any.
  const longBracket = (at) => {
    const m = /^\[(=*)\[/.exec(text.slice(at, at + 256));
    return m ? { close: `]${m[1]}]`, length: m[0].length } : undefined;
  };
  const skipTo = (close, from) => {
    const end = text.indexOf(close, from);
    return end < 0 ? text.length : end + close.length;
  };
  while (i < text.length) {
    const c = text[i];
    const long = c === '[' || c === '-' ? longBracket(c === '[' ? i : i + 2) : undefined;
    if (c === '-' && text[i + 1] === '-') {
      i = long ? skipTo(long.close, i + 2 + long.length) : skipTo('\n', i);
    } else if (c === '[' && long) {
      i = skipTo(long.close, i + long.length);
      prev = 'string';
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== c && text[j] !== '\n') j += text[j] === '\\' ? 2 : 1;
      i = j + 1;
      prev = 'string';
    } else if (/[A-Za-z_]/.test(c)) {
      const name = NAME.exec(text.slice(i, i + 256))[0];
      if (prev !== '.' && prev !== ':') names.add(name);
      i += name.length;
      prev = 'name';
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(text[i + 1] ?? ''))) {
      // A number, hex and exponents included (`0xff`, `1e5`): no name in it.
      i += /^(0[xX][0-9a-fA-F]+|[0-9.]+([eE][+-]?[0-9]+)?)/.exec(text.slice(i, i + 64))[0].length;
      prev = 'number';
    } else if (c === '.') {
      // '.' (a field follows), or '..' and '...' (after which a name is no field).
      let j = i;
      while (text[j] === '.') j++;
      prev = j - i === 1 ? '.' : '..';
      i = j;
    } else {
      if (!/\s/.test(c)) prev = c;
      i++;
    }
  }
  return names;
}

/**
 * The prelude's header comment and its top-level definitions, in order: each one's text
 * (with its comment), the names it defines and the names it uses.
 * @param {string} prelude
 * @returns {{ header: string, definitions: Array<{ names: string[], text: string, uses: Set<string> }> }}
 */
export function preludeParts(prelude) {
  const lines = prelude.replace(/\n$/, '').split('\n');
  const isComment = (l) => l.startsWith('--');
  const fail = (i, why) => {
    throw new Error(`prelude.lua line ${i + 1}: ${why}: ${lines[i] ?? '(end of file)'}`);
  };
  let i = 0;
  while (i < lines.length && isComment(lines[i])) i++;
  const header = lines.slice(0, i).join('\n');
  const definitions = [];
  const defined = new Set();
  while (i < lines.length) {
    if (lines[i] === '') {
      i++;
      continue;
    }
    const start = i;
    while (i < lines.length && isComment(lines[i])) i++;
    const first = lines[i] ?? '';
    const fn = /^local function ([A-Za-z_][A-Za-z0-9_]*)\s*\(/.exec(first);
    const vars = /^local ([A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)\s*(?:=|$)/.exec(
      first,
    );
    if (!fn && !vars)
      fail(i, 'expected a top-level `local` definition (a comment goes right above one)');
    const names = fn ? [fn[1]] : vars[1].split(',').map((n) => n.trim());
    for (const n of names) {
      if (defined.has(n)) fail(i, `'${n}' is defined twice`);
      defined.add(n);
    }
    i++;
    if (fn && !/\bend$/.test(first)) {
      while (i < lines.length && lines[i] !== 'end') {
        if (lines[i] !== '' && !/^\s/.test(lines[i]))
          fail(i, `expected 'end' in column 0 to close ${names[0]}`);
        i++;
      }
      if (i === lines.length) fail(i, `no 'end' in column 0 closes ${names[0]}`);
      i++;
    } else {
      while (i < lines.length && /^\s/.test(lines[i])) i++;
    }
    const uses = luaNames(lines.slice(start, i).join('\n'));
    for (const n of names) uses.delete(n);
    definitions.push({ names, text: lines.slice(start, i).join('\n'), uses });
  }
  return { header, definitions };
}

/**
 * The definitions (their first names) a body uses, directly or through other
 * definitions, in the prelude's order.
 * @param {ReturnType<typeof preludeParts>['definitions']} definitions
 * @param {string} body
 * @returns {string[]}
 */
export function usedDefinitions(definitions, body) {
  const byName = new Map();
  for (const d of definitions) for (const n of d.names) byName.set(n, d);
  const kept = new Set();
  const visit = (names) => {
    for (const n of names) {
      const d = byName.get(n);
      if (d && !kept.has(d)) {
        kept.add(d);
        visit(d.uses);
      }
    }
  };
  visit(luaNames(body));
  return definitions.filter((d) => kept.has(d)).map((d) => d.names[0]);
}

/**
 * A script's whole source: the prelude's header, the definitions its body uses (see
 * usedDefinitions), then the body, each part after a blank line.
 * @param {string} prelude
 * @param {string} body
 * @returns {string}
 */
export function shakeScript(prelude, body) {
  const { header, definitions } = preludeParts(prelude);
  const used = new Set(usedDefinitions(definitions, body));
  const texts = definitions.filter((d) => used.has(d.names[0])).map((d) => d.text);
  return [header, ...texts, body].join('\n\n');
}

/**
 * What lua-sources.ts embeds from the scripts directory `dir` (a file: URL): the prelude's
 * header and definitions (by first name), and each script (the .lua file name but
 * prelude.lua's, in camel case) as the definitions it uses and its body.
 * @param {URL} dir
 * @returns {{ header: string, definitions: Record<string, string>, scripts: Record<string, { uses: string[], body: string }> }}
 */
export function scriptParts(dir) {
  const camel = (name) => name.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  const { header, definitions } = preludeParts(readFileSync(new URL('prelude.lua', dir), 'utf8'));
  const scripts = {};
  const files = readdirSync(dir).filter((f) => f.endsWith('.lua') && f !== 'prelude.lua');
  for (const f of files.sort()) {
    const body = readFileSync(new URL(f, dir), 'utf8');
    scripts[camel(f.slice(0, -4))] = { uses: usedDefinitions(definitions, body), body };
  }
  return {
    header,
    definitions: Object.fromEntries(definitions.map((d) => [d.names[0], d.text])),
    scripts,
  };
}
