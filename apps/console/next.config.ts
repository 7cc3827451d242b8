import type { NextConfig } from 'next';

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The console runs under its own node:http server (server/main.ts); pages only.
  typescript: { ignoreBuildErrors: false },
};

export default config;
