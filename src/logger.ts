/**
 * Structured logging: one JSON object per line, `requestId` on every line of a request, so App Insights and
 * `grep` both find everything an approval did. Secrets never reach here: callers pass fields, not requests.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(event: string, fields?: LogFields): void;
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. the request id) to every line. */
  child(fields: LogFields): Logger;
}

export type LogSink = (level: LogLevel, line: string) => void;

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(options: {
  level: LogLevel;
  sink: LogSink;
  now: () => number;
  fields?: LogFields;
}): Logger {
  const { level, sink, now } = options;
  const base = options.fields ?? {};
  const write = (at: LogLevel, event: string, fields?: LogFields): void => {
    if (ORDER[at] < ORDER[level]) return;
    const line = JSON.stringify({
      time: new Date(now()).toISOString(),
      level: at,
      event,
      ...base,
      ...fields,
    });
    sink(at, line);
  };
  return {
    debug: (event, fields) => write('debug', event, fields),
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    child: (fields) => createLogger({ level, sink, now, fields: { ...base, ...fields } }),
  };
}

/**
 * The console: the Functions worker forwards console output to the host (and so to App Insights) with the
 * level; locally it is stdout for info and below, stderr for warnings and errors.
 */
export const consoleSink: LogSink = (level, line) => {
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else if (level === 'debug') console.debug(line);
  else console.info(line);
};

export const silentSink: LogSink = () => undefined;
