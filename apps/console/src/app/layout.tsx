import type { Metadata } from 'next';
import type { ReactNode } from 'react';
import { Providers } from '@/trpc/client';
import './globals.css';

export const metadata: Metadata = { title: 'Coolant', description: 'Control plane for an image-generation GPU fleet' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>{children}</Providers>
      </body>
    </html>
  );
}
