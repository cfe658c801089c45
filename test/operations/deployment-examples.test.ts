import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { packageRoot } from '../../src/util/package-root.js';

/*
 * What can be checked of examples/ without a Docker engine or a cluster: the files parse, run what keeps the backup up
 * (serve beside schedule, a standby), check health on /healthz, and keep every path fxpipe writes on a volume.
 */

const examples = path.join(packageRoot, 'examples');
const read = (...parts: string[]) => readFileSync(path.join(examples, ...parts), 'utf8');
const posix = path.posix;

/** What these tests read of a Compose service (https://docs.docker.com/reference/compose-file/services/). */
interface ComposeService {
  image?: string;
  build?: string | { context: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: (string | { type: string; source?: string; target: string })[];
  tmpfs?: string | string[];
  ports?: unknown[];
  deploy?: { replicas?: number };
  healthcheck?: { test?: string | string[] };
}

/** What these tests read of a Kubernetes object. */
interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: {
    replicas?: number;
    template?: PodTemplate;
    jobTemplate?: { spec: { template: PodTemplate } };
    selector?: Record<string, unknown>;
    ports?: { targetPort: string | number }[];
    accessModes?: string[];
  };
  stringData?: Record<string, string>;
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: {
    containers: Container[];
    volumes?: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  };
}

interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}

interface Container {
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}

/** dir itself or a path below it. */
function isWithin(file: string, dir: string): boolean {
  const rel = posix.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !posix.isAbsolute(rel));
}

/** The value of --flag in args (as `--flag value` or `--flag=value`). */
function flag(args: string[], name: string): string | undefined {
  const at = args.findIndex((arg) => arg === name || arg.startsWith(`${name}=`));
  if (at < 0) return undefined;
  return args[at]!.includes('=') ? args[at]!.slice(name.length + 1) : args[at + 1];
}

// --- the image ---

interface Image {
  env: Record<string, string>;
  volumes: string[];
  user: string | undefined;
}

/** The Dockerfile's ENV values, VOLUMEs and last USER. */
function imageFacts(dockerfile: string): Image {
  const image: Image = { env: {}, volumes: [], user: undefined };
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n')) {
    const [, instruction, rest] = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line) ?? [];
    if (!instruction || !rest) continue;
    const words = rest.trim().split(/\s+/);
    if (/^env$/i.test(instruction)) {
      const pairs = words[0]!.includes('=') ? words.map((word) => word.split(/=(.*)/s)) : [[words[0]!, words.slice(1).join(' ')]];
      for (const [key, value] of pairs) image.env[key!] = value!;
    } else if (/^volume$/i.test(instruction)) {
      image.volumes.push(...(rest.trim().startsWith('[') ? (JSON.parse(rest) as string[]) : words));
    } else if (/^user$/i.test(instruction)) {
      image.user = words[0];
    }
  }
  return image;
}

const image = imageFacts(read('Dockerfile'));

/**
 * Every directory fxpipe may write in a container running args: FXPIPE_HOME and what goes under it (archive/, the
 * last good answers, cache/), and archive's --to directory.
 */
function writtenPaths(args: string[], env: Record<string, string>): string[] {
  const home = env.FXPIPE_HOME ?? image.env.FXPIPE_HOME;
  expect(home, 'FXPIPE_HOME').toBeDefined();
  expect(posix.isAbsolute(home!), `FXPIPE_HOME ${home} is absolute`).toBe(true);
  const lastGood = env.FXPIPE_LAST_GOOD_DIR ?? posix.join(home!, 'last-good');
  const written = [home!, posix.join(home!, 'archive'), lastGood, posix.join(home!, 'cache')];
  const to = args[0] === 'archive' ? flag(args, '--to') : undefined;
  if (to !== undefined && !to.startsWith('s3://')) written.push(to.replace(/^file:\/\//, ''));
  return written;
}

// --- Compose ---

/** Compose's interpolation of ${NAME:-default}, ${NAME-default} and ${NAME}, with nothing set: the defaults. */
function interpolateDefaults(text: string): string {
  return text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}/g, (_, fallback: string | undefined) => fallback ?? '');
}

