import { pathToFileURL } from 'node:url';

/**
 * Child process for the cold-start figure: imports one module and reports how long the import took, and how
 * long since this process started (performance.now() counts from the process's time origin).
 *
 *   node dist/bench/import-timer.js <path to module>   ->   {"importMs": …, "sinceProcessStartMs": …}
 */

const target = process.argv[2];
if (target === undefined) {
  process.stderr.write('usage: import-timer <module path>\n');
  process.exit(2);
}
const started = performance.now();
await import(pathToFileURL(target).href);
const finished = performance.now();
process.stdout.write(`${JSON.stringify({ importMs: finished - started, sinceProcessStartMs: finished })}\n`);
// The imported module may keep handles open (the Functions entry builds clients); the figure is taken.
process.exit(0);
