/**
 * The per-script shaking of prelude.lua (tools/shake-lua.mjs): each script takes only the
 * prelude definitions its body uses, transitively. Checked on a small prelude, and on the
 * real scripts by the Lua compiler of the test server: every name a generated script reads
 * as a global is one the same body reads after the whole prelude (a library: redis, cjson,
 * string...), so no definition a script uses was left out.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LUA_SCRIPTS } from '../src/scripts/lua-sources.js';
import { luaNames, preludeParts, shakeScript } from '../tools/shake-lua.mjs';
import { useRawRedis } from './helpers.js';

const PRELUDE = `-- header
-- of the prelude

local SEP = '\\0'
local A, B = 1, 2

-- Joins two parts.
-- (two comment lines)
local function join(a, b) return a .. SEP .. b end

local function unused(x)
  return x
end

-- Uses join.
local function key(t, id)
  -- a comment naming unused()
  return join(t, id)
end

local function insert(t, v)
  t[#t + 1] = v
end
local function copy(r)
  local n = {}
  for k, v in pairs(r) do n[k] = v end
  return n
end
`;

describe('shaking a prelude', () => {
  it('keeps the definitions a body uses, transitively, in order, with their comments', () => {
    expect(shakeScript(PRELUDE, 'return key(ARGV[1], B)\n')).toBe(
      [
        '-- header\n-- of the prelude',
        "local SEP = '\\0'",
        'local A, B = 1, 2',
        '-- Joins two parts.\n-- (two comment lines)\nlocal function join(a, b) return a .. SEP .. b end',
        '-- Uses join.\nlocal function key(t, id)\n  -- a comment naming unused()\n  return join(t, id)\nend',
        'return key(ARGV[1], B)\n',
      ].join('\n\n'),
    );
  });

  it('keeps only the header for a body that uses no definition', () => {
    expect(shakeScript(PRELUDE, "return redis.call('GET', KEYS[1])")).toBe(
      "-- header\n-- of the prelude\n\nreturn redis.call('GET', KEYS[1])",
    );
  });

  it('counts no field, comment or string as a use, and a name after .. as one', () => {
    const body = [
      'table.insert(t, 1)',
      'local x = t:copy()',
      '-- unused(1)',
      '--[==[ unused(2) ]==]',
      'local s = \'unused(3)\' .. "join\\"(" .. [[copy()]] .. [=[ insert ]=]',
      'return s ..key(1, 2)',
    ].join('\n');
    expect(luaNames(body).has('insert')).toBe(false);
    expect(luaNames(body).has('copy')).toBe(false);
    expect(luaNames(body).has('unused')).toBe(false);
    expect(preludeKept(body)).toEqual(['SEP', 'join', 'key']);
    expect(preludeKept('local n = 0x1e5 + 2e10 + .5e3\nreturn copy({ n })')).toEqual(['copy']);
  });

  it('refuses a prelude whose top level it cannot read', () => {
    expect(() => preludeParts(`${PRELUDE}\nredis.call('DEL', 'x')\n`)).toThrow(
      /expected a top-level `local` definition.*redis.call/,
    );
    expect(() => preludeParts(`${PRELUDE}\n-- alone\n\nlocal z = 1\n`)).toThrow(
      /expected a top-level `local` definition/,
    );
    expect(() => preludeParts(`${PRELUDE}\nlocal function copy(r) return r end\n`)).toThrow(
      /'copy' is defined twice/,
    );
    expect(() => preludeParts('local function f()\n  return 1\n')).toThrow(
      /no 'end' in column 0 closes f/,
    );
    expect(() => preludeParts('local function f()\n  if x then\nend\n  end\n')).toThrow(
      /expected a top-level `local` definition/,
    );
  });
});

/** The definitions of PRELUDE (first names) shakeScript keeps for `body`. */
function preludeKept(body: string): string[] {
  const kept = shakeScript(PRELUDE, body);
  return preludeParts(PRELUDE)
    .definitions.filter((d) => kept.includes(d.text))
    .map((d) => d.names[0]!);
}

/**
 * The names a Lua 5.1 chunk reads or writes as globals (GETGLOBAL and SETGLOBAL, in every
 * function of it), from its bytecode (`string.dump`, lundump.c's format).
 */
