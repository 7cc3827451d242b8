/** Where `coolant-agent install` puts things on a host; the unit refers to them. */
export const AGENT_INSTALL = {
  unitName: 'coolant-agent.service',
  unitPath: '/etc/systemd/system/coolant-agent.service',
  executablePath: '/usr/local/bin/coolant-agent',
  user: 'coolant-agent',
  /** systemd creates /var/lib/<StateDirectory> owned by the service user. */
  stateDirectoryName: 'coolant-agent',
  stateDir: '/var/lib/coolant-agent',
} as const;

export type TAgentUnitOptions = {
  /** Console URL, http(s). */
  server: string;
  intervalSeconds?: number;
  /** Absolute path of the installed executable. */
  executablePath?: string;
  /** Groups that may own the GPU device nodes on this host (e.g. `video`); each must exist. */
  supplementaryGroups?: readonly string[];
};

/**
 * One argument of ExecStart=. systemd expands `%` specifiers and `$VAR` in command lines and
 * splits on whitespace, so a percent-encoded URL (`%20`) would otherwise be mangled.
 */
export function quoteExecArg(arg: string): string {
  if ([...arg].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f))
    throw new Error(`control characters are not allowed in a unit file argument: ${JSON.stringify(arg)}`);
  const escaped = arg.replaceAll('%', '%%').replaceAll('$', '$$$$');
  if (escaped !== '' && /^[A-Za-z0-9/._:=@+,%$-]+$/.test(escaped)) return escaped;
  return `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/**
 * The agent's systemd unit. Pure, so `--print-unit`, install and the tests show the same text.
 *
 * The enrollment secret is not in it: install enrolls once, as the service user, and only the
 * node token stays, in the state directory (mode 0700, node.json 0600). An EnvironmentFile with
 * the secret would keep on every GPU host a credential that can enroll new nodes, for as long as
 * the host lives; the node token can only report as this one node and an admin can revoke it.
 */
export function renderAgentUnit(options: TAgentUnitOptions): string {
  const executable = options.executablePath ?? AGENT_INSTALL.executablePath;
  if (!executable.startsWith('/')) throw new Error(`the executable path must be absolute, got ${executable}`);
  const args = [executable, '--server', options.server, '--state-dir', AGENT_INSTALL.stateDir];
  if (options.intervalSeconds !== undefined) args.push('--interval', String(options.intervalSeconds));
  const groups = options.supplementaryGroups ?? [];
  for (const g of groups) {
    if (!/^[a-z_][a-z0-9_-]*\$?$/i.test(g)) throw new Error(`not a group name: ${JSON.stringify(g)}`);
  }

  return `# Written by \`coolant-agent install\`; \`coolant-agent uninstall\` removes it.
[Unit]
Description=Coolant agent: reports this host's GPUs to a Coolant console
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
User=${AGENT_INSTALL.user}
Group=${AGENT_INSTALL.user}
${groups.length ? `# The GPU device nodes on this host may be group-owned (NVreg_DeviceFileGID).\nSupplementaryGroups=${groups.join(' ')}\n` : ''}ExecStart=${args.map(quoteExecArg).join(' ')}
# Holds node.json (the node token, 0600); the only place the agent may write.
StateDirectory=${AGENT_INSTALL.stateDirectoryName}
StateDirectoryMode=0700
UMask=0077
Restart=always
RestartSec=5
KillSignal=SIGTERM
# The agent stops within 5 s of SIGTERM; the rest is margin before SIGKILL. The whole cgroup is
# signalled, so the collector worker (its own process group) and a hung nvidia-smi go too.
KillMode=control-group
TimeoutStopSec=10

# Hardening. nvidia-smi opens /dev/nvidiactl, /dev/nvidia<N>, /dev/nvidia-caps/* (MIG) and
# /dev/nvidia-nvswitch* read-write, and their names and majors vary with the driver and MIG mode:
# so no PrivateDevices=, no DevicePolicy=/DeviceAllow= and no ProtectClock= (it implies
# DeviceAllow=char-rtc, which would shut every other device out). The device nodes' own
# permissions decide, as for any unprivileged user.
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
# AF_NETLINK: os.networkInterfaces() and systeminformation read interfaces over netlink.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
# A call outside the filter fails instead of killing the agent (libuv falls back, e.g. io_uring).
SystemCallErrorNumber=EPERM
# No MemoryDenyWriteExecute=: V8's JIT needs pages that are writable and executable.

[Install]
WantedBy=multi-user.target
`;
}
