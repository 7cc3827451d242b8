// shapeRun is pure: a row as the select reads it in, the API's shape out.
import { describe, expect, it } from 'vitest';
import { shapeRun, smokeState, type TRunRow } from './smoke-run-shape';

const row: TRunRow = {
  id: 'r1',
  batchId: 'b_1',
  target: 'local',
  nodeId: null,
  hostname: null,
  prompt: 'a cat',
  seed: 42n,
  width: 4,
  height: 2,
  state: 'passed',
  reason: null,
  createdBy: 'alice',
  createdAt: new Date('2026-12-01T00:00:00Z'),
  startedAt: new Date('2026-12-01T00:00:01Z'),
  finishedAt: null,
  timeoutAt: new Date('2026-12-01T00:00:30Z'),
  rowsDone: 2,
  firstRowMs: 1.5,
  totalMs: 20,
  pixelsPerSecond: 400,
  checksum: 'abc',
  modelVersion: 'm1',
  expectedChecksum: 'abc',
  match: true,
};

describe('shapeRun', () => {
  it('answers times as ISO strings, the seed as a number, and pixels or png only when they were read', () => {
    const plain = shapeRun(row);
    expect(plain).toMatchObject({ seed: 42, createdAt: '2026-12-01T00:00:00.000Z', finishedAt: null, state: 'passed' });
    expect(plain).not.toHaveProperty('pixels');
    expect(plain).not.toHaveProperty('png');
    const detail = shapeRun({ ...row, pixels: new Uint8Array([1, 2]), png: null });
    expect(detail).toMatchObject({ pixels: Buffer.from([1, 2]).toString('base64'), png: null });
  });

  it('a state outside queued, running, passed, failed is an error naming it, not passed on', () => {
    expect(() => shapeRun({ ...row, state: 'exploded' })).toThrow(
      'smoke run state "exploded" is none of queued, running, passed, failed',
    );
    expect(smokeState('running')).toBe('running');
  });
});
