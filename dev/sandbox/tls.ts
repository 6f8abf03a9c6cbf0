import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/**
 * A throwaway certificate for the sandbox's HTTPS stand-ins. It is made at every start so no key ever lives in
 * the repository, and it is self-signed, so clients trust exactly this one certificate (in-process via an
 * agent's `ca`, child processes via NODE_EXTRA_CA_CERTS pointing at `caCertPath`) instead of disabling checks.
 */

export interface SandboxTls {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM server certificate; being self-signed it is also the CA to trust. */
  cert: string;
  caCertPem: string;
  /** A temp file holding `caCertPem`, for NODE_EXTRA_CA_CERTS. */
  caCertPath: string;
  /** Removes the temp file. */
  dispose(): Promise<void>;
}

export interface SandboxTlsOptions {
  /** When the certificate starts being valid (ms since the epoch). */
  now: () => number;
  /** Validity in days; short because it is remade at every start. */
  validityDays?: number;
}

export async function createSandboxTls(options: SandboxTlsOptions): Promise<SandboxTls> {
  const notBeforeDate = new Date(options.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + (options.validityDays ?? 30) * 86_400_000);
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), 'pla-sandbox-'));
  const caCertPath = join(dir, 'sandbox-ca.pem');
  await writeFile(caCertPath, pems.cert, { mode: 0o600 });
  return {
    key: pems.private,
    cert: pems.cert,
    caCertPem: pems.cert,
    caCertPath,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
