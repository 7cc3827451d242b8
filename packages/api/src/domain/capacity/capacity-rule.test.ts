// The capacity rule is pure: these pin every case of issue 13 with numbers alone, no database.
import { describe, expect, it } from 'vitest';
import {
  decideCapacity,
  describeCapacity,
  estimateRetryAfterSeconds,
  reservedSlots,
  typicalDurationMs,
  type TTierLoad,
} from './capacity-rule';

/** pro (priority 2, 50 %), plus (priority 1, 20 %), free (priority 0, 12 %). */
function fleet(inflight: { pro?: number; plus?: number; free?: number }): TTierLoad[] {
  return [
    { tier: 'pro', priority: 2, reserved: 0.5, inflight: inflight.pro ?? 0 },
    { tier: 'plus', priority: 1, reserved: 0.2, inflight: inflight.plus ?? 0 },
    { tier: 'free', priority: 0, reserved: 0.12, inflight: inflight.free ?? 0 },
  ];
}

describe('reservedSlots', () => {
  it('is ceil(reserved x C), without float noise', () => {
    expect(reservedSlots(0.12, 24)).toBe(3); // 2.88 -> 3
    expect(reservedSlots(0.1, 30)).toBe(3); // 0.1 * 30 = 3.0000000000000004 in floats
    expect(reservedSlots(0.5, 23.5)).toBe(12); // 11.75 -> 12
    expect(reservedSlots(0, 24)).toBe(0);
    expect(reservedSlots(0.3, 0)).toBe(0);
  });
});

describe('decideCapacity', () => {
  it('reservation: a tier below R(t) is admitted although higher tiers keep their unused reservation', () => {
    // C 24: pro R 12 (2 used, H for free = 10 + plus's 5), free R 3.
    const d = decideCapacity({ slots: 24, tiers: fleet({ pro: 2, free: 2 }), tier: 'free' });
    expect(d).toMatchObject({ admit: true, basis: 'reservation', reservedSlots: 3, totalInflight: 4 });
    expect(d.higherHeadroom).toBe(10 + 5);
    // Admitted within its reservation where borrowing would be refused: C 14, pro 2 of R 7 (H 5), plus 6,
    // free 1 of R ceil(1.68) = 2: 9 + 5 = 14 is not below C, but 1 < 2.
    const tight = decideCapacity({ slots: 14, tiers: fleet({ pro: 2, plus: 6, free: 1 }), tier: 'free' });
    expect(tight).toMatchObject({ admit: true, basis: 'reservation', reservedSlots: 2, higherHeadroom: 5 });
  });

  it('borrowing: a tier past its reservation takes what higher tiers use up or leave beyond their reservations', () => {
    // pro uses its whole reservation (12) and plus its 5: nothing reserved is left unused above free.
    const d = decideCapacity({ slots: 24, tiers: fleet({ pro: 12, plus: 5, free: 6 }), tier: 'free' });
    expect(d).toMatchObject({ admit: true, basis: 'borrowed', higherHeadroom: 0, totalInflight: 23 });
    // The last slot taken: the fleet is full, for everyone.
    const full = decideCapacity({ slots: 24, tiers: fleet({ pro: 12, plus: 5, free: 7 }), tier: 'free' });
    expect(full).toMatchObject({ admit: false, basis: 'fleet_full', needed: 1 });
  });

  it('higher-tier headroom: a lower tier never takes the part a higher tier reserved and has not used', () => {
    // pro uses 2 of its 12: 10 stay free for it; plus uses its 5. free at 6: 13 + 10 = 23 < 24, admitted.
    const last = decideCapacity({ slots: 24, tiers: fleet({ pro: 2, plus: 5, free: 6 }), tier: 'free' });
    expect(last).toMatchObject({ admit: true, basis: 'borrowed', higherHeadroom: 10 });
    // free at 7: 14 + 10 = 24, not below C. Refused, although 10 slots are idle.
    const d = decideCapacity({ slots: 24, tiers: fleet({ pro: 2, plus: 5, free: 7 }), tier: 'free' });
    expect(d).toMatchObject({ admit: false, basis: 'higher_tiers_reserved', higherHeadroom: 10, needed: 1 });
    // pro itself may use those slots: within its reservation.
    expect(decideCapacity({ slots: 24, tiers: fleet({ pro: 2, plus: 5, free: 7 }), tier: 'pro' })).toMatchObject({
      admit: true,
      basis: 'reservation',
    });
    // plus counts only pro's headroom, not free's: 14 + 10 = 24 refuses plus too, past its own 5.
    expect(decideCapacity({ slots: 24, tiers: fleet({ pro: 2, plus: 5, free: 7 }), tier: 'plus' })).toMatchObject({
      admit: false,
      basis: 'higher_tiers_reserved',
      higherHeadroom: 10,
    });
  });

  it("a higher tier may take a lower tier's unused reservation; the full fleet then refuses the lower one within its own", () => {
    // pro borrowed everything but 1 slot; free has 0 of its R 3.
    const pro = decideCapacity({ slots: 24, tiers: fleet({ pro: 23 }), tier: 'pro' });
    expect(pro).toMatchObject({ admit: true, basis: 'borrowed', higherHeadroom: 0 });
    const free = decideCapacity({ slots: 24, tiers: fleet({ pro: 24 }), tier: 'free' });
    expect(free).toMatchObject({ admit: false, basis: 'fleet_full', reservedSlots: 3 });
  });

  it('equal priorities are not higher: tiers of one priority borrow each other’s unused reservation', () => {
    const tiers: TTierLoad[] = [
      { tier: 'a', priority: 1, reserved: 0.5, inflight: 0 },
      { tier: 'b', priority: 1, reserved: 0.5, inflight: 9 },
    ];
    expect(decideCapacity({ slots: 10, tiers, tier: 'b' })).toMatchObject({ admit: true, higherHeadroom: 0 });
  });

  it('shrink without revocation: leases already in flight are kept, new ones refused until the tier drains to its new share', () => {
    // Before: C 24, free holds 10 (borrowed), pro 2.
    const before = fleet({ pro: 2, free: 10 });
    expect(decideCapacity({ slots: 24, tiers: before, tier: 'free' })).toMatchObject({ admit: false }); // 12 + 10 + 5
    // 30 % of the nodes go: C 12. Nothing is revoked (the rule has no such answer); the fleet is full.
    const shrunk = decideCapacity({ slots: 12, tiers: before, tier: 'free' });
    expect(shrunk).toMatchObject({ admit: false, basis: 'fleet_full', needed: 1, totalInflight: 12 });
    // pro (R 6, 2 used) is still admitted within its reservation once a slot is free again.
    expect(decideCapacity({ slots: 12, tiers: fleet({ pro: 2, free: 9 }), tier: 'pro' })).toMatchObject({
      admit: true,
      basis: 'reservation',
    });
    // free drains as its leases end: at 9, 8, 7, 6 it is refused (H = 4 + plus's 3 = 7), at 2 it fits again.
    for (const n of [9, 8, 7, 6, 5, 4, 3]) {
      expect(decideCapacity({ slots: 12, tiers: fleet({ pro: 2, free: n }), tier: 'free' }).admit).toBe(false);
    }
    // free R = ceil(0.12 x 12) = 2: at 1 it is within its reservation; at 2, 4 + 7 = 11 < 12 borrows one.
    expect(decideCapacity({ slots: 12, tiers: fleet({ pro: 2, free: 2 }), tier: 'free' })).toMatchObject({
      admit: true,
      basis: 'borrowed',
    });
    expect(decideCapacity({ slots: 12, tiers: fleet({ pro: 2, free: 1 }), tier: 'free' })).toMatchObject({
      admit: true,
      basis: 'reservation',
    });
  });

  it('needed counts the leases that must end first', () => {
    const d = decideCapacity({ slots: 12, tiers: fleet({ pro: 2, free: 9 }), tier: 'free' });
    // 11 + 7 = 18: 7 must end to get below 12.
    expect(d).toMatchObject({ admit: false, basis: 'higher_tiers_reserved', needed: 7 });
    // A fractional C (hot GPUs): 24 in flight on 23.5 slots needs one to end.
    expect(decideCapacity({ slots: 23.5, tiers: fleet({ pro: 24 }), tier: 'pro' }).needed).toBe(1);
  });

  it('no capacity at all refuses every tier, and an unknown tier reads as priority 0, nothing reserved', () => {
    expect(decideCapacity({ slots: 0, tiers: fleet({}), tier: 'pro' })).toMatchObject({
      admit: false,
      basis: 'fleet_full',
    });
    expect(decideCapacity({ slots: 24, tiers: fleet({ pro: 2 }), tier: 'team' })).toMatchObject({
      admit: true,
      basis: 'borrowed',
      reservedSlots: 0,
      // free has priority 0 too: not higher, so its unused 3 are not kept from team.
      higherHeadroom: 10 + 5,
    });
  });
});

