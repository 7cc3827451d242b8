import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const ZIdentity = z.object({ server: z.string(), nodeId: z.string(), nodeToken: z.string() });
export type TIdentity = z.infer<typeof ZIdentity>;

/** Writes through a temp file and rename, so a crash never leaves half a token. */
function writeAtomic(path: string, content: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
  chmodSync(path, mode);
}

export class AgentState {
  constructor(public readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private get identityPath(): string {
    return join(this.dir, 'node.json');
  }

  loadIdentity(server: string): TIdentity | null {
    if (!existsSync(this.identityPath)) return null;
    const parsed = ZIdentity.safeParse(JSON.parse(readFileSync(this.identityPath, 'utf8')));
    if (!parsed.success) throw new Error(`${this.identityPath} is corrupt; delete it to enroll again`);
    // A token is only good for the console that issued it.
    if (parsed.data.server !== server) return null;
    return parsed.data;
  }

  saveIdentity(identity: TIdentity): void {
    writeAtomic(this.identityPath, `${JSON.stringify(identity, null, 2)}\n`, 0o600);
  }

  /**
   * The key this agent sends with every enroll attempt, made once and kept beside node.json: when an
   * attempt's answer is lost (a timeout), the next attempt finds the node the first one created
   * instead of enrolling a second. Secret like the token (0600): with the enrollment secret it is
   * what the console derives this node's token from.
   */
  enrollKey(): string {
    const path = join(this.dir, 'enroll-key');
    if (existsSync(path)) {
      const key = readFileSync(path, 'utf8').trim();
      if (/^[0-9a-f]{64}$/.test(key)) return key;
      throw new Error(`${path} is corrupt; delete it (and node.json) to enroll again`);
    }
    const key = randomBytes(32).toString('hex');
    writeAtomic(path, `${key}\n`, 0o600);
    return key;
  }
}
