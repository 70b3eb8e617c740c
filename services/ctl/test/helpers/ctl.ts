// Runs the built stompede-ctl (bin/stompede-ctl.js) as a child process, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CTL = fileURLToPath(new URL('../../bin/stompede-ctl.js', import.meta.url));

export interface CtlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CtlOptions {
  /** Added to the environment, from which every STOMPEDE_ADMIN_* variable of the test run is removed. */
  readonly env?: Readonly<Record<string, string>>;
  /** The process is killed (and the test fails) when it runs longer. */
  readonly timeoutMs?: number;
  /** Written to its stdin, which is then closed (stdin is /dev/null without it). */
  readonly input?: string;
}

export interface RunningCtl {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Polls until `condition` holds for the output so far; fails after `timeoutMs`. */
  waitFor(condition: (stdout: string, stderr: string) => boolean, timeoutMs?: number): Promise<void>;
  readonly exited: Promise<CtlResult>;
}

export function startCtl(args: readonly string[], options: CtlOptions = {}): RunningCtl {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('STOMPEDE_ADMIN_')));
  const child = spawn(process.execPath, [CTL, ...args], { env: { ...env, ...options.env }, stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timeoutMs = options.timeoutMs ?? 20_000;
  const exited = new Promise<CtlResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stompede-ctl ${args.join(' ')} still running after ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  const waitFor = async (condition: (out: string, err: string) => boolean, waitMs = 10_000): Promise<void> => {
    const deadline = Date.now() + waitMs;
    while (!condition(stdout, stderr)) {
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`condition not met (exit code ${child.exitCode})\nstdout:\n${stdout}\nstderr:\n${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, stdout: () => stdout, stderr: () => stderr, waitFor, exited };
}

export function runCtl(args: readonly string[], options: CtlOptions = {}): Promise<CtlResult> {
  return startCtl(args, options).exited;
}

/** The data rows of a table: every line after the header, split on runs of 2+ spaces. */
export function tableRows(output: string): string[][] {
  return output.trim().split('\n').slice(1).map((line) => line.trim().split(/\s{2,}/));
}

/** The header cells of a table. */
export function tableHeader(output: string): string[] {
  return output.trim().split('\n')[0]!.trim().split(/\s{2,}/);
}
