'use client';

// Each tier's share of the fleet: priority, reservation (% of C and R(t) in slots), what it has in
// flight and what of that it borrows (in flight above R(t), lent by lower-priority or unused
// capacity), and its expired leases (a leaking gateway shows here). Admins edit priorities and
// reservations inline (reason required). Only what the admin changed is sent (sharesMode 'merge'):
// a share another admin or the guard moved while the draft was open is kept, not sent back over.
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { checkPercent, checkPriority, percent, slotsText, type TCapacity } from '@/lib/capacity';
import { checkReason } from '@/lib/tier-input';

type TDraft = Record<string, { priority: string; reserved: string }>;

function draftOf(c: TCapacity): TDraft {
  return Object.fromEntries(
    c.tiers.map((t) => [
      t.tier,
      { priority: String(t.priority), reserved: String(Math.round(t.reserved * 10_000) / 100) },
    ]),
  );
}

export function CapacityShares({ capacity: c, isAdmin }: { capacity: TCapacity; isAdmin: boolean }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [draft, setDraft] = useState<TDraft | null>(null);
  const [base, setBase] = useState<TDraft>({});
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useMutation(
    trpc.capacity.configure.mutationOptions({
      onSuccess: () => {
        setDraft(null);
        setReason('');
        void qc.invalidateQueries({ queryKey: trpc.capacity.get.queryKey() });
      },
    }),
  );
  const checked = draft
    ? c.tiers.map((t) => ({
        tier: t.tier,
        priority: checkPriority(draft[t.tier]?.priority ?? '', `${t.tier} priority`),
        reserved: checkPercent(draft[t.tier]?.reserved ?? '', `${t.tier} reserved`),
      }))
    : [];
  const draftTotal = checked.reduce((a, s) => a + (s.reserved.ok ? s.reserved.value : 0), 0);
  const total = draft ? draftTotal : c.tiers.reduce((a, t) => a + t.reserved, 0);

  function submit() {
    const shares: { tier: string; priority?: number; reserved?: number }[] = [];
    for (const s of checked) {
      if (!s.priority.ok) return setInvalid(s.priority.error);
      if (!s.reserved.ok) return setInvalid(s.reserved.error);
      // A field the admin did not touch (its text as the draft opened) is not sent: it stays as stored.
      const was = base[s.tier];
      const change = {
        ...(was?.priority !== draft?.[s.tier]?.priority ? { priority: s.priority.value } : {}),
        ...(was?.reserved !== draft?.[s.tier]?.reserved ? { reserved: s.reserved.value } : {}),
      };
      if (Object.keys(change).length) shares.push({ tier: s.tier, ...change });
    }
    if (draftTotal > 1 + 1e-9) return setInvalid(`the reservations add up to ${percent(draftTotal)}, more than 100 %`);
    const r = checkReason(reason, { required: true });
    if (!r.ok) return setInvalid(r.error);
    setInvalid(null);
    if (shares.length === 0) return setDraft(null);
    save.mutate({ sharesMode: 'merge', shares, reason: r.value! });
  }

  function edit() {
    const d = draftOf(c);
    setBase(d);
    setDraft(d);
  }

  return (
    <form
      aria-label="Capacity shares"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <table className="capacity-shares">
        <thead>
          <tr>
            <th>Tier</th>
            <th>Priority</th>
            <th>Reserved</th>
            <th>In flight</th>
            <th>Borrowed</th>
            <th>Leases expired</th>
            <th>Now</th>
          </tr>
        </thead>
        <tbody>
          {c.tiers.map((t) => {
            const d = draft?.[t.tier];
            const set = (field: 'priority' | 'reserved', v: string) =>
              setDraft((old) => (old ? { ...old, [t.tier]: { ...old[t.tier]!, [field]: v } } : old));
            return (
              <tr key={t.tier} data-testid="capacity-tier" data-tier={t.tier}>
                <td>
                  <b>{t.tier}</b>
                </td>
                <td data-testid="tier-priority">
                  {d ? (
                    <input
                      aria-label={`Priority of ${t.tier}`}
                      inputMode="numeric"
                      size={5}
                      value={d.priority}
                      onChange={(e) => set('priority', e.target.value)}
                    />
                  ) : (
                    t.priority
                  )}
                </td>
                <td data-testid="tier-reserved">
                  {d ? (
                    <>
                      <input
                        aria-label={`Reserved % of ${t.tier}`}
                        inputMode="decimal"
                        size={6}
                        value={d.reserved}
                        onChange={(e) => set('reserved', e.target.value)}
                      />{' '}
                      %
                    </>
                  ) : (
                    <>
                      {percent(t.reserved)}{' '}
                      <span className="muted">
                        · {t.reservedSlots} slot{t.reservedSlots === 1 ? '' : 's'}
                      </span>
                    </>
                  )}
                </td>
                <td data-testid="tier-inflight">{t.inflight}</td>
                <td data-testid="tier-borrowed">
                  {t.borrowed > 0 ? <b>{t.borrowed}</b> : <span className="muted">0</span>}
                </td>
                <td data-testid="tier-expired">
                  {t.leasesExpired > 0 ? <span className="error">{t.leasesExpired}</span> : 0}
                </td>
                <td className="muted small">{t.summary}</td>
              </tr>
            );
          })}
        </tbody>
        <tfoot>
          <tr>
            <td colSpan={2} className="muted">
              {c.tiers.length} tiers
            </td>
            <td data-testid="reserved-total" className={total > 1 + 1e-9 ? 'error' : ''}>
              {percent(total)} reserved
            </td>
            <td colSpan={4} className="muted small">
              of {slotsText(c.slots)} slots; a tier borrows past its reservation only what higher priorities leave
              unused
            </td>
          </tr>
        </tfoot>
      </table>
      {isAdmin &&
        (draft ? (
          <div className="row inline-edit">
            <label className="grow">
              Reason (required)
              <input name="reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
            </label>
            <button type="submit" disabled={save.isPending}>
              Save shares
            </button>
            <button type="button" className="secondary" onClick={() => setDraft(null)}>
              Cancel
            </button>
          </div>
        ) : (
          <button type="button" className="secondary" onClick={edit}>
            Edit priorities and reservations
          </button>
        ))}
      {(invalid ?? save.error) && (
        <div className="error" role="alert">
          {invalid ?? save.error?.message}
        </div>
      )}
    </form>
  );
}
