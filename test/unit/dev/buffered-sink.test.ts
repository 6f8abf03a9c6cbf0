import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createBufferedSink } from '../../../dev/buffered-sink.js';

function recorder(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString());
      done();
    },
  });
  return { stream, writes };
}

describe('the local host’s buffered log sink', () => {
  it('writes the lines of one turn in one write per stream, in order, warnings and errors to stderr', async () => {
    const out = recorder();
    const err = recorder();
    const { sink } = createBufferedSink(out.stream, err.stream);
    sink('info', 'a');
    sink('warn', 'b');
    sink('debug', 'c');
    sink('error', 'd');
    expect(out.writes).toEqual([]);
    await nextTurn();
    expect(out.writes).toEqual(['a\nc\n']);
    expect(err.writes).toEqual(['b\nd\n']);
    sink('info', 'e');
    await nextTurn();
    expect(out.writes).toEqual(['a\nc\n', 'e\n']);
  });

  it('writes what is waiting when flushed (as at exit), and nothing twice', async () => {
    const out = recorder();
    const err = recorder();
    const { sink, flush } = createBufferedSink(out.stream, err.stream);
    sink('info', 'last words');
    flush();
    expect(out.writes).toEqual(['last words\n']);
    await nextTurn();
    expect(out.writes).toEqual(['last words\n']);
    expect(err.writes).toEqual([]);
  });
});
