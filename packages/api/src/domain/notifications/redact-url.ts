/**
 * How much of a notification URL may be shown outside notifications.get (admins): the audit log
 * (audit.list is a viewer procedure) and delivery errors (lastError, sendTest's answer). A Slack
 * incoming-webhook URL is itself a credential, so only scheme://host[:port] is shown, with a short
 * hash of the whole URL that tells an audit reader whether it changed.
 */
import { createHash } from 'node:crypto';

/** scheme://host[:port], then "/…" when the URL has a path, query or fragment beyond "/". */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const more = (u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '';
    return `${u.protocol}//${u.host}${more ? '/…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

/** The first 12 hex digits of the URL's SHA-256: equal for equal URLs, useless for guessing one. */
export function urlFingerprint(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 12);
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()]+/gi;

/**
 * Text about a request to `url` (an error, a receiver's answer) with every URL in it cut to its
 * origin and the URL's own path and query removed wherever they appear on their own.
 */
export function scrubUrls(text: string, url?: string): string {
  let out = text.replace(URL_IN_TEXT, (m) => redactUrl(m));
  if (url) {
    try {
      const u = new URL(url);
      const tail = `${u.pathname}${u.search}`;
      if (tail.length > 1) out = out.split(tail).join('/…');
      if (u.password) out = out.split(u.password).join('…');
    } catch {
      // not a URL: nothing more of it to remove
    }
  }
  return out;
}

/** True when the URL carries user:password@ (refused in configuration, never posted to). */
export function hasUserInfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}
