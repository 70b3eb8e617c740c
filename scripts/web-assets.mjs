#!/usr/bin/env node
// Part of `make build`: puts the demo page (services/broker/web) and the browser bundles of
// @stomp/stompjs and sockjs-client (their published UMD builds, from node_modules) into
// services/broker/dist/web, which the node serves. Built output, kept out of git.
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'services/broker/dist/web');
const require = createRequire(import.meta.url);
/** A package's folder: up from its entry point (its exports hide package.json). */
function pkgDir(name) {
  let dir = dirname(require.resolve(name, { paths: [root] }));
  while (!existsSync(join(dir, 'package.json')) || !dir.endsWith(name)) dir = dirname(dir);
  return dir;
}

mkdirSync(join(out, 'vendor'), { recursive: true });
for (const f of readdirSync(join(root, 'services/broker/web'))) cpSync(join(root, 'services/broker/web', f), join(out, f));
cpSync(join(pkgDir('@stomp/stompjs'), 'bundles/stomp.umd.min.js'), join(out, 'vendor/stomp.umd.min.js'));
cpSync(join(pkgDir('sockjs-client'), 'dist/sockjs.min.js'), join(out, 'vendor/sockjs.min.js'));
