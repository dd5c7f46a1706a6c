/**
 * A job's log: everything the build prints goes to its log file as it comes, and the last lines are
 * kept in memory so a failure message can show them without reading the file back.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export class JobLog {
  private readonly tail: string[] = [];
  private partial = '';
  private closed = false;
  private constructor(
    readonly path: string,
    private readonly out: WriteStream,
    private readonly onLine?: (line: string) => void,
  ) {
    // A failing disk must not crash the run from an unattended stream; the tail still has the lines.
    out.on('error', () => undefined);
  }

  static async open(path: string, onLine?: (line: string) => void): Promise<JobLog> {
    await mkdir(dirname(path), { recursive: true });
    const out = createWriteStream(path, { flags: 'w' });
    await new Promise<void>((res, rej) => out.once('open', () => res()).once('error', rej));
    return new JobLog(path, out, onLine);
  }

  write(chunk: Buffer | string): void {
    // Output of a killed exec can trickle in after the build gave up and closed its log.
    if (this.closed) return;
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    this.out.write(text);
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.push(line);
  }

  /** A line of our own (a step header, a note), marked so it stands out from the tools' output. */
  note(line: string): void {
    this.write(`==> ${line}\n`);
  }

  private push(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 200) this.tail.shift();
    this.onLine?.(line);
  }

  lastLines(n = 40): string[] {
    return [...this.tail, ...(this.partial ? [this.partial] : [])].slice(-n);
  }

  close(): Promise<void> {
    this.closed = true;
    return new Promise((res) => this.out.end(() => res()));
  }
}
