'use client';

import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';

export function AuditLog() {
  const trpc = useTRPC();
  const [draft, setDraft] = useState({ action: '', actor: '', target: '' });
  const [filters, setFilters] = useState(draft);
  const input = {
    limit: 50,
    ...(filters.action ? { action: filters.action } : {}),
    ...(filters.actor ? { actor: filters.actor } : {}),
    ...(filters.target ? { target: filters.target } : {}),
  };
  const log = useInfiniteQuery(
    trpc.audit.list.infiniteQueryOptions(input, { getNextPageParam: (last) => last.nextCursor ?? undefined }),
  );
  const events = log.data?.pages.flatMap((p) => p.events) ?? [];
  return (
    <>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setFilters(draft);
        }}
      >
        <label>
          Action starts with
          <input
            name="action"
            value={draft.action}
            onChange={(e) => setDraft({ ...draft, action: e.target.value })}
            placeholder="token."
          />
        </label>
        <label>
          Actor
          <input name="actor" value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value })} />
        </label>
        <label>
          Target
          <input name="target" value={draft.target} onChange={(e) => setDraft({ ...draft, target: e.target.value })} />
        </label>
        <button type="submit">Filter</button>
      </form>
      {log.error && <div className="error">{log.error.message}</div>}
      <table>
        <thead>
          <tr>
            <th>Time</th>
            <th>Actor</th>
            <th>Action</th>
            <th>Target</th>
            <th>Reason</th>
            <th>Details</th>
            <th>IP</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-testid="audit-row">
              <td>{new Date(e.at).toLocaleString()}</td>
              <td>
                {e.actorName} <span className="muted">({e.actorType})</span>
              </td>
              {/* Anonymous failures are one row per source and 10-minute window; the time is the latest attempt. */}
              <td>
                <code>{e.action}</code>
                {e.count > 1 && (
                  <span className="muted" data-testid="audit-count" title={`${e.count} attempts in this window`}>
                    {' '}
                    × {e.count}
                  </span>
                )}
              </td>
              <td>{e.target ?? ''}</td>
              <td>{e.reason ?? ''}</td>
              <td>
                <code className="muted">{e.details ? JSON.stringify(e.details) : ''}</code>
              </td>
              <td className="muted">{e.ip ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {events.length === 0 && !log.isLoading && <div className="empty">No matching events.</div>}
      {log.hasNextPage && (
        <button
          className="secondary"
          style={{ marginTop: 12 }}
          onClick={() => void log.fetchNextPage()}
          disabled={log.isFetchingNextPage}
        >
          Load older
        </button>
      )}
    </>
  );
}
