/**
 * Where the login page may send the browser after signing in: only a path of
 * this console. An open redirect there would lend the console's name to a
 * phishing link, and browsers are lenient: `/\evil.com` and `/\t/evil.com` both
 * leave the site, because a backslash counts as a slash and tabs are dropped.
 */
export const DEFAULT_NEXT = '/fleet';

const BASE = 'http://coolant.invalid';

/** `next` as a same-origin path (path, query, fragment), or the default when it is anything else. */
export function safeNextPath(next: string | null | undefined, fallback = DEFAULT_NEXT): string {
  if (typeof next !== 'string' || next.length === 0 || next.length > 2048) return fallback;
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return fallback;
  }
  // Checked on the decoded form as well, in case a later hop decodes it once more.
  for (const s of [next, decoded]) {
    if (!s.startsWith('/') || s.startsWith('//')) return fallback;
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    if (/[\\\u0000-\u001f\u007f]/.test(s)) return fallback;
  }
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== BASE) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}
