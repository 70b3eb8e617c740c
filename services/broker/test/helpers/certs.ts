// A throwaway certificate authority for TLS tests, made with the openssl command: a CA, and
// certificates it signs for 127.0.0.1 (usable as server and as client certificates).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertFiles {
  readonly cert: string;
  readonly key: string;
}

/** Why TLS tests cannot run here, or undefined. */
export function opensslMissing(): string | undefined {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'the openssl command is not installed';
  }
}

export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), 'stompede-ca-'));
  readonly ca: CertFiles;

  constructor() {
    this.ca = { cert: join(this.dir, 'ca.pem'), key: join(this.dir, 'ca.key') };
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=stompede-test-ca', '-keyout', this.ca.key, '-out', this.ca.cert]);
  }

  /** A certificate for 127.0.0.1 signed by this CA. */
  issue(name: string): CertFiles {
    const files = { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}.key`) };
    const csr = join(this.dir, `${name}.csr`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\n');
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', files.key, '-out', csr]);
    openssl(['x509', '-req', '-in', csr, '-CA', this.ca.cert, '-CAkey', this.ca.key, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', files.cert]);
    return files;
  }

  read(path: string): Buffer {
    return readFileSync(path);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}
