// nginx in front of both consoles, in the foreground as a child of the demo, with everything it
// writes under its own prefix directory in the demo's temp dir (no system config touched).
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type TChild, type TSupervisor, killGroup, running } from './children';
import { portFree, waitHealthy } from './http';

function nginxVersion(): string | null {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return /nginx\/(\S+)/.exec(`${r.stderr}${r.stdout}`)?.[1] ?? 'unknown';
}

function nginxConfig({ prefix, port, upstreams }: { prefix: string; port: number; upstreams: string[] }) {
  const temp = (name: string) => join(prefix, 'temp', name);
  return `# Written by scripts/cluster-demo (npm run cluster:demo); deploy/nginx/coolant.conf is the production example (TLS).
worker_processes 1;
error_log stderr warn;

events {
    worker_connections 512;
}

http {
    access_log off;
    client_body_temp_path ${temp('body')};
    proxy_temp_path ${temp('proxy')};
    fastcgi_temp_path ${temp('fastcgi')};
    uwsgi_temp_path ${temp('uwsgi')};
    scgi_temp_path ${temp('scgi')};

    upstream coolant_console {
        # Sessions live in the database: any instance serves any request.
        least_conn;
${upstreams.map((u) => `        server ${u} max_fails=3 fail_timeout=10s;`).join('\n')}
        keepalive 16;
    }

    server {
        listen 127.0.0.1:${port};
        client_max_body_size 4m;

        location / {
            proxy_pass http://coolant_console;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_connect_timeout 5s;
            proxy_next_upstream error timeout http_502 http_503;
            # Which instance answered: the demo's check (and curl -i) read it.
            add_header X-Coolant-Upstream $upstream_addr always;
        }
    }
}
`;
}

export type TNginx = { url: string; version: string; entry: TChild } | { error: string };

/** nginx on the port, or the reason it is not there. */
export async function startNginx(req: {
  supervisor: TSupervisor;
  tmp: string;
  port: number;
  upstreams: string[];
}): Promise<TNginx> {
  const version = nginxVersion();
  if (!version) return { error: 'nginx is not installed (Debian: apt-get install -y nginx-light)' };
  if (!(await portFree(req.port))) return { error: `port ${req.port} is in use (pass --port)` };
  const prefix = join(req.tmp, 'nginx');
  mkdirSync(join(prefix, 'temp'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig({ prefix, port: req.port, upstreams: req.upstreams }));
  // -e stderr (nginx >= 1.19.5): errors before the config is read go to our output, not to a
  // compiled-in log file we may not be allowed to open.
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  const hasE = major > 1 || (major === 1 && (minor > 19 || (minor === 19 && patch >= 5)));
  const args = [
    '-p',
    prefix,
    '-c',
    conf,
    ...(hasE ? ['-e', 'stderr'] : []),
    '-g',
    `daemon off; pid ${join(prefix, 'nginx.pid')};`,
  ];
  const entry = req.supervisor.startChild('nginx', 'nginx', args);
  // Until it answers, an exit means "no nginx", not "stop the demo".
  entry.expectExit = true;
  const url = `http://127.0.0.1:${req.port}`;
  try {
    await waitHealthy(entry, url, 10_000);
    entry.expectExit = false;
  } catch (error) {
    if (running(entry)) killGroup(entry, 'SIGKILL');
    const message = error instanceof Error ? error.message : String(error);
    return {
      error: `nginx ${version} could not start: ${message.split('\n').slice(1).join(' ').trim() || message}`,
    };
  }
  return { url, version, entry };
}
