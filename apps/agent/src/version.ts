import pkg from '../../../package.json' with { type: 'json' };

/** The one version of Coolant: the root package.json. */
export const AGENT_VERSION: string = pkg.version;
