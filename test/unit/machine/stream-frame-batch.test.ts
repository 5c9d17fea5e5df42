import assert from 'node:assert/strict';
import { test } from 'node:test';
import { STREAM_BATCH_CHUNK, StreamFrameBatcher } from '../../../extension/machine/stream-frame-batch';
import { MAX_STREAM_FRAME, StreamFrameDecoder } from '../../../extension/machine/stream-framing';

/** A batcher whose flush runs only when the test says the turn is over. */
function harness() {
  const writes: Buffer[][] = [];
  let pendingFlush: (() => void) | undefined;
  let schedules = 0;
  const batch = new StreamFrameBatcher(
    (chunks) => void writes.push(chunks.map((c) => Buffer.from(c))),
    (f) => {
      schedules++;
      pendingFlush = f;
    },
  );
  const endTurn = () => {
    const f = pendingFlush;
    pendingFlush = undefined;
    f?.();
  };
  return { batch, writes, endTurn, schedules: () => schedules };
}

const frameOf = (tag: number, length: number) => new Uint8Array(length).fill(tag);

function decodeAll(chunks: Buffer[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  const d = new StreamFrameDecoder((f) => out.push(Uint8Array.from(f)));
  for (const c of chunks) d.push(c);
  assert.equal(d.buffered, 0, 'no partial frame left');
  return out;
}

test('frames pushed in one turn leave in one write, in order, with their length headers', () => {
  const h = harness();
  const frames = [frameOf(1, 60), frameOf(2, 1514), frameOf(3, 42), frameOf(4, 1514)];
  for (const f of frames) h.batch.push(f);
  assert.equal(h.writes.length, 0, 'nothing written before the turn ends');
  assert.equal(h.schedules(), 1, 'one flush scheduled for the whole turn');
  assert.equal(h.batch.pending, frames.reduce((n, f) => n + 4 + f.length, 0));
  h.endTurn();
  assert.equal(h.writes.length, 1);
  assert.equal(h.writes[0]!.length, 1, 'one chunk: a single write call');
  assert.deepEqual(decodeAll(h.writes[0]!), frames);
  assert.equal(h.batch.pending, 0);
});

test('the caller may reuse its frame buffer right after push', () => {
  const h = harness();
  const reused = frameOf(7, 100);
  h.batch.push(reused);
  reused.fill(8);
  h.batch.push(reused);
  h.endTurn();
  assert.deepEqual(decodeAll(h.writes[0]!), [frameOf(7, 100), frameOf(8, 100)]);
});

test('more than a chunk in one turn is still one write of several chunks, order kept', () => {
  const h = harness();
  const frames = Array.from({ length: 100 }, (_, i) => frameOf(i, 1514));
  for (const f of frames) h.batch.push(f);
  h.endTurn();
  assert.equal(h.writes.length, 1);
  assert.ok(h.writes[0]!.length > 1, 'spread over several chunks');
  for (const c of h.writes[0]!) assert.ok(c.length <= STREAM_BATCH_CHUNK);
  assert.deepEqual(decodeAll(h.writes[0]!), frames);
});

test('a frame larger than the chunk bound still goes, whole and in order', () => {
  const h = harness();
  const big = frameOf(9, MAX_STREAM_FRAME);
  const frames = [frameOf(1, 60), big, frameOf(2, 60)];
  for (const f of frames) h.batch.push(f);
  h.endTurn();
  assert.deepEqual(decodeAll(h.writes[0]!), frames);
});

test('each turn gets its own write; an idle turn writes nothing', () => {
  const h = harness();
  h.batch.push(frameOf(1, 60));
  h.endTurn();
  h.endTurn();
  h.batch.push(frameOf(2, 60));
  h.batch.push(frameOf(3, 60));
  h.endTurn();
  assert.equal(h.writes.length, 2);
  assert.deepEqual(decodeAll(h.writes[0]!), [frameOf(1, 60)]);
  // The second batch is carved from the first chunk's unused rest: the first write must not change.
  assert.deepEqual(decodeAll(h.writes[1]!), [frameOf(2, 60), frameOf(3, 60)]);
});

test('chunks already handed to the writer are never overwritten by later batches', () => {
  const held: Buffer[] = [];
  let flush: (() => void) | undefined;
  const batch = new StreamFrameBatcher((chunks) => void held.push(...chunks), (f) => void (flush = f));
  batch.push(frameOf(1, 1000));
  flush!();
  const snapshot = Buffer.from(held[0]!);
  for (let i = 0; i < 200; i++) batch.push(frameOf(2, 1000));
  flush!();
  assert.deepEqual(held[0], snapshot);
});

test('chunks the writer took whole are refilled by the next batch; kept ones never are', () => {
  let flush: (() => void) | undefined;
  let taken = true;
  const written: Buffer[] = [];
  const batch = new StreamFrameBatcher((chunks) => {
    written.push(...chunks);
    return taken;
  }, (f) => void (flush = f));
  batch.push(frameOf(1, 1000));
  flush!();
  batch.push(frameOf(2, 1000));
  flush!();
  assert.equal(written[1]!.buffer, written[0]!.buffer, 'the same memory serves the next batch');
  assert.equal(written[1]!.byteOffset, written[0]!.byteOffset, 'from its start');
  assert.deepEqual(decodeAll([written[1]!]), [frameOf(2, 1000)]);

  // A write the socket keeps: that memory is never written again, though the chunk's rest still serves.
  taken = false;
  batch.push(frameOf(3, 1000));
  flush!();
  const kept = Buffer.from(written[2]!);
  taken = true;
  for (let round = 0; round < 3; round++) {
    batch.push(frameOf(4, 1000));
    flush!();
  }
  assert.deepEqual(written[2], kept);
  assert.ok(written.slice(3).every((c) => c.byteOffset !== written[2]!.byteOffset || c.buffer !== written[2]!.buffer));
});

test('a socket with nothing left queued after write() has taken the bytes: overwriting them then changes nothing sent', async () => {
  const { createServer, connect } = await import('node:net');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'usernet-batch-'));
  const path = join(dir, 's');
  const received: Buffer[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const server = createServer((s) => {
    s.on('data', (d) => received.push(d));
    s.on('end', done);
  });
  await new Promise<void>((r) => server.listen(path, r));
  const sock = connect(path);
  await new Promise((r) => sock.once('connect', r));
  const expected: Buffer[] = [];
  const buf = Buffer.alloc(STREAM_BATCH_CHUNK);
  let reused = 0;
  for (let i = 0; i < 64; i++) {
    buf.fill(i);
    expected.push(Buffer.from(buf));
    sock.write(buf);
    if (sock.writableLength !== 0) break; // the kernel buffer is full: the rest of the test would wait for drain
    reused++;
  }
  sock.end();
  await finished;
  server.close();
  rmSync(dir, { recursive: true, force: true });
  assert.ok(reused > 0, 'at least one write was taken synchronously');
  assert.deepEqual(Buffer.concat(received), Buffer.concat(expected));
});