const compose = parse(interpolateDefaults(read('docker-compose.yml')), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const namedVolumes = new Set(Object.keys(compose.volumes ?? {}));

function environment(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
  return Object.fromEntries(env.map((item) => [item.slice(0, item.indexOf('=')), item.slice(item.indexOf('=') + 1)]));
}

const words = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(/\s+/) : [];
const replicas = (service: ComposeService): number => service.deploy?.replicas ?? 1;

interface Mount {
  kind: 'named volume' | 'anonymous volume' | 'bind' | 'tmpfs';
  source: string | undefined;
  target: string;
}

function mounts(service: ComposeService): Mount[] {
  const found: Mount[] = words(service.tmpfs).map((target) => ({ kind: 'tmpfs', source: undefined, target: target.split(':')[0]! }));
  for (const volume of service.volumes ?? []) {
    if (typeof volume === 'string') {
      const [first, second] = volume.split(':');
      if (second === undefined) found.push({ kind: 'anonymous volume', source: undefined, target: first! });
      else found.push({ kind: /^[./~]/.test(first!) ? 'bind' : 'named volume', source: first, target: second });
    } else {
      const kind =
        volume.type === 'volume' ? (volume.source ? 'named volume' : 'anonymous volume') : volume.type === 'tmpfs' ? 'tmpfs' : 'bind';
      found.push({ kind, source: volume.source, target: volume.target });
    }
  }
  return found;
}

/** The mount a path is written to: the deepest one holding it. */
function mountHolding(all: Mount[], file: string): Mount | undefined {
  return all.filter((mount) => isWithin(file, mount.target)).sort((a, b) => b.target.length - a.target.length)[0];
}

const fxpipeServices = Object.entries(services).filter(([, service]) => {
  const build = typeof service.build === 'string' ? { context: service.build } : service.build;
  if (build === undefined) return false;
  return path.resolve(examples, build.context, build.dockerfile ?? 'Dockerfile') === path.join(examples, 'Dockerfile');
});
const running = (command: string) => fxpipeServices.filter(([, service]) => words(service.command)[0] === command);
const postgresServices = Object.entries(services).filter(([, service]) => /^postgres(:|$)/.test(service.image ?? ''));

/** The text of the file bind-mounted at target in service. */
function mountedFile(service: ComposeService, target: string): string {
  const mount = mounts(service).find((each) => each.target === target);
  expect(mount?.kind, `a file mounted at ${target}`).toBe('bind');
  return readFileSync(path.resolve(examples, mount!.source!), 'utf8');
}

/** libpq's multi-host URI (postgres://user:pw@host1:port1,host2:port2/db?params): its hosts and parameters. */
function multiHost(url: string): { hosts: string[]; database: string; params: URLSearchParams } {
  const match = /^postgres(?:ql)?:\/\/(?:[^@/]*@)?([^/?]+)\/([^?]*)(?:\?(.*))?$/.exec(url);
  expect(match, `a PostgreSQL URL: ${url.replace(/:[^:@/]*@/, ':***@')}`).not.toBeNull();
  return { hosts: match![1]!.split(','), database: match![2]!, params: new URLSearchParams(match![3] ?? '') };
}

describe('the container image', () => {
  it('keeps FXPIPE_HOME on a volume, not under /tmp, and runs as a user other than root', () => {
    const home = image.env.FXPIPE_HOME!;
    expect(home).toBeDefined();
    expect(isWithin(home, '/tmp') || isWithin(home, '/var/tmp')).toBe(false);
    expect(image.volumes.some((volume) => isWithin(home, volume))).toBe(true);
    expect(image.user).toBeDefined();
    expect(['root', '0']).not.toContain(image.user);
  });
});

describe('docker-compose.yml', () => {
  it('runs a PostgreSQL primary and a hot standby that pg_basebackup -R makes from it, with the role and pg_hba line it needs', () => {
    const initScript = (service: ComposeService) =>
      mounts(service).find((mount) => mount.target.startsWith('/docker-entrypoint-initdb.d/'));
    const primary = postgresServices.find(([, service]) => initScript(service) !== undefined);
    const standby = postgresServices.find(([, service]) => words(service.entrypoint).some((word) => word.endsWith('.sh')));
    expect(primary, 'a postgres service with an init script').toBeDefined();
    expect(standby, 'a postgres service with an entrypoint script').toBeDefined();
    const [primaryName, primaryService] = primary!;
    const [, standbyService] = standby!;

    const init = mountedFile(primaryService, initScript(primaryService)!.target);
    const role = /create role (\w+) with replication login/i.exec(init)?.[1];
    expect(role, 'a role WITH REPLICATION LOGIN').toBeDefined();
    expect(init).toMatch(new RegExp(`host replication ${role} all scram-sha-256\\\\n'? *>>"\\$PGDATA/pg_hba\\.conf"`));

    const entrypoint = words(standbyService.entrypoint).find((word) => word.endsWith('.sh'))!;
    const script = mountedFile(standbyService, entrypoint).replace(/\\\n\s*/g, '');
    const basebackup = script.split('\n').find((line) => /^\s*[^#\s].*\bpg_basebackup\b/.test(line));
    expect(basebackup).toBeDefined();
    expect(basebackup).toMatch(/--write-recovery-conf|\s-R\b/);
    expect(basebackup).toMatch(/--wal-method stream|\s-X\s*stream/);
    expect(basebackup).toContain(`--username ${role}`);
    expect(basebackup).toContain('--host "$PRIMARY_HOST"');
    expect(environment(standbyService).PRIMARY_HOST).toBe(primaryName);
    expect(script).toMatch(/exec docker-entrypoint\.sh postgres/);

    // Each server's data directory on a named volume of its own.
    const dataVolume = (service: ComposeService) =>
      mountHolding(mounts(service), environment(service).PGDATA ?? '/var/lib/postgresql/data');
    for (const service of [primaryService, standbyService]) {
      expect(dataVolume(service)?.kind).toBe('named volume');
      expect(namedVolumes.has(dataVolume(service)!.source!)).toBe(true);
      expect(words(service.healthcheck?.test).join(' ')).toContain('pg_isready');
    }
    expect(dataVolume(primaryService)!.source).not.toBe(dataVolume(standbyService)!.source);
  });

  it('runs one `schedule` and two `serve` replicas, health-checked on /healthz and balanced by a proxy that checks /healthz', () => {
    expect(running('schedule').map(([, service]) => replicas(service))).toEqual([1]);
    const serves = running('serve');
    expect(serves.reduce((sum, [, service]) => sum + replicas(service), 0)).toBe(2);
    for (const [, service] of serves) {
      const args = words(service.command);
      const port = flag(args, '--port') ?? '8080';
      expect(['0.0.0.0', '::', '*']).toContain(flag(args, '--listen'));
      expect(words(service.healthcheck?.test).join(' ')).toMatch(new RegExp(`http://(127\\.0\\.0\\.1|localhost):${port}/healthz\\b`));
    }

    const [serveName, serveService] = serves[0]!;
    const port = flag(words(serveService.command), '--port') ?? '8080';
    const balancer = Object.values(services).find((service) => mounts(service).some((mount) => mount.target.endsWith('/haproxy.cfg')));
    expect(balancer, 'a load balancer in front of serve').toBeDefined();
    expect(words(balancer!.ports).length).toBeGreaterThan(0);
    const config = mountedFile(balancer!, mounts(balancer!).find((mount) => mount.target.endsWith('/haproxy.cfg'))!.target)
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim());
    expect(config).toContain('option httpchk GET /healthz');
    expect(config).toContain('http-check expect status 200');
    const servers = config.filter((line) => /^server(-template)?\s/.test(line));
    expect(servers.length).toBeGreaterThan(0);
    for (const line of servers) expect(line).toMatch(new RegExp(`\\s${serveName}:${port}\\s.*\\bcheck\\b`));
  });

  it('keeps every path fxpipe writes (FXPIPE_HOME, archive/, last-good/, cache/, --to) on a named volume in every fxpipe service', () => {
    expect(fxpipeServices.length).toBeGreaterThanOrEqual(2);
    for (const [name, service] of fxpipeServices) {
      const all = mounts(service);
      for (const file of writtenPaths(words(service.command), environment(service))) {
        const mount = mountHolding(all, file);
        expect({ service: name, file, kind: mount?.kind }).toEqual({ service: name, file, kind: 'named volume' });
        expect(namedVolumes.has(mount!.source!), `${name}: volume ${mount!.source} is declared`).toBe(true);
      }
    }
    expect(running('archive').length, 'an archive service, to run with `compose run`').toBe(1);
  });

  it('writes through the read-write host among primary and standby, and serve reads from the standby first', () => {
    const servers = postgresServices.map(([name]) => `${name}:5432`).sort();
    expect(servers).toHaveLength(2);
    const target = (name: string, value: string | undefined) => {
      const url = multiHost(value ?? '');
      return { name, hosts: [...url.hosts].sort(), attrs: url.params.get('target_session_attrs') };
    };
    for (const [name, service] of fxpipeServices) {
      expect(target(name, environment(service).DATABASE_URL)).toEqual({ name, hosts: servers, attrs: 'read-write' });
    }
    for (const [name, service] of running('serve')) {
      expect(target(name, environment(service).FXPIPE_READ_DATABASE_URL)).toEqual({ name, hosts: servers, attrs: 'prefer-standby' });
    }
  });
});

// --- Kubernetes ---

const manifests: Manifest[] = readdirSync(path.join(examples, 'kubernetes'))
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(read('kubernetes', file)).map((document): Manifest => {
      expect(document.errors, file).toEqual([]);
      return document.toJS() as Manifest;
    }),
  );
const ofKind = (kind: string) => manifests.filter((manifest) => manifest.kind === kind);

/** The pod template of a workload. */
function podTemplate(workload: Manifest): PodTemplate {
  const template = workload.kind === 'CronJob' ? workload.spec?.jobTemplate?.spec.template : workload.spec?.template;
  expect(template, `${workload.metadata.name}: a pod template`).toBeDefined();
  return template!;
}

/** The fxpipe containers of every workload, with the fxpipe command each runs. */
const fxpipeContainers = manifests
  .filter((manifest) => ['Deployment', 'StatefulSet', 'CronJob', 'Job'].includes(manifest.kind))
  .flatMap((workload) =>
    podTemplate(workload)
      .spec.containers.filter((container) => /fxpipe/.test(container.image))
      .map((container) => ({ workload, container })),
  );

/** The value an env entry gives: its value, or the Secret key it names. */
function envValue(container: Container, name: string): string | undefined {
  const entry = container.env?.find((each) => each.name === name);
  if (entry?.value !== undefined) return String(entry.value);
  const ref = entry?.valueFrom?.secretKeyRef;
  if (!ref) return undefined;
  const secret = ofKind('Secret').find((each) => each.metadata.name === ref.name);
  return secret?.stringData?.[ref.key];
}

/** The container port a probe or Service names (by name or number). */
function containerPort(container: Container, port: string | number | undefined): number | undefined {
  return container.ports?.find((each) => each.name === port || each.containerPort === port)?.containerPort;
}

describe('kubernetes/', () => {
  it('runs serve as a Deployment of 2 replicas behind a Service, ready on /healthz, never restarted for answering 503', () => {
    const serves = fxpipeContainers.filter(({ container }) => container.args?.[0] === 'serve');
    expect(serves).toHaveLength(1);
    const { workload, container } = serves[0]!;
    expect(workload.kind).toBe('Deployment');
    expect(workload.spec?.replicas).toBe(2);
    const args = container.args!;
    const port = Number(flag(args, '--port') ?? 8080);
    expect(['0.0.0.0', '::', '*']).toContain(flag(args, '--listen'));

    const readiness = container.readinessProbe?.httpGet;
    expect(readiness?.path).toBe('/healthz');
    expect(containerPort(container, readiness?.port)).toBe(port);
    // Liveness: the port, or /healthz given long enough that an outage does not restart it.
    const liveness = container.livenessProbe;
    expect(liveness?.httpGet ?? liveness?.tcpSocket).toBeDefined();
    if (liveness?.httpGet) {
      expect(liveness.httpGet.path).toBe('/healthz');
      expect((liveness.failureThreshold ?? 3) * (liveness.periodSeconds ?? 10)).toBeGreaterThanOrEqual(120);
    } else {
      expect(containerPort(container, liveness?.tcpSocket?.port)).toBe(port);
    }

    const labels = podTemplate(workload).metadata?.labels ?? {};
    const selects = (each: Manifest) => Object.entries(each.spec?.selector ?? {}).every(([key, value]) => labels[key] === value);
    const service = ofKind('Service').find(selects);
    expect(service, 'a Service selecting the serve pods').toBeDefined();
    expect((service!.spec?.ports ?? []).map((each) => containerPort(container, each.targetPort))).toEqual([port]);
  });

  it('keeps FXPIPE_HOME, archive/ and last-good/ of serve, schedule and archive on claims (ReadWriteMany where pods share one)', () => {
    const writers = fxpipeContainers.filter(({ container }) => ['serve', 'schedule', 'archive'].includes(container.args?.[0] ?? ''));
    expect(writers.map(({ container }) => container.args![0]).sort()).toEqual(['archive', 'schedule', 'serve']);
    const claimPods = new Map<string, Map<string, number>>(); // claim → workload → its pods
    for (const { workload, container } of writers) {
      const env = Object.fromEntries((container.env ?? []).flatMap((each) => (each.value === undefined ? [] : [[each.name, each.value]])));
      for (const file of writtenPaths(container.args!, env)) {
        const mount = (container.volumeMounts ?? [])
          .filter((each) => isWithin(file, each.mountPath))
          .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
        const volume = podTemplate(workload).spec.volumes?.find((each) => each.name === mount?.name);
        const claim = volume?.persistentVolumeClaim?.claimName;
        const name = workload.metadata.name;
        expect({ name, file, claim: claim !== undefined }).toEqual({ name, file, claim: true });
        expect(
          ofKind('PersistentVolumeClaim').some((each) => each.metadata.name === claim),
          `claim ${claim} is defined`,
        ).toBe(true);
        claimPods.set(
          claim!,
          (claimPods.get(claim!) ?? new Map<string, number>()).set(workload.metadata.name, workload.spec?.replicas ?? 1),
        );
      }
    }
    for (const [claim, workloads] of claimPods) {
      const pods = [...workloads.values()].reduce((sum, count) => sum + count, 0);
      const modes = ofKind('PersistentVolumeClaim').find((each) => each.metadata.name === claim)!.spec?.accessModes;
      if (pods > 1) expect(modes, `${claim} is mounted by several pods`).toContain('ReadWriteMany');
    }
  });

  it("gives every fxpipe workload the multi-host URLs: writes read-write, serve's reads prefer-standby", () => {
    expect(fxpipeContainers.length).toBeGreaterThanOrEqual(3);
    for (const { workload, container } of fxpipeContainers) {
      const url = multiHost(envValue(container, 'DATABASE_URL') ?? '');
      expect({ workload: workload.metadata.name, many: url.hosts.length > 1, attrs: url.params.get('target_session_attrs') }).toEqual({
        workload: workload.metadata.name,
        many: true,
        attrs: 'read-write',
      });
      if (container.args?.[0] !== 'serve') continue;
      const read = multiHost(envValue(container, 'FXPIPE_READ_DATABASE_URL') ?? '');
      expect(read.params.get('target_session_attrs')).toBe('prefer-standby');
      expect([...read.hosts].sort()).toEqual([...url.hosts].sort());
    }
  });
});

// --- systemd ---

/** A unit file's [Service] settings (the last value of each key, as systemd takes it for these keys). */
function serviceSection(unit: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  let section = '';
  for (const line of unit.split('\n').map((each) => each.trim())) {
    if (/^\[.*\]$/.test(line)) section = line;
    else if (section === '[Service]' && /^[A-Za-z]+=/.test(line)) {
      const key = line.slice(0, line.indexOf('='));
      settings.set(key, [...(settings.get(key) ?? []), line.slice(key.length + 1)]);
    }
  }
  return settings;
}

describe('systemd/', () => {
  it("runs serve with Restart=always, FXPIPE_HOME in its StateDirectory, the same as the run's", () => {
    const serve = serviceSection(read('systemd', 'fxpipe-serve.service'));
    const run = serviceSection(read('systemd', 'fxpipe.service'));
    expect(serve.get('Restart')).toEqual(['always']);
    expect(serve.get('ExecStart')?.[0]).toMatch(/\bfxpipe serve\b/);
    for (const unit of [serve, run]) {
      expect(unit.get('StateDirectory')).toEqual(['fxpipe']);
      expect(unit.get('Environment')).toContain('FXPIPE_HOME=%S/fxpipe');
    }
  });
});
