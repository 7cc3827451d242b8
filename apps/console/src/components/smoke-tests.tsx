'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useTRPC } from '@/trpc/client';

type TRun = {
  id: string;
  state: 'queued' | 'running' | 'passed' | 'failed';
  width: number;
  height: number;
  rowsDone: number;
  pixels?: string | null;
  palette: [number, number, number][];
  hostname: string | null;
  target: string;
  reason: string | null;
  match: boolean | null;
  firstRowMs: number | null;
  totalMs: number | null;
};

const SCALE = 6;

/** Draws the rows received so far; refreshed while the run streams. */
function Preview({ run }: { run: TRun }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    const ctx = canvas.getContext('2d')!;
    const img = ctx.createImageData(run.width, run.height);
    const pixels = run.pixels ? Uint8Array.from(atob(run.pixels), (c) => c.charCodeAt(0)) : new Uint8Array(0);
    for (let i = 0; i < run.width * run.height; i++) {
      const drawn = Math.floor(i / run.width) < run.rowsDone;
      const [r, g, b] = drawn ? (run.palette[pixels[i] ?? 0] ?? [0, 0, 0]) : [40, 44, 52];
      img.data.set([r, g, b, 255], i * 4);
    }
    ctx.putImageData(img, 0, 0);
  }, [run]);
  return (
    <canvas
      ref={ref}
      width={run.width}
      height={run.height}
      style={{
        width: run.width * SCALE,
        maxWidth: '100%',
        imageRendering: 'pixelated',
        border: '1px solid var(--line)',
      }}
      data-testid="smoke-preview"
      data-rows={run.rowsDone}
    />
  );
}

function Verdict({ run }: { run: { state: string; match: boolean | null; reason: string | null } }) {
  if (run.state === 'passed')
    return (
      <span className="badge online" data-testid="verdict">
        ✓ match
      </span>
    );
  if (run.state === 'failed')
    return (
      <span className="badge offline" data-testid="verdict" title={run.reason ?? ''}>
        ✗ {run.reason}
      </span>
    );
  return (
    <span className="badge stale" data-testid="verdict">
      {run.state}…
    </span>
  );
}

function LiveRun({ id }: { id: string }) {
  const trpc = useTRPC();
  const run = useQuery({
    ...trpc.smoke.get.queryOptions({ id }),
    refetchInterval: (q) =>
      q.state.data && (q.state.data.state === 'passed' || q.state.data.state === 'failed') ? false : 200,
  });
  if (!run.data) return <div className="muted">…</div>;
  const r = run.data as TRun;
  return (
    <div style={{ marginBottom: 12 }} data-testid="live-run">
      <div className="row" style={{ margin: '4px 0' }}>
        <b>{r.hostname ?? r.target}</b> <Verdict run={r} />
        <span className="muted">
          {r.rowsDone}/{r.height} rows
          {r.totalMs !== null ? ` · ${r.totalMs.toFixed(0)} ms · first row ${r.firstRowMs?.toFixed(1)} ms` : ''}
        </span>
      </div>
      <Preview run={r} />
    </div>
  );
}

export function SmokeTests({ canRun }: { canRun: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const fleet = useQuery(trpc.fleet.list.queryOptions());
  const history = useQuery({ ...trpc.smoke.list.queryOptions({ limit: 30 }), refetchInterval: 3_000 });
  const [target, setTarget] = useState('local');
  const [prompt, setPrompt] = useState('COOLANT');
  const [seed, setSeed] = useState('1');
  const [batch, setBatch] = useState<string[]>([]);
  const run = useMutation(
    trpc.smoke.run.mutationOptions({
      onSuccess: (r) => {
        setBatch(r.runs.map((x) => x.id));
        void qc.invalidateQueries({ queryKey: trpc.smoke.list.queryKey() });
      },
    }),
  );
  return (
    <>
      {canRun ? (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            run.mutate({ target, prompt, seed: Number(seed) });
          }}
        >
          <label>
            Target
            <select value={target} onChange={(e) => setTarget(e.target.value)} aria-label="Target">
              <option value="local">local (inside the console)</option>
              <option value="all">all online nodes</option>
              {fleet.data?.nodes
                .filter((n) => n.status === 'online')
                .map((n) => (
                  <option key={n.id} value={n.id}>
                    {n.hostname}
                  </option>
                ))}
            </select>
          </label>
          <label>
            Prompt
            <input
              value={prompt}
              onChange={(e) => setPrompt(e.target.value.toUpperCase())}
              aria-label="Prompt"
              maxLength={64}
            />
          </label>
          <label>
            Seed
            <input value={seed} onChange={(e) => setSeed(e.target.value)} aria-label="Seed" inputMode="numeric" />
          </label>
          <button type="submit" disabled={run.isPending}>
            Run smoke test
          </button>
        </form>
      ) : (
        <p className="muted">Viewers see results; operators run smoke tests.</p>
      )}
      {run.error && (
        <div className="error" role="alert">
          {run.error.message}
        </div>
      )}
      {batch.map((id) => (
        <LiveRun key={id} id={id} />
      ))}
      <h2>History</h2>
      <table data-testid="smoke-history">
        <thead>
          <tr>
            <th>Node</th>
            <th>When</th>
            <th>Prompt</th>
            <th>Seed</th>
            <th>Duration</th>
            <th>First row</th>
            <th>px/s</th>
            <th>Result</th>
            <th>Image</th>
          </tr>
        </thead>
        <tbody>
          {history.data?.runs.map((r) => (
            <tr key={r.id}>
              <td>{r.hostname ?? r.target}</td>
              <td>{new Date(r.createdAt).toLocaleString()}</td>
              <td>
                <code>{r.prompt}</code>
              </td>
              <td>{r.seed}</td>
              <td>{r.totalMs === null ? '—' : `${r.totalMs.toFixed(0)} ms`}</td>
              <td>{r.firstRowMs === null ? '—' : `${r.firstRowMs.toFixed(1)} ms`}</td>
              <td>{r.pixelsPerSecond === null ? '—' : Math.round(r.pixelsPerSecond).toLocaleString()}</td>
              <td>
                <Verdict run={r} />
              </td>
              <td>
                {r.png ? (
                  <img
                    src={`data:image/png;base64,${r.png}`}
                    alt={`${r.prompt} seed ${r.seed}`}
                    style={{ height: 36, imageRendering: 'pixelated' }}
                  />
                ) : (
                  ''
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
