// Where results and warnings go: results to stdout, everything else to stderr, so that
// `stompede-ctl ... --json | jq` only ever sees results.

export function printText(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** One result for scripts, indented for the people who read it too. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** One object per line, for results that keep coming (drain progress, stats snapshots). */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`stompede-ctl: warning: ${text}\n`);
}

export function note(text: string): void {
  process.stderr.write(`stompede-ctl: ${text}\n`);
}

/** Peers the answering node could not ask: the results leave them out, so say which. */
export function warnUnreachable(nodes: ReadonlyArray<{ readonly nodeId: string; readonly error: string }>): void {
  for (const node of nodes) warn(`node ${node.nodeId} did not answer (${node.error}); its rows are missing`);
}
