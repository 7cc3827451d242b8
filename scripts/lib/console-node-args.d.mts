// Types of console-node-args.mjs (imported by TypeScript launchers of the console).
export declare const CONSOLE_NODE_ARGS: readonly string[];
