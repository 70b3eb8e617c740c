// Types of the parts of lib.js the load driver (loadtest/driver) uses.
export declare class Hist {
  n: number;
  sum: number;
  max: number;
  record(us: number): void;
  pct(p: number): number | null;
  merge(other: Hist): void;
  toSparse(): SparseHist;
  static fromSparse(s: SparseHist): Hist;
}
export interface SparseHist {
  pairs: number[];
  n: number;
  sum: number;
  max: number;
}
export interface ParsedFrame {
  command: string;
  headers: Record<string, string>;
  body: Buffer;
}
export interface ConnOptions {
  transport: 'ws' | 'raw' | 'tcp';
  url?: string;
  host: string;
  port: number;
  path: string;
  vhost: string;
  subprotocols: string[];
  connectTimeoutMs: number;
  login?: string;
  passcode?: string;
}
export declare class StompConn {
  constructor(o: ConnOptions);
  closed: boolean;
  server: string | undefined;
  onMessageFrame: ((f: ParsedFrame) => void) | null;
  onErrorFrame: ((f: ParsedFrame) => void) | null;
  connect(): Promise<StompConn>;
  subscribe(destination: string, id: string | number, ack?: string, extra?: Record<string, string>, withReceipt?: boolean): Promise<void>;
  disconnect(timeoutMs?: number): Promise<void>;
  destroy(): void;
}
export declare function parseUrl(u: string): { host: string; port: number; path: string; href: string };
export declare function encodeFrame(command: string, headers: Record<string, string>, body?: string | Buffer): Buffer;
