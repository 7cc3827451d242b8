import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

type TScryptParams = { N: number; r: number; p: number };

/**
 * OWASP's scrypt minimum (N=2^17, r=8, p=1). One hash needs 128·N·r = 128 MiB and took
 * ~670 ms on the 2-core reference machine (2^15 took ~150 ms). Node's default maxmem
 * (32 MiB) would refuse it, so maxmem is passed per call.
 */
export const SCRYPT_PARAMS: TScryptParams = { N: 2 ** 17, r: 8, p: 1 };
const KEYLEN = 32;
/** A stored hash asking for more than this is refused rather than allowed to take the memory. */
const MAX_SCRYPT_MEMORY = 512 * 1024 * 1024;

/**
 * Each scrypt holds 128 MiB on a libuv thread for most of a second: at most two run at once,
 * so a burst of logins can neither take 512 MiB nor occupy every thread that file I/O needs.
 */
const MAX_CONCURRENT_SCRYPT = 2;
let running = 0;
const waiting: Array<() => void> = [];

async function scrypt(password: string, salt: Buffer, keylen: number, params: TScryptParams): Promise<Buffer> {
  const maxmem = 128 * params.N * params.r * params.p + 1024 * 1024;
  if (maxmem > MAX_SCRYPT_MEMORY)
    throw new Error(`scrypt parameters N=${params.N} r=${params.r} p=${params.p} need too much memory`);
  if (running >= MAX_CONCURRENT_SCRYPT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    // The callback form runs on the thread pool; scryptSync would stop the event loop for the whole hash.
    return await new Promise<Buffer>((resolve, reject) =>
      scryptCb(password, salt, keylen, { ...params, maxmem }, (error, key) => (error ? reject(error) : resolve(key))),
    );
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Stored as `scrypt$N$r$p$salt$key`: the parameters travel with the hash, so old hashes keep verifying. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEYLEN, SCRYPT_PARAMS);
  return [
    'scrypt',
    SCRYPT_PARAMS.N,
    SCRYPT_PARAMS.r,
    SCRYPT_PARAMS.p,
    salt.toString('base64'),
    key.toString('base64'),
  ].join('$');
}

function parseHash(stored: string): (TScryptParams & { salt: Buffer; key: Buffer }) | null {
  const [alg, n, r, p, salt, key, ...rest] = stored.split('$');
  if (alg !== 'scrypt' || !n || !r || !p || !salt || !key || rest.length > 0) return null;
  const params = { N: Number(n), r: Number(r), p: Number(p) };
  if (!Object.values(params).every((v) => Number.isSafeInteger(v) && v > 0)) return null;
  return { ...params, salt: Buffer.from(salt, 'base64'), key: Buffer.from(key, 'base64') };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed || parsed.key.length === 0) return false;
  const actual = await scrypt(password, parsed.salt, parsed.key.length, { N: parsed.N, r: parsed.r, p: parsed.p });
  return actual.length === parsed.key.length && timingSafeEqual(actual, parsed.key);
}

/** True when the hash was made with weaker (or unreadable) parameters than today's: re-hash it at the next login. */
export function needsRehash(stored: string): boolean {
  const parsed = parseHash(stored);
  return !parsed || parsed.N < SCRYPT_PARAMS.N || parsed.r < SCRYPT_PARAMS.r || parsed.p < SCRYPT_PARAMS.p;
}

/** A password hash nobody knows, with today's parameters, used to spend the same time on unknown usernames. */
export const DUMMY_PASSWORD_HASH = `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`;

/** SHA-256 hex of a high-entropy secret (tokens, session ids): no salt or stretching needed. */
export function sha256(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function safeEqualHex(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'hex');
  const bb = Buffer.from(b, 'hex');
  return ba.length === bb.length && timingSafeEqual(ba, bb);
}

/** Random secret with a readable kind prefix: `ct_…` API token, `cn_…` node token. */
export function newSecret(prefix: string, bytes = 32): string {
  return `${prefix}_${randomBytes(bytes).toString('base64url')}`;
}

export function newPassword(): string {
  return randomBytes(15).toString('base64url');
}
