import { request } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';

/**
 * Helpers for the HTTP edge tests: an upload of any size generated as it is
 * sent (never a buffer of that size in the test), and the memory of the
 * console process as the kernel counts it.
 */

export type TUploadAnswer = {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Header names as sent, in order (res.rawHeaders). */
  headerNames: string[];
  body: string;
  sentBytes: number;
  answeredAfterMs: number;
};

/**
 * POSTs `totalBytes` of spaces to `url`, resolving with the first answer (the
 * upload is abandoned then, as a client that got a 413 would).
 */
export function streamUpload(
  url: string,
  totalBytes: number,
  headers: Record<string, string> = {},
): Promise<TUploadAnswer> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent >= totalBytes) {
        this.push(null);
        return;
      }
      const n = Math.min(chunk.length, totalBytes - sent);
      sent += n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
    req.on('response', (res) => {
      const sentBytes = sent;
      const answeredAfterMs = Date.now() - started;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => {
        body.destroy();
        req.destroy();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          headerNames: res.rawHeaders.filter((_, i) => i % 2 === 0),
          body: text,
          sentBytes,
          answeredAfterMs,
        });
      });
    });
    req.on('error', (error) =>
      reject(new Error(`upload to ${url} failed after ${sent} bytes without an answer: ${error.message}`)),
    );
    body.pipe(req);
  });
}

function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (list) out.push(...list.split(/\s+/).map(Number));
    }
  } catch {
    // exited meanwhile
  }
  return out;
}

function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Resident memory (kB) of the process serving HTTP: `startConsole` runs a
 * launcher that may run the server itself or in a child, so the largest
 * process of the tree is the server.
 */
export function serverRssKb(rootPid: number): number {
  const all = [rootPid];
  for (let i = 0; i < all.length; i++) all.push(...children(all[i]!));
  return Math.max(...all.map(rssKb));
}
