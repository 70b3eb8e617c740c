// The browser-facing HTTP routes on the WebSocket port: the demo page at / (with the stompjs and
// sockjs-client bundles it loads, also usable by any page) and the read-only cluster summary at
// /api/cluster. The files come from dist/web, put there by `make build` (scripts/web-assets.mjs).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterViewAnswer } from '@stompede/control';
import type { Logger } from '@stompede/session';
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';

export interface WebOptions {
  readonly demoPage: boolean;
  /** undefined: /api/cluster is off. */
  readonly clusterView: (() => Promise<ClusterViewAnswer>) | undefined;
  readonly logger: Logger;
  /** Where the built files are; default dist/web next to this module. */
  readonly dir?: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=UTF-8',
  '.js': 'application/javascript; charset=UTF-8',
  '.css': 'text/css; charset=UTF-8',
  '.png': 'image/png',
};

/** The page loads only from its own node; no inline script, no framing by other sites. */
const PAGE_HEADERS: readonly [string, string][] = [
  ['content-security-policy', "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'"],
  ['x-content-type-options', 'nosniff'],
  ['referrer-policy', 'no-referrer'],
];

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

export function mountWeb(app: TemplatedApp, o: WebOptions): void {
  const dir = o.dir ?? fileURLToPath(new URL('./web/', import.meta.url));
  const assets = loadAssets(dir);
  if (assets.size === 0) o.logger.warn({ dir }, 'demo page and browser bundles not built (run make build): / and /vendor/* answer 503');
  const serve = (res: HttpResponse, name: string): void => {
    const asset = assets.get(name);
    if (asset === undefined) {
      res.writeStatus(assets.size === 0 ? '503 Service Unavailable' : '404 Not Found').end(assets.size === 0 ? 'web assets not built: run make build\n' : 'not found\n');
      return;
    }
    res.writeHeader('content-type', asset.type).writeHeader('cache-control', 'no-cache');
    for (const [k, v] of PAGE_HEADERS) res.writeHeader(k, v);
    res.end(asset.body);
  };
  app.get('/vendor/:file', (res, req) => serve(res, `vendor/${req.getParameter(0)}`));
  if (o.demoPage) {
    app.get('/', (res) => serve(res, 'index.html'));
    app.get('/demo/:file', (res, req) => serve(res, req.getParameter(0)!));
  }
  const view = o.clusterView;
  if (view !== undefined) {
    app.get('/api/cluster', (res) => {
      let aborted = false;
      res.onAborted(() => (aborted = true));
      view().then(
        (answer) => {
          if (aborted) return;
          res.cork(() => res.writeHeader('content-type', 'application/json').writeHeader('cache-control', 'no-store').end(JSON.stringify(answer)));
        },
        () => {
          if (!aborted) res.cork(() => res.writeStatus('503 Service Unavailable').end('{"error":"cluster view unavailable"}'));
        },
      );
    });
  }
}

/** Every built file, read once at start (a few hundred KiB). */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  for (const sub of ['', 'vendor']) {
    const d = join(dir, sub);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d, { withFileTypes: true })) {
      const type = TYPES[extname(f.name)];
      if (!f.isFile() || type === undefined) continue;
      assets.set(sub === '' ? f.name : `${sub}/${f.name}`, { type, body: readFileSync(join(d, f.name)) });
    }
  }
  return assets;
}
