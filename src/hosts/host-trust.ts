/**
 * Reaching a farm host only when it is who it says: a build host runs our compilers and hands back
 * what we publish, and whoever answers in its place could hand back anything.
 *
 * - unix://   a local socket: the file system's permissions are the check.
 * - tcp://    TLS with a client certificate, and the engine's certificate must be signed by the CA
 *             the settings name and carry the endpoint's host name or address; a plain-text engine
 *             only with `insecure: true`, warned about on every run.
 * - ssh://    the host key of every ssh connection is checked before logging in: against the
 *             fingerprint(s) in the settings (`ssh: { hostKey: SHA256:... }`), else against
 *             known_hosts (the settings' `ssh: { knownHosts: FILE }`, else ~/.ssh/known_hosts). An
 *             unknown key or a changed one is refused, naming the fingerprint the host offered.
 */
import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import type { HostConfig } from '../settings/settings.js';
import { CrioBuildError, ExitCode, InvalidInputError } from '../core/errors.js';
import { sha256Bytes } from '../core/hash.js';
import { connectDocker, type DockerDriver } from './docker.js';
import { SshTunnel } from './ssh-tunnel.js';

/** A host that is not who it should be (an unknown or changed ssh host key, a certificate not from the CA): exit 5. */
export class HostTrustError extends CrioBuildError {
  constructor(message: string, hint: string) {
    super(message, ExitCode.hostNotReady, hint);
  }
}

/** A driver for a farm host, with what must be closed when the run is done (an ssh tunnel). */
export type HostDriver = DockerDriver & { close?: () => Promise<void> };

