'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';

type TRole = 'viewer' | 'operator' | 'admin' | 'gateway';

export function TokensAdmin() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const tokens = useQuery(trpc.tokens.list.queryOptions({ includeRevoked: true }));
  const nodes = useQuery(trpc.fleet.list.queryOptions({ includeRevoked: false }));
  const enrollment = useQuery(trpc.system.enrollment.queryOptions());
  const [name, setName] = useState('');
  const [role, setRole] = useState<TRole>('viewer');
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.tokens.list.queryKey() });
  const create = useMutation(
    trpc.tokens.create.mutationOptions({
      onSuccess: (t) => {
        setCreated({ name: t.name, secret: t.secret });
        setName('');
        refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.tokens.revoke.mutationOptions({ onSuccess: refresh }));
  const revokeNode = useMutation(
    trpc.fleet.revokeNode.mutationOptions({
      onSuccess: () => void qc.invalidateQueries({ queryKey: trpc.fleet.list.queryKey() }),
    }),
  );
  const rotate = useMutation(
    trpc.system.rotateEnrollment.mutationOptions({ onSuccess: () => void enrollment.refetch() }),
  );

  return (
    <>
      <h2>API tokens</h2>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name, role });
        }}
      >
        <label>
          Name
          <input name="token-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        </label>
        <label>
          Role
          <select name="token-role" value={role} onChange={(e) => setRole(e.target.value as TRole)}>
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
            <option value="gateway">gateway (admission only)</option>
          </select>
        </label>
        <button type="submit" disabled={create.isPending}>
          Create token
        </button>
      </form>
      {create.error && <div className="error">{create.error.message}</div>}
      {created && (
        <div className="notice" data-testid="new-token">
          Token <b>{created.name}</b> created. Copy it now; it is not shown again:
          <div className="secret" data-testid="new-token-secret">
            {created.secret}
          </div>
        </div>
      )}
      {revoke.error && <div className="error">{revoke.error.message}</div>}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Role</th>
            <th>Prefix</th>
            <th>Created</th>
            <th>Last used</th>
            <th>Status</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {tokens.data?.map((t) => (
            <tr key={t.id} data-testid="token-row" data-token-name={t.name}>
              <td>{t.name}</td>
              <td>{t.role}</td>
              <td>
                <code>{t.prefix}…</code>
              </td>
              <td>
                {new Date(t.createdAt).toLocaleString()} <span className="muted">by {t.createdBy ?? '?'}</span>
              </td>
              <td>{t.lastUsedAt ? new Date(t.lastUsedAt).toLocaleString() : 'never'}</td>
              <td>
                {t.revokedAt ? (
                  <span className="badge revoked">revoked</span>
                ) : (
                  <span className="badge online">active</span>
                )}
              </td>
              <td>
                {!t.revokedAt && (
                  <button
                    className="danger"
                    onClick={() => {
                      const reason = window.prompt(`Revoke token "${t.name}"? Reason:`);
                      if (reason !== null) revoke.mutate({ id: t.id, ...(reason ? { reason } : {}) });
                    }}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2>Agent enrollment</h2>
      <p className="muted">
        Agents trade this secret for a node token of their own once (
        <code>coolant-agent --server URL --enroll-token …</code>).
      </p>
      <div className="row">
        <span className="secret" data-testid="enroll-token">
          {enrollment.data?.enrollToken ?? '…'}
        </span>
        <button
          className="secondary"
          onClick={() =>
            window.confirm('Rotate the enrollment secret? Enrolled nodes keep working.') && rotate.mutate()
          }
        >
          Rotate
        </button>
      </div>

      <h2>Node tokens</h2>
      {revokeNode.error && <div className="error">{revokeNode.error.message}</div>}
      <table>
        <thead>
          <tr>
            <th>Host</th>
            <th>Node id</th>
            <th>Enrolled</th>
            <th>Status</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {nodes.data?.nodes.map((n) => (
            <tr key={n.id}>
              <td>{n.hostname}</td>
              <td>
                <code>{n.id}</code>
              </td>
              <td>{new Date(n.enrolledAt).toLocaleString()}</td>
              <td>
                <span className={`badge ${n.status}`}>{n.status}</span>
              </td>
              <td>
                <button
                  className="danger"
                  onClick={() => {
                    const reason = window.prompt(
                      `Revoke node ${n.hostname}? It will no longer be able to report. Reason:`,
                    );
                    if (reason !== null) revokeNode.mutate({ id: n.id, ...(reason ? { reason } : {}) });
                  }}
                >
                  Revoke
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
