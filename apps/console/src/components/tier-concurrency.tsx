'use client';

/**
 * How many generations a tier may have in flight at once (leases), per user and for the whole
 * tier; either may be unbounded. Shown to everyone beside the tier's limits, edited by admins
 * (tiers.setConcurrency), the reason optional like a base limit's.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { checkConcurrency, checkReason } from '@/lib/tier-input';
import { SCOPE_LABEL, type TConcurrency, type TTier } from '@/lib/tiers';
import { InlineFormActions } from './inline-form-actions';

function bound(n: number | null) {
  return n === null ? <span className="muted">unbounded</span> : <b>{n.toLocaleString('en-US')}</b>;
}

export function TierConcurrency({ tier, isAdmin }: { tier: TTier; isAdmin: boolean }) {
  const [editing, setEditing] = useState(false);
  const c = tier.concurrency;
  return (
    <div className="concurrency" data-testid="concurrency">
      <div className="row compact">
        <span title="Generations in flight at once (leases held), counted per user and for the whole tier">
          In flight at once:
        </span>
        <span data-testid="concurrency-subject">
          {SCOPE_LABEL.subject} {bound(c.perSubject)}
        </span>
        <span className="muted">·</span>
        <span data-testid="concurrency-tier">
          {SCOPE_LABEL.tier} {bound(c.perTier)}
        </span>
        {isAdmin && !tier.retired && !editing && (
          <button className="link" onClick={() => setEditing(true)} aria-label={`Edit concurrency of ${tier.name}`}>
            edit
          </button>
        )}
      </div>
      {editing && <ConcurrencyForm tier={tier.name} current={c} onDone={() => setEditing(false)} />}
    </div>
  );
}

function ConcurrencyForm({ tier, current, onDone }: { tier: string; current: TConcurrency; onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [perSubject, setPerSubject] = useState(current.perSubject === null ? '' : String(current.perSubject));
  const [perTier, setPerTier] = useState(current.perTier === null ? '' : String(current.perTier));
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useMutation(
    trpc.tiers.setConcurrency.mutationOptions({
      onSuccess: () => {
        void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
        onDone();
      },
    }),
  );
  return (
    <form
      className="row inline-edit"
      aria-label={`Concurrency of ${tier}`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const s = checkConcurrency(perSubject, 'per user');
        if (!s.ok) return setInvalid(s.error);
        const t = checkConcurrency(perTier, 'whole tier');
        if (!t.ok) return setInvalid(t.error);
        const r = checkReason(reason, { required: false });
        if (!r.ok) return setInvalid(r.error);
        setInvalid(null);
        save.mutate({ tier, perSubject: s.value, perTier: t.value, ...(r.value ? { reason: r.value } : {}) });
      }}
    >
      <label>
        Per user at once (empty: unbounded)
        <input
          name="concurrency-per-subject"
          inputMode="numeric"
          autoFocus
          value={perSubject}
          onChange={(e) => setPerSubject(e.target.value)}
          placeholder="unbounded"
          size={10}
        />
      </label>
      <label>
        Whole tier at once (empty: unbounded)
        <input
          name="concurrency-per-tier"
          inputMode="numeric"
          value={perTier}
          onChange={(e) => setPerTier(e.target.value)}
          placeholder="unbounded"
          size={10}
        />
      </label>
      <label className="grow">
        Reason (optional)
        <input name="reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </label>
      <InlineFormActions pending={save.isPending} error={invalid ?? save.error?.message} onCancel={onDone} />
    </form>
  );
}