/** OpenSSH's fingerprint of a host key blob: "SHA256:" and unpadded base64 of its sha256. */
export function sshFingerprint(key: Buffer): string {
  return `SHA256:${sha256Bytes(key).toString('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an ssh key blob ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"). */
export function sshKeyType(key: Buffer): string {
  if (key.length < 4) return '?';
  const n = key.readUInt32BE(0);
  return n > 0 && n < 64 && key.length >= 4 + n ? key.subarray(4, 4 + n).toString('latin1') : '?';
}

/** How known_hosts names a host: "host" on port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export interface KnownHostKey {
  file: string;
  line: number;
  type: string;
  key: Buffer;
  marker?: 'revoked' | 'cert-authority';
}

function patternMatches(pattern: string, name: string): boolean {
  const hashed = /^\|1\|([^|]+)\|([^|]+)$/.exec(pattern);
  if (hashed) {
    const mac = createHmac('sha1', Buffer.from(hashed[1]!, 'base64')).update(name).digest('base64');
    return mac === hashed[2];
  }
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\[/g, '\\[').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** The known_hosts entries for `name` (plain, wildcard and hashed host patterns; negations honoured). */
export function knownHostKeys(file: string, name: string): KnownHostKey[] {
  if (!existsSync(file)) return [];
  const out: KnownHostKey[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const fields = raw.trim().split(/\s+/);
      if (!fields[0] || fields[0].startsWith('#')) return;
      let marker: KnownHostKey['marker'];
      if (fields[0].startsWith('@')) {
        const m = fields.shift()!;
        if (m !== '@revoked' && m !== '@cert-authority') return;
        marker = m.slice(1) as KnownHostKey['marker'];
      }
      const [hosts, type, b64] = fields;
      if (!hosts || !type || !b64) return;
      const patterns = hosts.split(',');
      const negated = patterns.filter((p) => p.startsWith('!')).some((p) => patternMatches(p.slice(1), name));
      if (negated || !patterns.filter((p) => !p.startsWith('!')).some((p) => patternMatches(p, name))) return;
      out.push({ file, line: i + 1, type, key: Buffer.from(b64, 'base64'), ...(marker ? { marker } : {}) });
    });
  return out;
}

/** ssh2's host key algorithms for the key types known_hosts holds (so the host shows one of those). */
function algorithmsFor(types: string[]): string[] {
  const out: string[] = [];
  for (const t of types) {
    if (t === 'ssh-rsa') out.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else out.push(t);
  }
  return [...new Set(out)];
}

export interface SshTrust {
  /** Decides on one connection's host key; records what it saw. */
  verify(key: Buffer): boolean;
  hostKeyAlgorithms?: string[];
  /** After a refusal: why, with the fingerprint the host offered. */
  refusal(): HostTrustError | undefined;
  /** What the key is checked against, for messages ("known_hosts /root/.ssh/known_hosts"). */
  describe: string;
}

/** The check for an ssh:// host: the settings' fingerprints, else known_hosts. */
export function sshTrust(cfg: Pick<HostConfig, 'name' | 'endpoint' | 'ssh'>, host: string, port: number): SshTrust {
  const who = `host ${cfg.name} (${cfg.endpoint})`;
  const name = knownHostsName(host, port);
  let refused: HostTrustError | undefined;
  const fingerprints = cfg.ssh?.hostKey;
  if (fingerprints && fingerprints.length > 0) {
    return {
      describe: `the fingerprint${fingerprints.length > 1 ? 's' : ''} in the settings (${fingerprints.join(', ')})`,
      verify(key) {
        const seen = sshFingerprint(key);
        if (fingerprints.includes(seen)) return true;
        refused = new HostTrustError(
          `${who} offered the ssh host key ${seen} (${sshKeyType(key)}), which is not the one the settings name (hostKey: ${fingerprints.join(', ')}); not connecting`,
          `if the host's key really changed (reinstalled), check the new one on the host itself (ssh-keygen -lf /etc/ssh/ssh_host_${sshKeyType(key).replace(/^ssh-|-sha2-.*$/g, '')}_key.pub), then put its fingerprint in the settings (hosts: - name: ${cfg.name}, ssh: { hostKey: ${seen} })`,
        );
        return false;
      },
      refusal: () => refused,
    };
  }
  const file = cfg.ssh?.knownHosts ?? join(homedir(), '.ssh', 'known_hosts');
  const entries = knownHostKeys(file, name);
  const usable = entries.filter((e) => !e.marker);
  const revoked = entries.filter((e) => e.marker === 'revoked');
  return {
    describe: `known_hosts ${file}`,
    ...(usable.length > 0 ? { hostKeyAlgorithms: algorithmsFor(usable.map((e) => e.type)) } : {}),
    verify(key) {
      const seen = sshFingerprint(key);
      const type = sshKeyType(key);
      if (revoked.some((e) => e.key.equals(key))) {
        refused = new HostTrustError(`${who} offered the ssh host key ${seen} (${type}), which ${file}:${revoked.find((e) => e.key.equals(key))!.line} marks @revoked; not connecting`, 'the key was revoked on purpose: give the host a new key and add that one');
        return false;
      }
      if (usable.some((e) => e.key.equals(key))) return true;
      if (usable.length > 0) {
        const known = usable.map((e) => `${sshFingerprint(e.key)} (${e.type}, ${e.file}:${e.line})`).join(', ');
        refused = new HostTrustError(
          `${who}: the ssh host key CHANGED: ${file} has ${known} for ${name}, but the host offered ${seen} (${type}); someone may be intercepting the connection, or the host was reinstalled; not connecting`,
          `check the new key on the host itself (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub); only if it is ${seen}: ssh-keygen -R '${name}' -f ${file}, then add the new key (ssh-keyscan -p ${port} ${host} >> ${file}), or name it in the settings (ssh: { hostKey: ${seen} })`,
        );
        return false;
      }
      const ca = entries.some((e) => e.marker === 'cert-authority');
      refused = new HostTrustError(
        `${who} offered the ssh host key ${seen} (${type}), which ${file} does not know${ca ? ' (it has only a @cert-authority line for it: host certificates are not supported)' : ''}; not connecting to an unknown host`,
        `check the key on the host itself (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub); if it is ${seen}, add it: ssh-keyscan -p ${port} ${host} >> ${file} (or name it in the settings: ssh: { hostKey: ${seen} })`,
      );
      return false;
    },
    refusal: () => refused,
  };
}

/** The private key to log in with: the settings' identity, else the ssh agent, else ~/.ssh/id_*. */
function sshAuth(cfg: Pick<HostConfig, 'ssh'>): { privateKey?: Buffer; agent?: string } {
  if (cfg.ssh?.identity) {
    try {
      return { privateKey: readFileSync(cfg.ssh.identity) };
    } catch (err) {
      throw new InvalidInputError(`cannot read the ssh identity ${cfg.ssh.identity}: ${(err as Error).message}`);
    }
  }
  if (process.env.SSH_AUTH_SOCK) return { agent: process.env.SSH_AUTH_SOCK };
  const key = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f)).find((f) => existsSync(f));
  return key ? { privateKey: readFileSync(key) } : {};
}

/**
 * Checks a tcp:// TLS engine before any API call: the certificate it presents must be signed by the
 * settings' CA and name the endpoint's host (Node's verification, as dockerode's https then does
 * on every request). A refusal names the certificate it saw.
 */
