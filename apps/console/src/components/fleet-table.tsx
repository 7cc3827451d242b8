'use client';

import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '@/trpc/client';
import { ago } from '@/lib/format';

export function FleetTable() {
  const trpc = useTRPC();
  const nodes = useQuery({ ...trpc.fleet.list.queryOptions(), refetchInterval: 5_000 });
  if (nodes.error) return <div className="error">{nodes.error.message}</div>;
  if (!nodes.data) return <div className="muted">Loading…</div>;
  if (nodes.data.length === 0) return <div className="empty">No node has enrolled yet. Start an agent with the enrollment token (Tokens page).</div>;
  return (
    <table>
      <thead>
        <tr><th>Host</th><th>Status</th><th>Last report</th><th>Agent</th><th>OS</th><th>Enrolled</th></tr>
      </thead>
      <tbody>
        {nodes.data.map((n) => (
          <tr key={n.id} data-testid="node-row">
            <td>{n.hostname}</td>
            <td><span className={`badge ${n.status}`}>{n.status}</span></td>
            <td>{n.lastSeenAt ? ago(n.lastSeenAt) : 'never'}</td>
            <td>{n.agentVersion ?? '—'}</td>
            <td>{n.os ?? '—'}</td>
            <td>{new Date(n.enrolledAt).toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
