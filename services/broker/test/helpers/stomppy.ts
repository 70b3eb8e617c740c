// Runs test/clients/stomppy_client.py (Debian's stomp.py) with a JSON scenario: events it signals
// can be awaited while it runs, and its final report comes back as JSON.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env['PYTHON'] ?? '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../clients/stomppy_client.py', import.meta.url));

export interface PyFrame {
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface PyResult {
  readonly version: string;
  readonly connected: Record<string, string> | null;
  readonly messages: PyFrame[];
  readonly receipts: string[];
  readonly errors: PyFrame[];
  readonly disconnected: boolean;
  readonly exception?: string;
  /** What the script printed on stderr: tracebacks of stomp.py's receiver thread, say. */
  readonly stderr?: string;
}

export type PyStep = { readonly op: string } & Record<string, unknown>;

export interface PyScenario {
  readonly port: number;
  readonly host?: string;
  readonly version: '1.0' | '1.1' | '1.2';
  readonly timeout?: number;
  /** CONNECT credentials (login and passcode headers). */
  readonly login?: string;
  readonly passcode?: string;
  /** STOMP over TLS, trusting the certificates in the `ca_certs` PEM file. */
  readonly tls?: { readonly ca_certs: string };
  readonly steps: readonly PyStep[];
}

let available = false;

/** Throws, naming the package to install, when stomp.py cannot be imported. */
export function requireStomppy(): void {
  if (available) return;
  const r = spawnSync(PYTHON, ['-c', 'import stomp; print(".".join(map(str, stomp.__version__)))'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(
      `stomp.py is not importable by ${PYTHON} (${r.error?.message ?? r.stderr.trim()}). ` +
        'Install it: apt-get install python3-stomp (or run `make test-deps`).',
    );
  }
  available = true;
}

export interface PyRun {
  /** Resolves when the script prints {"event": name}. */
  event(name: string, timeoutMs?: number): Promise<void>;
  readonly result: Promise<PyResult>;
}

/** Starts the script; throws first (see requireStomppy) when stomp.py is missing. */
export function runStomppy(scenario: PyScenario, timeoutMs = 60_000): PyRun {
  requireStomppy();
  const child = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  const seen = new Set<string>();
  const waiters: { name: string; resolve: () => void }[] = [];
  let stdout = '';
  let stderr = '';
  let result: PyResult | undefined;
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    let nl: number;
    while ((nl = stdout.indexOf('\n')) >= 0) {
      const line = stdout.slice(0, nl).trim();
      stdout = stdout.slice(nl + 1);
      if (line === '') continue;
      const parsed = JSON.parse(line) as { event?: string; result?: PyResult };
      if (parsed.result !== undefined) result = parsed.result;
      if (parsed.event !== undefined) {
        seen.add(parsed.event);
        for (const w of waiters.filter((x) => x.name === parsed.event)) w.resolve();
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<PyResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      if (result !== undefined) resolve({ ...result, stderr });
      else reject(new Error(`stomppy_client.py exited ${code} without a result:\n${stderr}`));
    });
  });
  child.stdin.end(JSON.stringify(scenario));
  return {
    event(name, waitMs = 30_000) {
      if (seen.has(name)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`stomp.py never signalled ${name}:\n${stderr}`)), waitMs);
        waiters.push({ name, resolve: () => (clearTimeout(timer), resolve()) });
        done.then(() => reject(new Error(`stomp.py finished without signalling ${name}`)), reject);
      });
    },
    result: done,
  };
}
