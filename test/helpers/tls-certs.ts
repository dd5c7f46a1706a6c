/**
 * Certificates for a TLS Docker engine, made with openssl as Docker's "Protect the daemon socket"
 * guide makes them: a CA, a server certificate for 127.0.0.1 (subjectAltName IP) and a client
 * certificate (extendedKeyUsage clientAuth), all signed by that CA.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TlsSet {
  dir: string;
  ca: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** A CA and the server and client certificates it signs, under `dir` (prefix names the files). */
export function makeTlsSet(dir: string, prefix: string, host = '127.0.0.1'): TlsSet {
  const f = (n: string) => join(dir, `${prefix}-${n}`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f('ca-key.pem'), '-out', f('ca.pem'), '-days', '2', '-subj', `/CN=${prefix} test CA`], dir);
  const sign = (name: string, cn: string, ext: string) => {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', f(`${name}-key.pem`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`], dir);
    writeFileSync(f(`${name}.ext`), ext);
    openssl(['x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.pem'), '-CAkey', f('ca-key.pem'), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`)], dir);
  };
  const san = /^[\d.]+$/.test(host) ? `IP:${host}` : `DNS:${host}`;
  sign('server', host, `subjectAltName = ${san}\nextendedKeyUsage = serverAuth\n`);
  sign('client', 'crio-build client', 'extendedKeyUsage = clientAuth\n');
  return { dir, ca: f('ca.pem'), caKey: f('ca-key.pem'), serverCert: f('server.pem'), serverKey: f('server-key.pem'), clientCert: f('client.pem'), clientKey: f('client-key.pem') };
}