describe('retry-after and message', () => {
  it('estimates from the observed lease durations (median), bounded', () => {
    expect(typicalDurationMs([])).toBeNull();
    expect(typicalDurationMs([9000, 1000, 5000])).toBe(5000);
    expect(typicalDurationMs([1000, 2000, 3000, 10_000])).toBe(2500);
    // 20 leases of 10 s end at 2 per second: one needed -> 1 s, seven -> 4 s.
    expect(estimateRetryAfterSeconds({ needed: 1, inflight: 20, typicalDurationMs: 10_000 })).toBe(1);
    expect(estimateRetryAfterSeconds({ needed: 7, inflight: 20, typicalDurationMs: 10_000 })).toBe(4);
    expect(estimateRetryAfterSeconds({ needed: 1, inflight: 1, typicalDurationMs: 30_000 })).toBe(30);
    expect(estimateRetryAfterSeconds({ needed: 1, inflight: 5, typicalDurationMs: null })).toBe(5);
    expect(estimateRetryAfterSeconds({ needed: 100, inflight: 1, typicalDurationMs: 3_600_000 })).toBe(300);
  });

  it('explains the refusal in the issue’s words', () => {
    expect(
      describeCapacity({ tier: 'free', inflight: 3, slots: 24, reserved: 0.12, hotGpus: 2, nodesOffline: 1 }),
    ).toBe('free: 3 of 24 slots, reserved 12 %; 2 GPUs hot, 1 node offline');
    expect(describeCapacity({ tier: 'free', inflight: 0, slots: 23.5, reserved: 0, hotGpus: 1, nodesOffline: 0 })).toBe(
      'free: 0 of 23.5 slots, reserved 0 %; 1 GPU hot',
    );
    expect(describeCapacity({ tier: 'pro', inflight: 12, slots: 12, reserved: 0.5, hotGpus: 0, nodesOffline: 3 })).toBe(
      'pro: 12 of 12 slots, reserved 50 %; 3 nodes offline',
    );
    expect(describeCapacity({ tier: 'pro', inflight: 1, slots: 8, reserved: 0.5, hotGpus: 0, nodesOffline: 0 })).toBe(
      'pro: 1 of 8 slots, reserved 50 %',
    );
  });
});
