/**
 * The breaker's state machine on a hand-driven clock: the integration test sees it against a real
 * console, this one pins each transition (and that only one probe goes out while half-open).
 */
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../src/breaker';

describe('CircuitBreaker', () => {
  it('opens after N consecutive failures, probes once after the cool-down, closes on success', () => {
    let now = 0;
    const b = new CircuitBreaker({ failures: 3, coolDownMs: 1000, now: () => now });
    b.failure();
    b.failure();
    b.success(); // a success in between resets the count
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    now = 999;
    expect(b.tryAcquire()).toBe(false);
    now = 1000;
    expect(b.state).toBe('half_open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // the probe is still out
    b.success();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
  });

  it('a failed probe opens it for another full cool-down; a neutral answer (4xx) counts as alive', () => {
    let now = 0;
    const b = new CircuitBreaker({ failures: 1, coolDownMs: 500, now: () => now });
    b.failure();
    now = 500;
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    now = 999;
    expect(b.tryAcquire()).toBe(false);
    now = 1000;
    expect(b.tryAcquire()).toBe(true);
    b.neutral();
    expect(b.state).toBe('closed');
  });

  it('rejects nonsense options with the option named', () => {
    expect(() => new CircuitBreaker({ failures: 0 })).toThrow(/breaker.failures must be a whole number ≥ 1, got 0/);
    expect(() => new CircuitBreaker({ coolDownMs: -1 })).toThrow(/breaker.coolDownMs/);
  });
});
