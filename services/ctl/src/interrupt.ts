// Ctrl-C while following a stream means "stop following", not "die mid-output".

/** Calls `handler` on the first SIGINT instead of exiting; the returned function removes it. */
export function onInterrupt(handler: () => void): () => void {
  process.once('SIGINT', handler);
  return () => {
    process.off('SIGINT', handler);
  };
}
