'use client';

import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { safeNextPath } from '@/lib/safe-next';
import { useTRPC } from '@/trpc/client';

export function LoginForm({ next }: { next: string }) {
  const trpc = useTRPC();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const login = useMutation(
    trpc.auth.login.mutationOptions({
      // A full navigation, so the server renders the shell with the new session. Checked again
      // here so the form cannot be handed an off-site target by another caller.
      onSuccess: () => window.location.assign(safeNextPath(next)),
    }),
  );
  return (
    <form
      className="login"
      onSubmit={(e) => {
        e.preventDefault();
        login.mutate({ username, password });
      }}
    >
      <div className="brand" style={{ fontSize: 22, fontWeight: 700 }}>
        Coolant
      </div>
      <label>
        Username
        <input
          name="username"
          autoComplete="username"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          required
        />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
      </label>
      {login.error && (
        <div className="error" role="alert">
          {login.error.message}
        </div>
      )}
      <button type="submit" disabled={login.isPending}>
        {login.isPending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
