// Type-only entry for clients (the agent, the console's browser code): no server code is pulled in.
export type { AppRouter } from './root';
