import type { Writable } from 'node:stream';
import type { LogLevel, LogSink } from '../src/logger.js';

/**
 * The local host's log sink. Lines go where the console sink sends them (warnings and errors to stderr, the
 * rest to stdout) but are gathered and written once per turn of the event loop: writing to a pipe is a system
 * call per write, and one line per request was a fifth of the CPU of a request refused at intake (bench (d)).
 * A line waits at most for the current turn to end; `flush` (also run at exit) writes what is waiting.
 */
export function createBufferedSink(
  out: Writable = process.stdout,
  err: Writable = process.stderr,
): { sink: LogSink; flush: () => void } {
  const waiting = { out: [] as string[], err: [] as string[] };
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (waiting.out.length > 0) out.write(`${waiting.out.splice(0).join('\n')}\n`);
    if (waiting.err.length > 0) err.write(`${waiting.err.splice(0).join('\n')}\n`);
  };
  const sink: LogSink = (level: LogLevel, line: string) => {
    (level === 'warn' || level === 'error' ? waiting.err : waiting.out).push(line);
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  return { sink, flush };
}
