import { describe, expect, it } from 'vitest';
import { EnvError, readEnv } from '../src/env';

describe('readEnv', () => {
  it('defaults to a console on localhost:3000 and no token', () => {
    expect(readEnv({})).toEqual({ COOLANT_URL: 'http://localhost:3000', COOLANT_TOKEN: undefined });
    expect(readEnv({ COOLANT_URL: '', COOLANT_TOKEN: '' })).toEqual({
      COOLANT_URL: 'http://localhost:3000',
      COOLANT_TOKEN: undefined,
    });
  });

  it('takes the URL without trailing slashes and the token', () => {
    expect(readEnv({ COOLANT_URL: 'https://coolant.example.com/', COOLANT_TOKEN: 'ct_abc' })).toEqual({
      COOLANT_URL: 'https://coolant.example.com',
      COOLANT_TOKEN: 'ct_abc',
    });
  });

  it('names the variable that is wrong', () => {
    expect(() => readEnv({ COOLANT_URL: 'localhost:3000' })).toThrow(EnvError);
    expect(() => readEnv({ COOLANT_URL: 'ftp://x' })).toThrow(/^COOLANT_URL: must be an http\(s\) URL/);
  });
});
