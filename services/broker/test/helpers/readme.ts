// The README's quickstart snippets, extracted as printed (readme.test.ts runs the Node and Python
// ones, browser.test.ts the browser one in Chromium).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const README = readFileSync(`${ROOT}README.md`, 'utf8');

/** The code block after `<!-- quickstart:<marker> -->`. */
export function snippet(marker: string): string {
  const at = README.indexOf(`<!-- quickstart:${marker} -->`);
  assert.ok(at >= 0, `README has no ${marker} quickstart`);
  const m = /```\w*\n([\s\S]*?)```/.exec(README.slice(at));
  assert.ok(m, `no code block after the ${marker} marker`);
  return m[1]!;
}