export async function checkTlsHost(cfg: Pick<HostConfig, 'name' | 'endpoint' | 'tls'>, timeoutMs = 10_000): Promise<void> {
  const u = new URL(cfg.endpoint);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(u.port || 2376);
  const tls = cfg.tls!;
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new InvalidInputError(`host ${cfg.name}: cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const options = { host, port, ca: read('CA certificate', tls.ca), cert: read('client certificate', tls.cert), key: read('client key', tls.key), servername: /^[\d.]+$|:/.test(host) ? undefined : host };
  await new Promise<void>((resolve, reject) => {
    const sock = tlsConnect({ ...options, rejectUnauthorized: false });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no TLS handshake within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    sock.once('error', (err: Error & { code?: string }) => {
      clearTimeout(timer);
      // Something answered, but not with TLS (a plain-text engine, another service).
      if (/^ERR_SSL|^EPROTO$/.test(err.code ?? '')) {
        reject(new HostTrustError(`host ${cfg.name} (${cfg.endpoint}) did not complete a TLS handshake (${err.message.split('\n')[0]}); not connecting`, 'the settings give this host TLS files: its engine must listen with --tlsverify (and --tlscacert, --tlscert, --tlskey) on that port'));
      } else reject(err);
    });
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = sock.getPeerCertificate();
      const auth = sock.authorizationError as (Error & { code?: string }) | null | undefined;
      const why = auth ? `${auth.message ?? String(auth)}${auth.code ? ` (${auth.code})` : ''}` : hostnameProblem(host, peer);
      sock.end();
      if (!why) return resolve();
      reject(
        new HostTrustError(
          `host ${cfg.name} (${cfg.endpoint}) presented the TLS certificate ${describeCert(peer)}, which is refused: ${why}${/SELF_SIGNED|UNABLE_TO|CERT_SIGNATURE/i.test(why) ? ` (not signed by the CA in ${tls.ca})` : ''}; not connecting`,
          `the engine's certificate must be signed by the CA the settings name (tls.ca: ${tls.ca}) and name ${host} (subjectAltName); if the engine's certificate was replaced, check it and give the settings its CA`,
        ),
      );
    });
  });
}

function hostnameProblem(host: string, peer: PeerCertificate): string | undefined {
  const alt = peer.subjectaltname ?? '';
  const names = alt.split(/,\s*/).map((s) => s.replace(/^(DNS|IP Address):/, ''));
  return names.includes(host) ? undefined : `it is for ${alt || peer.subject?.CN || 'no name'}, not ${host}`;
}

function describeCert(peer: PeerCertificate): string {
  return `"${peer.subject?.CN ?? '?'}" issued by "${peer.issuer?.CN ?? '?'}" (SHA256 fingerprint ${peer.fingerprint256 ?? '?'})`;
}

/** A tcp:// endpoint without TLS: only when the settings say `insecure: true`. */
export function insecureWarning(cfg: Pick<HostConfig, 'name' | 'endpoint'>): string {
  return `warning: host ${cfg.name} (${cfg.endpoint}) is reached WITHOUT TLS (insecure: true in the settings): the engine is not authenticated and anyone who can reach it can run containers as root there and change what it builds; give it TLS (tls: { ca, cert, key })`;
}

/**
 * Connect to one farm host, checking who it is first (see the file's head). Refusals are
 * HostTrustError; a tcp:// endpoint with neither TLS nor `insecure: true` is a settings error.
 */
export async function connectHost(cfg: HostConfig, onWarning?: (message: string) => void): Promise<HostDriver> {
  const scheme = /^([a-z]+):\/\//.exec(cfg.endpoint)?.[1];
  if (scheme === 'tcp') {
    if (!cfg.tls && !cfg.insecure) {
      throw new InvalidInputError(
        `host ${cfg.name} (${cfg.endpoint}): a tcp:// engine without TLS is not used: it would not be authenticated, and anyone on the way could run containers as root on it`,
        'allowed: tls: { ca, cert, key } (the engine run with --tlsverify), or insecure: true to accept a plain-text engine (warned about on every run)',
      );
    }
    if (cfg.tls) await checkTlsHost(cfg);
    else onWarning?.(insecureWarning(cfg));
    return connectDocker({ host: cfg.endpoint, tls: cfg.tls });
  }
  if (scheme === 'ssh') {
    const u = new URL(cfg.endpoint);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    const port = Number(u.port || 22);
    const trust = sshTrust(cfg, host, port);
    let tunnel: SshTunnel;
    try {
      tunnel = await SshTunnel.open({
        host,
        port,
        username: decodeURIComponent(u.username),
        verify: (key) => trust.verify(key),
        ...(trust.hostKeyAlgorithms ? { hostKeyAlgorithms: trust.hostKeyAlgorithms } : {}),
        ...sshAuth(cfg),
      });
    } catch (err) {
      throw trust.refusal() ?? err;
    }
    try {
      const driver = await connectDocker({ host: `unix://${tunnel.socketPath}` });
      // Messages name the ssh endpoint, not the local socket that stands for it.
      const remote = Object.create(driver, { endpoint: { value: cfg.endpoint }, close: { value: () => tunnel.close() } }) as HostDriver;
      return remote;
    } catch (err) {
      await tunnel.close();
      throw err;
    }
  }
  return connectDocker({ host: cfg.endpoint });
}
