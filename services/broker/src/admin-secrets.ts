// The admin API's credentials: the bearer token (given, read from a file, or generated) and the TLS
// files. Read once at start; a file that cannot be read stops the node with a message naming it.
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AdminTls } from '@stompede/control';
import { ConfigError } from './config.js';
import type { BrokerConfig } from './settings.js';

export interface AdminSecrets {
  /** The configured token; undefined when it is to be generated (auth=token) or not used. */
  readonly token: string | undefined;
  readonly tls: AdminTls | undefined;
}

export function readAdminSecrets(c: BrokerConfig): AdminSecrets {
  let token: string | undefined = c.adminToken !== '' ? c.adminToken : undefined;
  if (c.adminTokenFile !== '') {
    token = read(c.adminTokenFile, 'STOMPEDE_ADMIN_TOKEN_FILE').toString().trim();
    if (token === '') throw new ConfigError(`STOMPEDE_ADMIN_TOKEN_FILE: ${c.adminTokenFile} is empty`);
  }
  if (token !== undefined && token.length < 16) throw new ConfigError('the admin token must be at least 16 characters');
  const tls: AdminTls | undefined = c.adminTlsCert === '' ? undefined : {
    certPem: read(c.adminTlsCert, 'STOMPEDE_ADMIN_TLS_CERT'),
    keyPem: read(c.adminTlsKey, 'STOMPEDE_ADMIN_TLS_KEY'),
    caPem: c.adminTlsCa === '' ? undefined : read(c.adminTlsCa, 'STOMPEDE_ADMIN_TLS_CA'),
  };
  return { token, tls };
}

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Writes a generated token where stompede-ctl can read it (STOMPEDE_ADMIN_TOKEN_FILE=<path>): a
 * file only this user can read, in the temp directory.
 */
export function writeTokenFile(nodeId: string, token: string): string {
  const path = join(tmpdir(), `stompede-${nodeId}.admin-token`);
  writeFileSync(path, token + '\n', { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

function read(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${path}: ${(err as Error).message}`);
  }
}