function globalNames(dump: Buffer): Set<string> {
  if (dump.readUInt32BE(0) !== 0x1b4c7561 || dump[4] !== 0x51)
    throw new Error('not Lua 5.1 bytecode');
  const little = dump[6] === 1;
  const [sizeInt, sizeSize, sizeInstruction, sizeNumber] = [
    dump[7]!,
    dump[8]!,
    dump[9]!,
    dump[10]!,
  ];
  if (sizeInt !== 4 || sizeInstruction !== 4) throw new Error('unexpected Lua 5.1 bytecode sizes');
  let at = 12;
  const int = () => {
    const v = little ? dump.readInt32LE(at) : dump.readInt32BE(at);
    at += 4;
    return v;
  };
  const string = () => {
    const n = Number(
      sizeSize === 8
        ? little
          ? dump.readBigUInt64LE(at)
          : dump.readBigUInt64BE(at)
        : little
          ? dump.readUInt32LE(at)
          : dump.readUInt32BE(at),
    );
    at += sizeSize;
    const s = n === 0 ? undefined : dump.toString('latin1', at, at + n - 1);
    at += n;
    return s;
  };
  const names = new Set<string>();
  const fn = (): void => {
    string(); // source
    int(); // line defined
    int(); // last line defined
    at += 4; // upvalues, parameters, is_vararg, max stack size
    const code: number[] = [];
    for (let n = int(); n > 0; n--) {
      code.push(little ? dump.readUInt32LE(at) : dump.readUInt32BE(at));
      at += 4;
    }
    const constants: unknown[] = [];
    for (let n = int(); n > 0; n--) {
      const type = dump[at++];
      if (type === 0) constants.push(null);
      else if (type === 1) constants.push(dump[at++] !== 0);
      else if (type === 3) {
        constants.push(undefined); // a number: never a global's name
        at += sizeNumber;
      } else if (type === 4) constants.push(string());
      else throw new Error(`unknown Lua constant type ${type}`);
    }
    for (const instruction of code) {
      const op = instruction & 0x3f;
      // OP_GETGLOBAL (5) and OP_SETGLOBAL (7): the global's name is constant Bx.
      if (op === 5 || op === 7) names.add(String(constants[instruction >>> 14]));
    }
    for (let n = int(); n > 0; n--) fn();
    const lines = int(); // line info: an int per instruction
    at += lines * 4;
    for (let n = int(); n > 0; n--) {
      string();
      int();
      int();
    }
    for (let n = int(); n > 0; n--) string();
  };
  fn();
  return names;
}

describe('the generated scripts', () => {
  const raw = useRawRedis([]);
  const prelude = readFileSync(new URL('../src/scripts/prelude.lua', import.meta.url), 'utf8');
  const scriptsDir = new URL('../src/scripts/', import.meta.url);
  const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  let definitionNames: string[] = [];
  beforeAll(() => {
    definitionNames = preludeParts(prelude).definitions.flatMap((d) => d.names);
  });

  /** The globals `source` reads or writes, compiled by the test server's Lua. */
  async function globalsOf(source: string): Promise<Set<string>> {
    const dump = (await raw().callBuffer(
      'EVAL',
      'return string.dump(assert(loadstring(ARGV[1])))',
      '0',
      source,
    )) as Buffer;
    return globalNames(dump);
  }

  it('reads the globals of a chunk from its bytecode', async () => {
    const globals = await globalsOf(
      'local a = 1\nlocal function f(x) return g(x) + a end\nh = f(string.len("x"))',
    );
    expect([...globals].sort()).toEqual(['g', 'h', 'string']);
  });

  it('finds a definition a script misses among its globals', async () => {
    const copy = preludeParts(prelude).definitions.find((d) => d.names[0] === 'copy')!;
    expect(LUA_SCRIPTS.delete).toContain(copy.text);
    const globals = await globalsOf(LUA_SCRIPTS.delete.replace(copy.text, ''));
    expect(globals.has('copy')).toBe(true);
  });

  it.each(Object.keys(LUA_SCRIPTS))('%s defines every prelude name it uses', async (name) => {
    const source = LUA_SCRIPTS[name as keyof typeof LUA_SCRIPTS];
    const body = readFileSync(new URL(`${kebab(name)}.lua`, scriptsDir), 'utf8');
    const whole = await globalsOf(`${prelude}\n${body}`);
    const shaken = await globalsOf(source);
    expect([...shaken].filter((g) => !whole.has(g))).toEqual([]);
    expect([...shaken].filter((g) => definitionNames.includes(g))).toEqual([]);
    expect(await raw().script('LOAD', source)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('leaves out of each script the definitions it does not use', () => {
    const defined = (source: string) =>
      preludeParts(prelude).definitions.filter((d) => source.includes(d.text)).length;
    expect(defined(LUA_SCRIPTS.fetch)).toBeLessThan(10);
    expect(defined(LUA_SCRIPTS.update)).toBeLessThan(definitionNames.length / 2);
  });
});
