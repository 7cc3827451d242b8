import { describe, expect, it } from 'vitest';
import { generate, generateInWorker, InvalidGenerateRequestError } from '../src/index';

describe('generateInWorker', () => {
  it('streams rows in order and ends with the in-process result', async () => {
    const request = { prompt: 'WORKER 42', seed: 4242 };
    const rows: { y: number; row: Uint8Array }[] = [];
    const result = await generateInWorker(request, { onRow: (y, row) => rows.push({ y, row }) });
    expect(rows.map((r) => r.y)).toEqual(Array.from({ length: result.height }, (_, y) => y));
    const streamed = new Uint8Array(result.width * result.height);
    rows.forEach(({ y, row }) => streamed.set(row, y * result.width));
    expect(streamed).toEqual(result.pixels);
    const local = generate(request);
    expect(result.checksum).toBe(local.checksum);
    expect(result.pixels).toEqual(local.pixels);
  });

  it('keeps the event loop free while it draws', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    let ticksAtFirstRow = -1;
    const result = await generateInWorker(
      { prompt: 'EVENT LOOP', seed: 1, width: 280, height: 360 },
      {
        onRow: (y) => {
          if (y === 0) ticksAtFirstRow = ticks;
        },
      },
    );
    clearInterval(timer);
    expect(result.height).toBe(360);
    // Timers kept firing between the first row and the result: the drawing happened elsewhere.
    expect(ticks).toBeGreaterThan(ticksAtFirstRow);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    let rowsSeen = 0;
    const run = generateInWorker(
      { prompt: 'ABORT', seed: 2, width: 1024, height: 1024 },
      {
        signal: controller.signal,
        onRow: () => {
          rowsSeen++;
          controller.abort();
        },
      },
    );
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(rowsSeen).toBe(1);
  });

  it('rejects at once for an already aborted signal', async () => {
    await expect(generateInWorker({ prompt: 'A', seed: 1 }, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('times out', async () => {
    await expect(
      generateInWorker({ prompt: 'SLOW', seed: 3, width: 1024, height: 1024 }, { timeoutMs: 50 }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('rejects an invalid request without starting a worker', async () => {
    await expect(generateInWorker({ prompt: '', seed: 1 })).rejects.toBeInstanceOf(InvalidGenerateRequestError);
  });

  it('ends the generation when onRow throws', async () => {
    await expect(
      generateInWorker(
        { prompt: 'THROW', seed: 5 },
        {
          onRow: () => {
            throw new Error('consumer failed');
          },
        },
      ),
    ).rejects.toThrow('consumer failed');
  });
});
