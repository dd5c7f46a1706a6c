/**
 * A real ssh endpoint for a Docker engine: Debian's openssh-server on 127.0.0.1, with host and
 * client keys made here, whose authorized_keys forces `docker -H <engine socket> system
 * dial-stdio` for our key: what the docker CLI runs over ssh, joined to the engine's socket. It
 * runs as root (sshd needs it), in the foreground, with nothing from /etc/ssh.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

export interface SshEndpoint {
  port: number;
  /** The host's ed25519 key: its public line ("ssh-ed25519 AAAA...") and SHA256 fingerprint. */
  hostPublicKey: string;
  hostFingerprint: string;
  /** The private key our client logs in with (its public key is authorized, with the forced command). */
  clientKey: string;
  /** A known_hosts line for this endpoint, and one with another key for it (a "changed" host key). */
  knownHostsLine: string;
  otherKnownHostsLine: string;
  otherFingerprint: string;
  log(): string;
  close(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';

/** Debian's openssh-server: scripts/provision-host.sh installs it, as CI runs it before the tests. */
export function ensureOpensshServer(): void {
  if (existsSync(SSHD)) return;
  throw new Error(`${SSHD} is missing: the ssh endpoint tests need Debian's openssh-server (sudo scripts/provision-host.sh installs it, or apt-get install openssh-server)`);
}

function keygen(file: string, type = 'ed25519'): { pub: string; fingerprint: string } {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'crio-build test', '-f', file]);
  const pub = readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(/\s+/)[1]!;
  return { pub, fingerprint };
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startSshd(dir: string, engineSocket: string): Promise<SshEndpoint> {
  ensureOpensshServer();
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const host = keygen(join(dir, 'host_ed25519'));
  const other = keygen(join(dir, 'other_ed25519'));
  const client = keygen(join(dir, 'client_ed25519'));
  const forced = `command="docker -H unix://${engineSocket} system dial-stdio",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding`;
  writeFileSync(join(dir, 'authorized_keys'), `${forced} ${client.pub}\n`, { mode: 0o600 });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_ed25519')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const logs: string[] = [];
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => logs.push(String(d)));
  child.stderr!.on('data', (d) => logs.push(String(d)));
  const until = Date.now() + 15_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ host: '127.0.0.1', port }, () => (c.end(), resolve(true)));
      c.on('error', () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || Date.now() > until) throw new Error(`sshd did not start (exit ${child.exitCode}):\n${logs.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const name = `[127.0.0.1]:${port}`;
  return {
    port,
    hostPublicKey: host.pub,
    hostFingerprint: host.fingerprint,
    clientKey: join(dir, 'client_ed25519'),
    knownHostsLine: `${name} ${host.pub.split(' ').slice(0, 2).join(' ')}`,
    otherKnownHostsLine: `${name} ${other.pub.split(' ').slice(0, 2).join(' ')}`,
    otherFingerprint: other.fingerprint,
    log: () => logs.join(''),
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
