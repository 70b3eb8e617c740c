// A worker process of the driver (--procs N): runs one part and answers the parent over IPC.
import { startPart, type PartSession, type PartSpec } from './parts.js';

export type ToWorker =
  | { readonly type: 'start'; readonly spec: PartSpec }
  | { readonly type: 'go' }
  | { readonly type: 'progress'; readonly finals: readonly string[] }
  | { readonly type: 'finish' };

let session: PartSession | undefined;

const reply = (message: unknown): void => {
  process.send!(message);
};

process.on('message', (message: ToWorker) => {
  void (async () => {
    try {
      switch (message.type) {
        case 'start':
          session = await startPart(message.spec);
          reply({ type: 'ready' });
          break;
        case 'go':
          session!.go();
          break;
        case 'progress':
          reply({ type: 'progress', value: session!.progress(message.finals) });
          break;
        case 'finish':
          reply({ type: 'result', result: await session!.finish() });
          process.disconnect();
          break;
      }
    } catch (err) {
      reply({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
      process.exitCode = 1;
      process.disconnect();
    }
  })();
});
