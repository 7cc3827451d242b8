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
}
