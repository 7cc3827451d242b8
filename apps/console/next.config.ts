import type { NextConfig } from 'next';

// Next's own bootstrap and RSC payload are inline <script>s without a nonce, and React sets
// style attributes: both need 'unsafe-inline'. Everything else comes from this origin; the smoke
// test images are data: URLs. Dev mode's fast refresh needs eval.
const dev = process.env.NODE_ENV === 'development';
const CSP = [
  "default-src 'self'",
  `script-src 'self' 'unsafe-inline'${dev ? " 'unsafe-eval'" : ''}`,
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** On every page and asset Next serves. The API's responses get theirs in server/http.ts. */
export const SECURITY_HEADERS = [
  { key: 'Content-Security-Policy', value: CSP },
  // For browsers that predate frame-ancestors.
  { key: 'X-Frame-Options', value: 'DENY' },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  // Node ids and hostnames in console URLs are nobody else's business.
  { key: 'Referrer-Policy', value: 'same-origin' },
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()' },
];

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The console runs under its own node:http server (server/main.ts); pages only.
  typescript: { ignoreBuildErrors: false },
  async headers() {
    return [{ source: '/:path*', headers: SECURITY_HEADERS }];
  },
};

export default config;
