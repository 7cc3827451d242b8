/** Bad options fail at createGateway with the option named, not at the first admission. */
import { describe, expect, it } from 'vitest';
import { createGateway } from '../src';

describe('createGateway options', () => {
  it('names the bad option', () => {
    expect(() => createGateway({ url: 'coolant:3000', token: 't' })).toThrow(
      /url must be an http\(s\) URL, got "coolant:3000"/,
    );
    expect(() => createGateway({ url: 'http://127.0.0.1:1', token: '' })).toThrow(/token is required/);
    expect(() => createGateway({ url: 'http://127.0.0.1:1', token: 't', timeoutMs: 0 })).toThrow(
      /timeoutMs must be a number ≥ 1, got 0/,
    );
    expect(() => createGateway({ url: 'http://127.0.0.1:1', token: 't', retries: -1 })).toThrow(
      /retries must be a number ≥ 0/,
    );
    expect(() => createGateway({ url: 'http://127.0.0.1:1', token: 't', breaker: { failures: 0 } })).toThrow(
      /breaker.failures/,
    );
  });
});
