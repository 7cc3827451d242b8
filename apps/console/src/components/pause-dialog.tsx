'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState } from 'react';
import { useTRPC } from '@/trpc/client';
import { checkReason, checkUntil } from '@/lib/tier-input';
import { duration, toDateTimeLocal } from '@/lib/format';
import { useNow } from '@/lib/use-now';

const PRESETS = [
  { key: '15m', label: '15 min', ms: 15 * 60_000 },
  { key: '1h', label: '1 h', ms: 60 * 60_000 },
  { key: '4h', label: '4 h', ms: 4 * 60 * 60_000 },
] as const;
type TResumeChoice = 'none' | (typeof PRESETS)[number]['key'] | 'custom';

type TProps = { tier: string; action: 'pause' | 'resume'; instances: number; onClose: () => void };

/** Confirmation for pausing (reason required, optional auto-resume) or resuming (reason optional) one tier. */
export function PauseDialog({ tier, action, instances, onClose }: TProps) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const titleId = useId();
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  const [reason, setReason] = useState('');
  const [choice, setChoice] = useState<TResumeChoice>('none');
  const [custom, setCustom] = useState('');
  const [invalid, setInvalid] = useState<string | null>(null);
  const now = useNow();
  const done = () => {
    void qc.invalidateQueries({ queryKey: trpc.tiers.list.queryKey() });
    onClose();
  };
  const pause = useMutation(trpc.tiers.pause.mutationOptions({ onSuccess: done }));
  const resume = useMutation(trpc.tiers.resume.mutationOptions({ onSuccess: done }));
  const pending = pause.isPending || resume.isPending;
  const serverError = pause.error?.message ?? resume.error?.message ?? null;

  useEffect(() => {
    reasonRef.current?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  function submit() {
    const checkedReason = checkReason(reason, { required: action === 'pause' });
    if (!checkedReason.ok) return setInvalid(checkedReason.error);
    if (action === 'resume') {
      setInvalid(null);
      return resume.mutate({ tier, ...(checkedReason.value ? { reason: checkedReason.value } : {}) });
    }
    const now = Date.now();
    let resumeAt: Date | undefined;
    if (choice === 'custom') {
      const at = checkUntil(custom, now, 'resume at');
      if (!at.ok) return setInvalid(at.error);
      resumeAt = at.value;
    } else if (choice !== 'none') {
      resumeAt = new Date(now + PRESETS.find((p) => p.key === choice)!.ms);
    }
    setInvalid(null);
    pause.mutate({ tier, reason: checkedReason.value!, ...(resumeAt ? { resumeAt: resumeAt.toISOString() } : {}) });
  }

  return (
    <div className="overlay" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <form
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        className={`dialog ${action}`}
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <h2 id={titleId}>{action === 'pause' ? `Pause tier ${tier}` : `Resume tier ${tier}`}</h2>
        <p className="muted">
          {action === 'pause'
            ? `Every admission request of tier ${tier} will be refused (reason tier_paused) on every console instance (${instances} live) until it is resumed.`
            : `Requests of tier ${tier} will be admitted again, within its limits.`}
        </p>
        <label>
          {action === 'pause' ? 'Reason (required)' : 'Reason (optional)'}
          <textarea
            ref={reasonRef}
            name="reason"
            rows={2}
            maxLength={500}
            value={reason}
            onChange={(e) => setReason(e.target.value)}
          />
        </label>
        {action === 'pause' && (
          <fieldset className="resume-choice">
            <legend>Auto-resume</legend>
            {[{ key: 'none', label: 'none' }, ...PRESETS, { key: 'custom', label: 'custom' }].map((p) => (
              <label key={p.key} className="inline">
                <input
                  type="radio"
                  name="auto-resume"
                  value={p.key}
                  checked={choice === p.key}
                  onChange={() => setChoice(p.key as TResumeChoice)}
                />
                {p.key === 'none' ? 'none' : p.key === 'custom' ? 'date-time' : `in ${p.label}`}
              </label>
            ))}
            {choice === 'custom' && (
              <label>
                Resume at (local time)
                <input
                  type="datetime-local"
                  name="resume-at"
                  value={custom}
                  min={now ? toDateTimeLocal(now) : undefined}
                  onChange={(e) => setCustom(e.target.value)}
                />
              </label>
            )}
            <div className="muted small">
              {choice === 'none'
                ? 'Stays paused until someone resumes it.'
                : choice === 'custom'
                  ? 'Resumes by itself at that time.'
                  : `Resumes by itself in ${duration(PRESETS.find((p) => p.key === choice)!.ms / 1000)}.`}
            </div>
          </fieldset>
        )}
        {(invalid ?? serverError) && (
          <div className="error" role="alert">
            {invalid ?? serverError}
          </div>
        )}
        <div className="row end">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={action === 'pause' ? 'danger solid' : ''} disabled={pending}>
            {action === 'pause' ? 'Confirm pause' : 'Confirm resume'}
          </button>
        </div>
      </form>
    </div>
  );
}
