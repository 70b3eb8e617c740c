// Turns the global options into what a connection to the admin API needs: address, token, TLS
// material and the per-call deadline. Files named by options are read here, once.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { CliError, EXIT } from './exit.js';

export const DEFAULT_SERVER = '127.0.0.1:50051';
export const DEFAULT_TIMEOUT_MS = 10_000;

/** The global options as commander hands them over, after the value parsers. */
export interface GlobalOptions {
  readonly server: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly tls?: boolean;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  /** Milliseconds (parsed from --timeout). */
  readonly timeout: number;
  readonly json?: boolean;
}

export interface TlsMaterial {
  /** PEM roots to trust instead of the system's. */
  readonly ca: Buffer | undefined;
  /** Client certificate and key for mTLS. */
  readonly cert: Buffer | undefined;
  readonly key: Buffer | undefined;
}

export interface ConnectionSettings {
  readonly address: string;
  readonly token: string | undefined;
  /** Undefined: plaintext. */
  readonly tls: TlsMaterial | undefined;
  readonly timeoutMs: number;
}

export function connectionSettings(command: Command): ConnectionSettings {
  const options = command.optsWithGlobals<GlobalOptions>();
  return {
    address: options.server,
    token: chooseToken(command, options),
    tls: tlsMaterial(options),
    timeoutMs: options.timeout,
  };
}

/**
 * Flags beat environment variables (commander fills both options from either), and at the same
 * level --token beats --token-file.
 */
function chooseToken(command: Command, options: GlobalOptions): string | undefined {
  const candidates = [
    { source: command.getOptionValueSourceWithGlobals('token'), read: () => options.token },
    { source: command.getOptionValueSourceWithGlobals('tokenFile'), read: () => readToken(options.tokenFile!) },
  ].filter((candidate) => candidate.source !== undefined);
  const chosen = candidates.find((candidate) => candidate.source === 'cli') ?? candidates[0];
  const token = chosen?.read()?.trim();
  return token === '' ? undefined : token;
}

function readToken(path: string): string {
  const token = readOptionFile('--token-file', path).toString('utf8').trim();
  if (token === '') throw new CliError(`token file ${path} is empty`, EXIT.usage);
  return token;
}

function tlsMaterial(options: GlobalOptions): TlsMaterial | undefined {
  const wanted = options.tls === true || [options.ca, options.cert, options.key].some((path) => path !== undefined);
  if (!wanted) return undefined;
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new CliError('--cert and --key go together (the client certificate and its private key)', EXIT.usage);
  }
  return {
    ca: options.ca === undefined ? undefined : readOptionFile('--ca', options.ca),
    cert: options.cert === undefined ? undefined : readOptionFile('--cert', options.cert),
    key: options.key === undefined ? undefined : readOptionFile('--key', options.key),
  };
}

function readOptionFile(option: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliError(`cannot read ${option} ${path}: ${(error as Error).message}`, EXIT.usage);
  }
}
