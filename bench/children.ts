import { fork, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';

/**
 * Every process the bench starts is registered here, so a failure anywhere (or Ctrl-C, or the watchdog) stops
 * them all and nothing outlives the run. Children are stopped by their own pid only.
 */

export interface Child {
  process: ChildProcess;
  label: string;
  /** Last few KiB of stdout + stderr, for error messages. */
  tail(): string;
  /** Every stdout line so far (the first MAX_LINES). */
  lines(): string[];
  /** Resolves with the first new line that satisfies `match`; rejects on exit or after `timeoutMs`. */
  waitForLine(
    match: (line: string) => boolean,
    timeoutMs: number,
    stream?: 'stdout' | 'stderr',
  ): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface Children {
  /** `nodeArgs` go to node itself, before the script (e.g. `--expose-gc`). */
  spawnNode(
    label: string,
    script: string,
    args: string[],
    env: NodeJS.ProcessEnv,
    nodeArgs?: readonly string[],
  ): Child;
  /** Like spawnNode, with an IPC channel (process.send / 'message'). */
  forkNode(label: string, script: string, args: string[], env: NodeJS.ProcessEnv): Child;
  /** SIGTERM to every child still running (so each can clean up), SIGKILL after `graceMs`. */
  stopAll(graceMs: number): Promise<void>;
  /** Synchronous last resort, so it can run from an 'exit' handler. */
  killAll(): void;
}

const TAIL_BYTES = 4096;
const MAX_LINES = 200;

/** Only what a Node process needs to run; the rest of the caller's environment could reconfigure the app. */
export function baseEnv(): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'SystemRoot', 'LANG'];
  const env: NodeJS.ProcessEnv = {};
  for (const key of keep) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

export function createChildren(): Children {
  const running = new Set<ChildProcess>();
  const stoppers = new Map<ChildProcess, (graceMs: number) => Promise<void>>();

  const track = (label: string, child: ChildProcess): Child => {
    running.add(child);
    child.once('exit', () => {
      running.delete(child);
      stoppers.delete(child);
    });
    let tail = '';
    const stdoutLines: string[] = [];
    const listeners = {
      stdout: new Set<(line: string) => void>(),
      stderr: new Set<(line: string) => void>(),
    };
    const splitLines = (stream: 'stdout' | 'stderr') => {
      let pending = '';
      return (chunk: Buffer): void => {
        const text = chunk.toString('utf8');
        tail = (tail + text).slice(-TAIL_BYTES);
        pending += text;
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          const line = pending.slice(0, newline).replace(/\r$/, '');
          pending = pending.slice(newline + 1);
          if (stream === 'stdout' && stdoutLines.length < MAX_LINES) stdoutLines.push(line);
          for (const listener of listeners[stream]) listener(line);
          newline = pending.indexOf('\n');
        }
      };
    };
    child.stdout?.on('data', splitLines('stdout'));
    child.stderr?.on('data', splitLines('stderr'));

    const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;

    const handle: Child = {
      process: child,
      label,
      tail: () => tail,
      lines: () => [...stdoutLines],
      waitForLine(match, timeoutMs, stream = 'stdout') {
        return new Promise<string>((resolve, reject) => {
          const timer = setTimeout(
            () => finish(new Error(`${label}: no expected output within ${timeoutMs} ms\n${tail}`)),
            timeoutMs,
          );
          const onLine = (line: string): void => {
            if (match(line)) finish(undefined, line);
          };
          const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
            finish(
              new Error(`${label} exited (code ${code}, signal ${signal}) before it was ready\n${tail}`),
            );
          const finish = (error: Error | undefined, line?: string): void => {
            clearTimeout(timer);
            listeners[stream].delete(onLine);
            child.off('exit', onExit);
            if (error) reject(error);
            else resolve(line ?? '');
          };
          listeners[stream].add(onLine);
          child.once('exit', onExit);
          if (exited()) onExit(child.exitCode, child.signalCode);
        });
      },
      stop(graceMs = 3000) {
        if (exited()) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        });
      },
    };
    stoppers.set(child, (graceMs) => handle.stop(graceMs));
    return handle;
  };

  return {
    spawnNode(label, script, args, env, nodeArgs = []) {
      const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return track(label, child);
    },
    forkNode(label, script, args, env) {
      const child = fork(script, args, { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv: [] });
      return track(label, child);
    },
    async stopAll(graceMs) {
      await Promise.all([...stoppers.values()].map((stop) => stop(graceMs)));
    },
    killAll() {
      for (const child of running) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
      running.clear();
    },
  };
}
