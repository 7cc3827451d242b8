'use client';

/**
 * The inline editors of one limit row (base: admin, temporary: operator), for either scope: the
 * scope is part of what is sent, and of every label, so a tier-wide edit never reads like a
 * per-user one.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { dateTime, duration } from '@/lib/format';
import { checkLimit, checkReason, checkUntil } from '@/lib/tier-input';
import type { TLimitScope, TTierLimit } from '@/lib/tiers';
import { useNow } from '@/lib/use-now';
import { InlineFormActions } from './inline-form-actions';

/** The form's accessible name: the per-user names are the ones the page had before scopes existed. */
export function limitFormName(req: { kind: 'base' | 'temporary'; scope: TLimitScope; window: string; tier: string }) {
  const what = `${req.kind === 'base' ? 'Base' : 'Temporary'} ${req.window} limit of ${req.tier}`;
  return req.scope === 'tier' ? `Tier-wide ${what.charAt(0).toLowerCase()}${what.slice(1)}` : what;
}

function scopeNote(scope: TLimitScope): string {
  return scope === 'tier' ? ', whole tier' : '';
}

export function BaseLimitForm({ tier, limit, onDone }: { tier: string; limit: TTierLimit; onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [value, setValue] = useState(limit.base === null ? '' : String(limit.base));
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const save = useMutation(
    trpc.tiers.setLimit.mutationOptions({
      onSuccess: () => {
        void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
        onDone();
      },
    }),
  );
  return (
    <form
      className="row inline-edit"
      aria-label={limitFormName({ kind: 'base', scope: limit.scope, window: limit.window, tier })}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const l = checkLimit(value, { allowNone: true });
        if (!l.ok) return setInvalid(l.error);
        const r = checkReason(reason, { required: false });
        if (!r.ok) return setInvalid(r.error);
        setInvalid(null);
        save.mutate({
          tier,
          window: limit.window,
          scope: limit.scope,
          limit: l.value,
          ...(r.value ? { reason: r.value } : {}),
        });
      }}
    >
      <label>
        Base limit per {limit.window}
        {scopeNote(limit.scope)} (empty: none)
        <input
          name="base-limit"
          inputMode="numeric"
          autoFocus
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="none"
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

export function TemporaryLimitForm({ tier, limit, onDone }: { tier: string; limit: TTierLimit; onDone: () => void }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [value, setValue] = useState(limit.temporary ? String(limit.temporary.limit) : '');
  const [until, setUntil] = useState('2h');
  const [reason, setReason] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const previewId = useId();
  const now = useNow();
  const preview = now ? checkUntil(until, now) : null;
  const save = useMutation(
    trpc.tiers.setTemporaryLimit.mutationOptions({
      onSuccess: () => {
        void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
        onDone();
      },
    }),
  );
  return (
    <form
      className="row inline-edit"
      aria-label={limitFormName({ kind: 'temporary', scope: limit.scope, window: limit.window, tier })}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        const l = checkLimit(value, { allowNone: false });
        if (!l.ok) return setInvalid(l.error);
        const u = checkUntil(until, Date.now());
        if (!u.ok) return setInvalid(u.error);
        const r = checkReason(reason, { required: true });
        if (!r.ok) return setInvalid(r.error);
        setInvalid(null);
        save.mutate({
          tier,
          window: limit.window,
          scope: limit.scope,
          limit: l.value!,
          until: u.value.toISOString(),
          reason: r.value!,
        });
      }}
    >
      <label>
        Temporary limit per {limit.window}
        {scopeNote(limit.scope)}
        <input
          name="temporary-limit"
          inputMode="numeric"
          autoFocus
          value={value}
          onChange={(e) => setValue(e.target.value)}
          size={10}
        />
      </label>
      <label>
        Until (2h, 90m, 1d or a date-time)
        <input
          name="until"
          value={until}
          onChange={(e) => setUntil(e.target.value)}
          size={18}
          aria-describedby={previewId}
        />
        <span id={previewId} className="muted small" data-testid="until-preview">
          {preview?.ok
            ? `→ ${dateTime(preview.value.toISOString())} (in ${duration((preview.value.getTime() - now) / 1000)})`
            : '\u00a0'}
        </span>
      </label>
      <label className="grow">
        Reason (required)
        <input name="reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
      </label>
      <InlineFormActions pending={save.isPending} error={invalid ?? save.error?.message} onCancel={onDone} />
    </form>
  );
}
