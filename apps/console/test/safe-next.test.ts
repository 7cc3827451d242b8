/** The login page's `next`: only same-origin paths are followed. */
import { describe, expect, it } from 'vitest';
import { safeNextPath } from '../src/lib/safe-next';

describe('safeNextPath', () => {
  it.each([
    '/\\evil.com',
    '//evil.com',
    '/%5Cevil.com',
    '/%5cevil.com',
    '/%2F/evil.com',
    'https://evil.com',
    'http:/evil.com',
    '/\t/evil.com',
    '/\n/evil.com',
    '/\u0000',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(document.cookie)',
    'data:text/html,<script>alert(1)</script>',
    ' /fleet',
    'fleet',
    '',
    '/%E0%A4%A',
    `/${'a'.repeat(3000)}`,
  ])('refuses %j', (next) => {
    expect(safeNextPath(next)).toBe('/fleet');
  });

  it('refuses a missing value', () => {
    expect(safeNextPath(undefined)).toBe('/fleet');
    expect(safeNextPath(null, '/tiers')).toBe('/tiers');
  });

  it.each([
    ['/fleet', '/fleet'],
    ['/fleet/cmwzmkv8f00064g7dxg1axlsm', '/fleet/cmwzmkv8f00064g7dxg1axlsm'],
    ['/tiers?tab=limits#free', '/tiers?tab=limits#free'],
    ['/audit?action=token.', '/audit?action=token.'],
    ['/', '/'],
    ['/fleet/../tokens', '/tokens'],
  ])('follows %j', (next, expected) => {
    expect(safeNextPath(next)).toBe(expected);
  });
});
