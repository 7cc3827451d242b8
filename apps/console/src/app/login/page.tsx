import { LoginForm } from '@/components/login-form';
import { safeNextPath } from '@/lib/safe-next';

export const dynamic = 'force-dynamic';

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string | string[] }> }) {
  const { next } = await searchParams;
  // Only same-origin paths: an open redirect after login would help phishing.
  return <LoginForm next={safeNextPath(typeof next === 'string' ? next : undefined)} />;
}
