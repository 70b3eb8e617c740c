// Runs the load driver's command line as a user does, for the smoke tests.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunResult } from '../driver/run.js';

export const MAIN = fileURLToPath(new URL('../driver/main.ts', import.meta.url));

/** Runs the driver CLI; resolves with its exit code, parsed JSON result and stderr. */
export function driver(args: readonly string[]): Promise<{ code: number; result: RunResult | undefined; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args, '--json', '-'], { timeout: 120_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      let result: RunResult | undefined;
      try {
        result = JSON.parse(stdout) as RunResult;
      } catch {
        result = undefined;
      }
      resolve({ code, result, stderr });
    });
  });
}
