import { LoginForm } from '@/components/login-form';

export const dynamic = 'force-dynamic';

export default async function LoginPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  const { next } = await searchParams;
  // Only same-site paths: an open redirect after login would help phishing.
  const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/fleet';
  return <LoginForm next={target} />;
}
