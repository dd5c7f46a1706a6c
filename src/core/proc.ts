/** Run a host program (debootstrap, tar, git) without a shell, streaming its output lines. */
import { spawn } from 'node:child_process';
import { childEnv } from './child-env.js';

export interface ProcResult {
  code: number;
  tail: string[];
}

export function runProc(cmd: string, args: string[], opts: { cwd?: string; onLine?: (line: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let partial = '';
    const onData = (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        tail.push(line);
        if (tail.length > 100) tail.shift();
        opts.onLine?.(line);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial) {
        tail.push(partial);
        opts.onLine?.(partial);
      }
      resolve({ code: code ?? 1, tail });
    });
  });
}