test('discard drops what is queued', () => {
  const h = harness();
  h.batch.push(frameOf(1, 60));
  h.batch.discard();
  assert.equal(h.batch.pending, 0);
  h.endTurn();
  assert.equal(h.writes.length, 0);
});

test('with the default scheduling, one turn of pushes is one write after the turn', async () => {
  const writes: Buffer[][] = [];
  const batch = new StreamFrameBatcher((chunks) => void writes.push(chunks));
  batch.push(frameOf(1, 60));
  batch.push(frameOf(2, 60));
  await Promise.resolve();
  assert.equal(writes.length, 0, 'not flushed by a microtask');
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 1);
  assert.deepEqual(decodeAll(writes[0]!), [frameOf(1, 60), frameOf(2, 60)]);
});

test('a flush before the end of the turn clears the scheduled one (no empty round of the event loop)', async () => {
  const writes: Buffer[][] = [];
  let fired = 0;
  const batch = new StreamFrameBatcher(
    (chunks) => void writes.push(chunks),
    (f) =>
      setImmediate(() => {
        fired++;
        f();
      }),
  );
  batch.push(frameOf(1, 60));
  batch.flush();
  assert.equal(writes.length, 1);
  await new Promise((r) => setImmediate(r));
  assert.equal(fired, 0, 'the scheduled flush was cleared');
  // The next push schedules again, and that flush runs.
  batch.push(frameOf(2, 60));
  await new Promise((r) => setImmediate(r));
  assert.equal(fired, 1);
  assert.equal(writes.length, 2);
  assert.deepEqual(decodeAll(writes[1]!), [frameOf(2, 60)]);
});
