// Loads uWebSockets.js and insists on the native addon. The package's loader silently falls back to
// a slow JavaScript implementation when its binary does not load (wrong ABI, missing glibc symbol,
// or UWS_USE_FALLBACK set); a broker running on that fallback would be an order of magnitude
// slower without saying so, so we refuse to start instead.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as Uws from 'uWebSockets.js';

export type UwsModule = typeof Uws;

export class UwsFallbackError extends Error {}

export function loadNativeUws(): UwsModule {
  const require = createRequire(import.meta.url);
  const binary = join(
    dirname(require.resolve('uWebSockets.js/package.json')),
    'binaries',
    `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`,
  );
  const uws = require('uWebSockets.js') as UwsModule;
  let native: unknown;
  let reason = '';
  try {
    native = require(binary);
  } catch (err) {
    reason = (err as Error).message.split('\n')[0] ?? '';
  }
  if (native !== uws) {
    throw new UwsFallbackError(
      `uWebSockets.js is running its JavaScript fallback instead of the native addon ${binary}` +
        (reason ? ` (${reason})` : process.env['UWS_USE_FALLBACK'] ? ' (UWS_USE_FALLBACK is set)' : '') +
        '. Refusing to start: the fallback is far slower. Use Node.js 20 on glibc >= 2.27 (x64/arm64).',
    );
  }
  return uws;
}
