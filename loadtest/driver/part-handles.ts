// Parts as the parent sees them: in this process (--procs 0) or in a forked worker process.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startPart, type PartResult, type PartSession, type PartSpec } from './parts.js';
import type { ToWorker } from './worker.js';

export interface PartHandle {
  go(): void;
  progress(finals: readonly string[]): Promise<number>;
  finish(): Promise<PartResult>;
  /** Ends the part at once (error paths). */
  kill(): void;
}

export async function localPart(spec: PartSpec): Promise<PartHandle> {
  const session: PartSession = await startPart(spec);
  return { go: () => session.go(), progress: async (f) => session.progress(f), finish: () => session.finish(), kill: () => {} };
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));

type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'progress'; readonly value: number }
  | { readonly type: 'result'; readonly result: PartResult }
  | { readonly type: 'error'; readonly message: string };

/** Forks a worker (with this process's execArgv, so the tsx loader comes along) and starts its part. */
export async function workerPart(spec: PartSpec): Promise<PartHandle> {
  const child: ChildProcess = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  let waiting: { type: string; resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined;
  const request = <T extends FromWorker>(message: ToWorker, type: T['type']): Promise<T> =>
    new Promise((resolve, reject) => {
      waiting = { type, resolve: resolve as (m: FromWorker) => void, reject };
      child.send(message);
    });
  child.on('message', (m: FromWorker) => {
    if (waiting === undefined) return;
    const w = waiting;
    waiting = undefined;
    if (m.type === 'error') w.reject(new Error(`worker ${child.pid}: ${m.message}`));
    else if (m.type === w.type) w.resolve(m);
  });
  child.on('exit', (code) => waiting?.reject(new Error(`worker ${child.pid} exited (${code}) while the parent waited for "${waiting.type}"`)));
  await request({ type: 'start', spec }, 'ready');
  return {
    go: () => child.send({ type: 'go' } satisfies ToWorker),
    progress: async (finals) => (await request<{ type: 'progress'; value: number }>({ type: 'progress', finals }, 'progress')).value,
    finish: async () => (await request<{ type: 'result'; result: PartResult }>({ type: 'finish' }, 'result')).result,
    kill: () => child.kill('SIGKILL'),
  };
}
