'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '@/trpc/client';

type TRole = 'viewer' | 'operator' | 'admin';

export function UsersAdmin() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const users = useQuery(trpc.users.list.queryOptions());
  const [form, setForm] = useState<{ username: string; password: string; role: TRole }>({
    username: '',
    password: '',
    role: 'viewer',
  });
  const refresh = () => void qc.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: () => {
        setForm({ username: '', password: '', role: 'viewer' });
        refresh();
      },
    }),
  );
  const update = useMutation(trpc.users.update.mutationOptions({ onSuccess: refresh }));
  return (
    <>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate(form);
        }}
      >
        <label>
          Username
          <input
            name="new-username"
            value={form.username}
            onChange={(e) => setForm({ ...form, username: e.target.value })}
            required
          />
        </label>
        <label>
          Password
          <input
            name="new-password"
            type="password"
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
            required
            minLength={10}
          />
        </label>
        <label>
          Role
          <select
            name="new-role"
            value={form.role}
            onChange={(e) => setForm({ ...form, role: e.target.value as TRole })}
          >
            <option value="viewer">viewer</option>
            <option value="operator">operator</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" disabled={create.isPending}>
          Add user
        </button>
      </form>
      {(create.error ?? update.error) && <div className="error">{(create.error ?? update.error)!.message}</div>}
      <table>
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
            <th>Status</th>
            <th>Created</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {users.data?.map((u) => (
            <tr key={u.id} data-testid="user-row">
              <td>{u.username}</td>
              <td>
                <select
                  value={u.role}
                  onChange={(e) => update.mutate({ id: u.id, role: e.target.value as TRole })}
                  aria-label={`role of ${u.username}`}
                >
                  <option value="viewer">viewer</option>
                  <option value="operator">operator</option>
                  <option value="admin">admin</option>
                </select>
              </td>
              <td>
                {u.disabled ? (
                  <span className="badge revoked">disabled</span>
                ) : (
                  <span className="badge online">active</span>
                )}
              </td>
              <td>{new Date(u.createdAt).toLocaleString()}</td>
              <td>
                <button
                  className={u.disabled ? 'secondary' : 'danger'}
                  onClick={() => update.mutate({ id: u.id, disabled: !u.disabled })}
                >
                  {u.disabled ? 'Enable' : 'Disable'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
