#!/usr/bin/env node
// Regenerates the settings table in README.md from services/broker/src/settings.ts (via the
// build), between the <!-- settings:start --> and <!-- settings:end --> markers.
// --write rewrites README.md; without it, prints the table.
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsTable } from '../services/broker/dist/index.js';

const START = '<!-- settings:start -->';
const END = '<!-- settings:end -->';
const table = settingsTable();
if (!process.argv.includes('--write')) {
  process.stdout.write(table + '\n');
} else {
  const readme = new URL('../README.md', import.meta.url);
  const text = readFileSync(readme, 'utf8');
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${START} ... ${END} markers`);
  writeFileSync(readme, text.slice(0, a + START.length) + '\n' + table + '\n' + text.slice(b));
  process.stdout.write('README.md settings table updated\n');
}
