/**
 * An ssh:// Docker host, reached the way the docker CLI reaches one: over ssh, `docker system
 * dial-stdio` on the far side joins a channel to the remote engine's socket. Here one local unix
 * socket (in a private 0700 directory) stands for the remote engine: each connection dockerode
 * makes to it becomes one such channel, so every Docker API call (streams and hijacked execs
 * included) works as on a local engine, over a few ssh connections instead of one handshake per
 * request.
 *
 * Every ssh connection checks the host key before anything is sent (`verify`: known_hosts or the
 * fingerprint in the settings, see host-trust.ts); a connection whose key is refused never
 * authenticates. OpenSSH allows 10 sessions per connection (MaxSessions): a connection takes at
 * most 8 channels, more connections are opened as needed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import type { Client as SshClient, ConnectConfig } from 'ssh2';

const { Client } = ssh2;

/** Channels per ssh connection (OpenSSH's MaxSessions is 10 by default). */
const CHANNELS_PER_CONNECTION = 8;

export interface TunnelOptions {
  host: string;
  port: number;
  username: string;
  /** Decides on the host key (the raw key blob) of every connection; false refuses it. */
  verify: (key: Buffer) => boolean;
  /** Host key algorithms to ask for (those known_hosts has keys of), or undefined for ssh2's defaults. */
  hostKeyAlgorithms?: string[];
  privateKey?: Buffer;
  agent?: string;
  /** The command on the far side; `docker system dial-stdio` as the docker CLI runs it. */
  command?: string;
  readyTimeoutMs?: number;
}

interface Conn {
  client: SshClient;
  channels: number;
  ready: Promise<void>;
  closed: boolean;
}

export class SshTunnel {
  private readonly conns: Conn[] = [];
  private closing = false;

  private constructor(
    private readonly opts: TunnelOptions,
    private readonly server: Server,
    private readonly dir: string,
    /** unix:// endpoint of the local socket that stands for the remote engine. */
    readonly socketPath: string,
  ) {}

  /** Connects (checking the host key and logging in) before it listens, so refusals surface here. */
  static async open(opts: TunnelOptions): Promise<SshTunnel> {
    const dir = await mkdtemp(join(tmpdir(), 'crio-build-ssh-'));
    const socketPath = join(dir, 'docker.sock');
    const server = createServer();
    const tunnel = new SshTunnel(opts, server, dir, socketPath);
    try {
      const first = tunnel.connection();
      await first.ready;
      server.on('connection', (sock) => tunnel.forward(sock));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => resolve());
      });
      // Neither the listener nor idle ssh connections keep the process alive; a request in flight does.
      server.unref();
      return tunnel;
    } catch (err) {
      await tunnel.close();
      throw err;
    }
  }

  private connection(): Conn {
    const usable = this.conns.find((c) => !c.closed && c.channels < CHANNELS_PER_CONNECTION);
    if (usable) return usable;
    const client = new Client();
    const sock = netConnect({ host: this.opts.host, port: this.opts.port });
    sock.unref();
    const conn: Conn = { client, channels: 0, closed: false, ready: Promise.resolve() };
    conn.ready = new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.on('error', (err) => {
        conn.closed = true;
        reject(err);
      });
      client.on('close', () => {
        conn.closed = true;
        reject(new Error(`the ssh connection to ${this.opts.host}:${this.opts.port} closed`));
      });
    });
    conn.ready.catch(() => undefined);
    const cfg: ConnectConfig = {
      sock,
      host: this.opts.host,
      port: this.opts.port,
      username: this.opts.username,
      hostVerifier: (key: Buffer) => this.opts.verify(key),
      readyTimeout: this.opts.readyTimeoutMs ?? 20_000,
      keepaliveInterval: 15_000,
      keepaliveCountMax: 4,
      ...(this.opts.privateKey ? { privateKey: this.opts.privateKey } : {}),
      ...(this.opts.agent ? { agent: this.opts.agent } : {}),
      ...(this.opts.hostKeyAlgorithms ? { algorithms: { serverHostKey: this.opts.hostKeyAlgorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } } : {}),
    };
    client.connect(cfg);
    this.conns.push(conn);
    return conn;
  }

  /** One local connection: one channel running the dial-stdio command, joined both ways. */
  private forward(sock: Socket): void {
    if (this.closing) return void sock.destroy();
    const conn = this.connection();
    conn.channels++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      conn.channels--;
    };
    sock.on('close', release);
    conn.ready.then(
      () => {
        conn.client.exec(this.opts.command ?? 'docker system dial-stdio', (err, stream) => {
          if (err) {
            release();
            return void sock.destroy(err);
          }
          stream.on('close', () => {
            release();
            sock.end();
          });
          stream.stderr.resume();
          sock.on('error', () => stream.close());
          sock.on('close', () => stream.close());
          sock.pipe(stream);
          stream.pipe(sock);
        });
      },
      (err: Error) => {
        release();
        sock.destroy(err);
      },
    );
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.conns) {
      c.closed = true;
      c.client.end();
    }
    await new Promise<void>((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
