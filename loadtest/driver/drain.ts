// What the drain scenario does to a node, as an operator or Kubernetes' preStop hook would: asks
// which node a URL reaches (the CONNECTED frame's session header is "<node id>:<session>"), then
// runs `stompede-ctl drain <node> --wait` against an admin address.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@stomp/stompjs';
import './roaming.js';

export const CTL = fileURLToPath(new URL('../../services/ctl/bin/stompede-ctl.js', import.meta.url));

/** The node id behind a WebSocket URL. */
export function nodeIdAt(url: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client({ brokerURL: url, reconnectDelay: 0, debug: () => {} });
    const timer = setTimeout(() => {
      void client.deactivate();
      reject(new Error(`no CONNECTED from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.onConnect = (frame) => {
      clearTimeout(timer);
      const session = frame.headers['session'] ?? '';
      void client.deactivate();
      const colon = session.lastIndexOf(':');
      if (colon <= 0) reject(new Error(`${url}: CONNECTED has no "<node>:<id>" session header (${session})`));
      else resolve(session.slice(0, colon));
    };
    client.onWebSocketError = () => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to ${url}`));
    };
    client.activate();
  });
}

export interface AdminTarget {
  /** host:port of any node's admin API. */
  readonly address: string;
  readonly token?: string;
  readonly tokenFile?: string;
}

export interface DrainTimings {
  readonly graceMs?: number;
  readonly windowMs?: number;
}

/** `stompede-ctl drain <node> --wait`; resolves when the node has drained, rejects on failure. */
export function ctlDrain(admin: AdminTarget, nodeId: string, timings: DrainTimings = {}, timeoutMs = 120_000): Promise<void> {
  const args = [CTL, '--server', admin.address, '--json'];
  if (admin.token !== undefined) args.push('--token', admin.token);
  if (admin.tokenFile !== undefined) args.push('--token-file', admin.tokenFile);
  args.push('drain', nodeId, '--wait');
  if (timings.graceMs !== undefined) args.push('--grace', `${timings.graceMs}ms`);
  if (timings.windowMs !== undefined) args.push('--window', `${timings.windowMs}ms`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`stompede-ctl drain ${nodeId} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}
