/**
 * The console's own drawing of a request, the reference every node must match. Drawing takes a
 * worker thread for up to seconds, so a request asked again (every "run all" of the same prompt)
 * reuses the drawing in flight or done; a failed drawing is forgotten so that it can be retried.
 */
import { generateInWorker, type TGenerateResult } from '@coolant/generator';

const MAX_CACHED = 200;

export type TSmokeSize = { width: number; height: number };

export class SmokeReferences {
  private readonly byRequest = new Map<string, Promise<TGenerateResult>>();

  get(req: { prompt: string; seed: number; size?: TSmokeSize | undefined }): Promise<TGenerateResult> {
    const key = JSON.stringify([req.prompt, req.seed, req.size ?? null]);
    let p = this.byRequest.get(key);
    if (!p) {
      p = generateInWorker({ prompt: req.prompt, seed: req.seed, ...(req.size ?? {}) }, { timeoutMs: 30_000 });
      p.catch(() => this.byRequest.delete(key));
      if (this.byRequest.size > MAX_CACHED) this.byRequest.clear();
      this.byRequest.set(key, p);
    }
    return p;
  }
}
