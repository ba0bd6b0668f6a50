import { sharedServerUrl } from '@polystore/testing/vitest';

/** The URL of the shared test server. */
export function redisUrl(): string {
  return sharedServerUrl('redis');
}

/** Hostile strings: Lua and Redis specials, glob characters, quotes, non-BMP, controls. */
export const HOSTILE_STRINGS = [
  '',
  '*',
  '?',
  '[a-z]',
  '"',
  "'",
  '\\',
  '\\"',
  ']]',
  '[[',
  '--[[',
  '%s%d%%',
  '\n\r\t',
  '\u0001',
  '\u007f',
  '{tag}',
  '}{',
  ':',
  '~s:',
  'null',
  '"null"',
  '1e309',
  '😀',
  '𝄞a',
  '\uffff',
  '\ue000',
  'é',
  'e\u0301',
  'a'.repeat(40),
] as const;
