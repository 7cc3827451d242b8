'use client';

/**
 * The end of every inline editor (Tiers & quotas, Notifications): Save (off while the mutation runs),
 * Cancel, and the error that stopped it (the browser's own check first, else the server's answer),
 * so the editors differ only in their fields.
 */
export function InlineFormActions(props: { pending: boolean; error: string | null | undefined; onCancel: () => void }) {
  return (
    <>
      <button type="submit" disabled={props.pending}>
        Save
      </button>
      <button type="button" className="secondary" onClick={props.onCancel}>
        Cancel
      </button>
      {props.error && (
        <div className="error full" role="alert">
          {props.error}
        </div>
      )}
    </>
  );
}
