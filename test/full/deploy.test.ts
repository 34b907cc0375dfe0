/**
 * What a platform team deploys, checked where no image can be built or cluster reached:
 * the Dockerfile's build replayed outside a container (test/dockerfile.ts) and its image's
 * programs run in production mode; the Kubernetes manifests rendered by kustomize, validated
 * against the Kubernetes schemas (kubernetes-models) and every Deployment of the production
 * overlay started from the replayed image with exactly the environment it gives;
 * docker-compose.yml's services; the Prometheus rules by promtool.
 */
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { AuthConfig, mintToken } from '../../gateway/auth.js';
import { COMMITTED_SECRETS } from '../../kit/process/committed-secrets.js';

import { listen, type RunningService } from '../../kit/process/service.js';
import { createAccountsSandbox } from '../../sandbox/accounts.js';
import { generateSeed } from '../../sandbox/seed.js';
import { CLIENTS, clientByName } from '../../gateway/clients/index.js';
import { EmailConfig } from '../../subgraphs/email/config.js';
import { MAIL_PROVIDERS } from '../../subgraphs/email/providers.js';
import { StorageConfig } from '../../subgraphs/storage/config.js';
import { s3EventsReceiver } from '../../subgraphs/storage/notifications.js';
import { WEBHOOK_BODY_LIMIT_BYTES } from '../../kit/subgraph/webhooks.js';
import { REGISTRY, SUBGRAPH_NAMES } from '../../subgraphs/registry.js';
import { replayDockerfile, type Stage } from './dockerfile.js';
import { HAS_REDIS, freePort, startRedis, type TestRedis } from '../helpers.js';
import { readReleases } from '../../gateway/releases.js';
import { REPO, bareEnv, runToEnd, startProgram, type RunningProgram } from '../../scripts/programs.js';

const has = (command: string, ...args: string[]) => spawnSync(command, args).status === 0;
const HAS_KUBECTL = has('kubectl', 'version', '--client');
const HAS_PROMTOOL = has('promtool', '--version');
for (const [tool, present, pkg] of [
  ['kubectl', HAS_KUBECTL, 'kubernetes-client'],
  ['promtool', HAS_PROMTOOL, 'prometheus'],
] as const) {
  if (!present) process.stderr.write(`${tool} is not installed (Debian package ${pkg}): its deploy/ checks are skipped\n`);
}

let work: string;
let image: Stage;
const started: RunningProgram[] = [];
let redis: TestRedis | undefined;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'patchbay-image-'));
  const stages = await replayDockerfile(join(REPO, 'Dockerfile'), REPO, work);
  image = stages.at(-1)!;
  redis = HAS_REDIS ? await startRedis() : undefined;
}, 600_000);

afterAll(async () => {
  await Promise.all(started.map((program) => program.stop()));
  redis?.process.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The image's command line for `args` (its ENTRYPOINT, then args), with this machine's node. */
const imageCommand = (args: string[]) => [process.execPath, ...image.entrypoint!.slice(1), ...args];
/** The HEALTHCHECK's command, as the container engine runs it, against `port`. */
const healthcheck = (port: number) =>
  runToEnd([process.execPath, ...image.healthcheck!.command.slice(1)], bareEnv({ ...image.env, HEALTHCHECK_PORT: String(port) }), {
    cwd: image.dir,
  });

describe('the Dockerfile', () => {
  test('builds on Node 22 LTS an image of the compiled programs, production dependencies only, run as a non-root user', () => {
    expect(image.image).toMatch(/^node:22-/);
    expect(image.user).toBeDefined();
    expect(image.user).not.toMatch(/^(root|0)(:|$)/);
    expect(image.env).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0' });
    expect(image.healthcheck?.command).toEqual(['node', 'dist/scripts/healthcheck.js']);
    for (const devOnly of ['tsx', 'typescript', 'jest', 'ts-jest', '@graphql-codegen/cli', 'kubernetes-models']) {
      expect({ devOnly, installed: existsSync(join(image.dir, 'node_modules', devOnly)) }).toEqual({ devOnly, installed: false });
    }
    for (const program of [
      'dist/gateway/index.js',
      'dist/scripts/run-subgraph.js',
      'dist/sandbox/index.js',
      'dist/scripts/healthcheck.js',
      'dist/subgraphs/accounts/schema.graphql',
    ]) {
      expect({ program, present: existsSync(join(image.dir, program)) }).toEqual({ program, present: true });
    }
    // Only what runs: no TypeScript sources, no tests.
    expect(existsSync(join(image.dir, 'gateway'))).toBe(false);
    expect(existsSync(join(image.dir, 'test'))).toBe(false);
  });

  test('its default command refuses development defaults, naming every variable to set', async () => {
    const run = await runToEnd(imageCommand(image.cmd!), bareEnv(image.env), { cwd: image.dir });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('JWT_SECRET: must be set when NODE_ENV=production');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  test('its programs answer a query in production mode, and its HEALTHCHECK tells up from down', async () => {
    const accountsToken = 'accounts-token-of-this-deployment';
    const accountsApi: RunningService = await listen(
      'accounts api',
      createAccountsSandbox({ users: generateSeed({ users: 5 }).users, token: accountsToken }).app,
      '127.0.0.1',
      0,
    );
    try {
      const internal = { INTERNAL_TOKEN_SECRET: 'internal-secret-of-this-deployment-0123456789' };
      const auth = {
        JWT_SECRET: 'jwt-secret-of-this-deployment-0123456789abcdef',
        JWT_ISSUER: 'https://id.example.com/',
        JWT_AUDIENCE: 'patchbay-web',
      };
      const production = { ...image.env, HOST: '127.0.0.1', LOG_LEVEL: 'info', ...internal };
      const subgraphPort = await freePort();
      const subgraph = await startProgram(
        imageCommand(['dist/scripts/run-subgraph.js', 'accounts']),
        bareEnv({
          ...production,
          ACCOUNTS_PORT: String(subgraphPort),
          ACCOUNTS_METRICS_PORT: '0',
          ACCOUNTS_API_URL: accountsApi.url,
          ACCOUNTS_API_TOKEN: accountsToken,
        }),
        { cwd: image.dir },
      );
      started.push(subgraph);
      const gateway = await startProgram(
        imageCommand(['dist/gateway/index.js', 'web']),
        bareEnv({
          ...production,
          ...auth,
          WEB_GATEWAY_PORT: '0',
          WEB_CORS_ORIGINS: 'https://app.example.com',
          ACCOUNTS_SUBGRAPH_URL: `${subgraph.url}/graphql`,
        }),
        { cwd: image.dir },
      );
      started.push(gateway);
      const token = await mintToken(AuthConfig.parse(auth), 'usr_00001', []);
      const response = await fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { id name } }' }),
      });
      expect(await response.json()).toEqual({ data: { me: { id: 'usr_00001', name: expect.any(String) } } });

      expect((await healthcheck(subgraphPort)).status).toBe(0);
      // Given no port, the HEALTHCHECK finds the program's own, in the container's environment.
      const ownPort = await runToEnd(
        [process.execPath, ...image.healthcheck!.command.slice(1)],
        bareEnv({ ...image.env, ACCOUNTS_PORT: String(subgraphPort) }),
        { cwd: image.dir },
      );
      expect({ status: ownPort.status, stderr: ownPort.stderr }).toEqual({ status: 0, stderr: '' });
      expect(await subgraph.stop()).toBe(0);
      expect(await gateway.stop()).toBe(0);
      const down = await healthcheck(subgraphPort);
      expect(down.status).toBe(1);
      expect(down.stderr).toContain(`port ${subgraphPort}`);
    } finally {
      await accountsApi.close();
    }
  }, 60_000);
});

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}

function render(dir: string): K8sObject[] {
  const result = spawnSync('kubectl', ['kustomize', join(REPO, dir)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir}: ${result.stderr}`);
  // kustomize warns of fields it will drop (bases, patchesStrategicMerge, commonLabels ...).
  if (/warning/i.test(result.stderr)) throw new Error(`kubectl kustomize ${dir} warns: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((document) => document.toJSON() as K8sObject);
}

/** The kubernetes-models class of an object's apiVersion and kind (`v1` is the core group). */
async function modelOf(object: K8sObject): Promise<{ new (data: object): { validate(): void } }> {
  const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Record<
    string,
    { new (data: object): { validate(): void } }
  >;
  return module[object.kind]!;
}

const byKind = (objects: K8sObject[], kind: string) => objects.filter((object) => object.kind === kind);
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

(HAS_KUBECTL ? describe : describe.skip)('the Kubernetes manifests', () => {
  const renders: Record<string, K8sObject[]> = {};
  beforeAll(() => {
    for (const dir of ['deploy/kubernetes/base', 'deploy/kubernetes/overlays/production']) renders[dir] = render(dir);
  });
  const production = () => renders['deploy/kubernetes/overlays/production']!;

  test('render, and every object validates against the Kubernetes schemas', async () => {
    for (const [dir, objects] of Object.entries(renders)) {
      expect({ dir, kinds: [...new Set(objects.map((o) => o.kind))].sort() }).toEqual({
        dir,
        kinds: expect.arrayContaining([
          'ConfigMap',
          'Deployment',
          'HorizontalPodAutoscaler',
          'NetworkPolicy',
          'PodDisruptionBudget',
          'Service',
        ]),
      });
      for (const object of objects) {
        const Model = await modelOf(object);
        expect(() => new Model(object).validate()).not.toThrow();
      }
    }
    expect(new Set(production().map((o) => o.metadata.namespace ?? (o.kind === 'Namespace' ? o.metadata.name : undefined)))).toEqual(
      new Set(['patchbay']),
    );
  });

  test('each gateway and subgraph: probes, a drain matching SHUTDOWN_DRAIN_MS, resources, non-root, a Service, a PDB and an HPA', () => {
    for (const objects of Object.values(renders)) {
      const deployments = byKind(objects, 'Deployment');
      // One per client's gateway and per registered subgraph.
      expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
        [...CLIENTS.map((client) => `gateway-${client.name}`), ...SUBGRAPH_NAMES.map((name) => `subgraph-${name}`)].sort(),
      );
      const drainMs = Number(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'patchbay-config')!.data!.SHUTDOWN_DRAIN_MS);
      // Behind the preStop's 5 s: the load balancer stops sending before the process stops accepting.
      expect(drainMs).toBe(5000);
      for (const deployment of deployments) {
        const name = deployment.metadata.name;
        const pod = deployment.spec.template;
        const [container, ...others] = pod.spec.containers;
        expect(others).toEqual([]);
        const ports = Object.fromEntries(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
        expect({ name, metricsPort: ports.metrics }).toEqual({ name, metricsPort: ports.http + 1000 });
        expect({ name, readiness: container.readinessProbe.httpGet, liveness: container.livenessProbe.httpGet }).toEqual({
          name,
          readiness: { path: '/readyz', port: 'http' },
          liveness: { path: '/healthz', port: 'http' },
        });
        const preStopSeconds = Number(container.lifecycle.preStop.exec.command.at(-1));
        expect({ name, preStopMs: preStopSeconds * 1000 }).toEqual({ name, preStopMs: drainMs });
        expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStopSeconds + drainMs / 1000 + 10);
        expect(container.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
        expect(container.resources.limits.memory).toEqual(expect.any(String));
        expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
        expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
        const labels = pod.metadata.labels as Record<string, string>;
        const selecting = (kind: string) =>
          byKind(objects, kind).filter((o) => matches(o.spec.selector.matchLabels ?? o.spec.selector, labels));
        expect({ name, services: selecting('Service').length, budgets: selecting('PodDisruptionBudget').length }).toEqual({
          name,
          services: 1,
          budgets: 1,
        });
        const autoscaler = byKind(objects, 'HorizontalPodAutoscaler').filter((h) => h.spec.scaleTargetRef.name === name);
        expect(autoscaler.map((h) => h.spec.minReplicas >= 2 && h.spec.maxReplicas > h.spec.minReplicas)).toEqual([true]);
      }
    }
  });

  test('secrets are references only, and every ConfigMap a pod names exists', () => {
    for (const objects of Object.values(renders)) {
      expect(byKind(objects, 'Secret')).toEqual([]);
      const configMaps = new Set(byKind(objects, 'ConfigMap').map((c) => c.metadata.name));
      for (const deployment of byKind(objects, 'Deployment')) {
        const container = deployment.spec.template.spec.containers[0];
        for (const variable of container.env as EnvVar[]) {
          expect({ variable: variable.name, committed: COMMITTED_SECRETS.has(variable.value ?? '') }).toEqual({
            variable: variable.name,
            committed: false,
          });
          if (/SECRET|TOKEN|PASSWORD|_KEY|REDIS_URL|SERVICE_ACCOUNT/.test(variable.name)) {
            expect({ variable: variable.name, secretKeyRef: variable.valueFrom?.secretKeyRef?.key }).toEqual({
              variable: variable.name,
              secretKeyRef: variable.name,
            });
          }
        }
        const named = [
          ...container.envFrom.map((source: { configMapRef: { name: string } }) => source.configMapRef.name),
          ...(deployment.spec.template.spec.volumes ?? []).flatMap((volume: { configMap?: { name: string } }) =>
            volume.configMap ? [volume.configMap.name] : [],
          ),
        ];
        for (const name of named)
          expect({ deployment: deployment.metadata.name, configMap: name, exists: configMaps.has(name) }).toEqual({
            deployment: deployment.metadata.name,
            configMap: name,
            exists: true,
          });
      }
    }
  });

  test('only the gateways reach the subgraphs', () => {
    const objects = production();
    const podsOf = (component: string) =>
      byKind(objects, 'Deployment').filter((d) => d.spec.template.metadata.labels['app.kubernetes.io/component'] === component);
    const gatewayLabels = podsOf('gateway').map((d) => d.spec.template.metadata.labels as Record<string, string>);
    for (const subgraph of podsOf('subgraph')) {
      const policies = byKind(objects, 'NetworkPolicy').filter((p) =>
        matches(p.spec.podSelector.matchLabels, subgraph.spec.template.metadata.labels),
      );
      expect(policies.map((p) => p.metadata.name)).toContain('subgraphs-from-gateways');
      for (const policy of policies) expect(policy.spec.policyTypes).toContain('Ingress');
      // Every pod of the namespace allowed in: the gateways, none other.
      const podPeers = policies
        .flatMap((p) =>
          p.spec.ingress.flatMap(
            (rule: { from: Array<{ podSelector?: { matchLabels: Record<string, string> }; namespaceSelector?: unknown }> }) => rule.from,
          ),
        )
        .filter((peer) => peer.podSelector && !peer.namespaceSelector);
      expect(podPeers).not.toEqual([]);
      for (const peer of podPeers) {
        const admitted = byKind(objects, 'Deployment').filter((d) =>
          matches(peer.podSelector!.matchLabels, d.spec.template.metadata.labels),
        );
        expect(admitted.map((d) => d.metadata.name).sort()).toEqual(['gateway-mobile', 'gateway-web']);
      }
    }
    expect(gatewayLabels).toHaveLength(2);
  });

  test("the production Ingresses expose each gateway's /graphql and the providers' webhooks alone, each with its body limit", () => {
    const ingresses = byKind(production(), 'Ingress');
    const routes = (name: string) =>
      ingresses
        .filter((ingress) => ingress.metadata.name === name)
        .flatMap((ingress) =>
          ingress.spec.rules.flatMap(
            (rule: { http: { paths: Array<{ path: string; pathType: string; backend: { service: { name: string } } }> } }) =>
              rule.http.paths.map((path) => `${path.pathType} ${path.path} -> ${path.backend.service.name}`),
          ),
        );
    const bodyLimit = (name: string) => {
      const size = ingresses.find((ingress) => ingress.metadata.name === name)?.metadata.annotations?.[
        'nginx.ingress.kubernetes.io/proxy-body-size'
      ];
      const [, amount, unit] = /^(\d+)([km])$/.exec(size ?? '') ?? [];
      return Number(amount) * (unit === 'm' ? 2 ** 20 : 1024);
    };
    for (const client of CLIENTS) {
      expect(routes(`gateway-${client.name}`)).toEqual([`Exact /graphql -> gateway-${client.name}`]);
      expect({ client: client.name, bodyLimit: bodyLimit(`gateway-${client.name}`) }).toEqual({
        client: client.name,
        bodyLimit: client.maxBodyBytes,
      });
    }
    const webhookPaths = [
      ...MAIL_PROVIDERS.map((provider) => `Exact ${provider.webhook(EmailConfig.parse({}), 300).path} -> subgraph-email`),
      `Exact ${s3EventsReceiver(StorageConfig.parse({})).path} -> subgraph-storage`,
    ];
    expect(routes('provider-webhooks').sort()).toEqual(webhookPaths.sort());
    expect(bodyLimit('provider-webhooks')).toBe(WEBHOOK_BODY_LIMIT_BYTES);
    expect(ingresses.map((ingress) => ingress.metadata.name).sort()).toEqual(
      ['provider-webhooks', ...CLIENTS.map((client) => `gateway-${client.name}`)].sort(),
    );
  });

  test('the gateways serve the supergraphs `npm run compose` wrote, from a ConfigMap', () => {
    const objects = production();
    const supergraphs = byKind(objects, 'ConfigMap').find((c) => c.metadata.name.startsWith('patchbay-supergraphs'))!;
    expect(supergraphs.data!['supergraph.graphql']).toBe(readFileSync(join(REPO, 'schema/supergraph.graphql'), 'utf8'));
    expect(supergraphs.data!['mobile.supergraph.graphql']).toBe(readFileSync(join(REPO, 'schema/mobile.supergraph.graphql'), 'utf8'));
  });

  test('the mobile gateway serves the app releases committed in clients/mobile/releases/, from a ConfigMap it watches', () => {
    const objects = production();
    const releases = byKind(objects, 'ConfigMap').find((c) => c.metadata.name.startsWith('patchbay-releases-mobile'))!;
    const committed = readdirSync(join(REPO, 'clients/mobile/releases')).filter((file) => file.endsWith('.json'));
    expect(Object.keys(releases.data!).sort()).toEqual(committed.sort());
    for (const file of committed) expect(releases.data![file]).toBe(readFileSync(join(REPO, 'clients/mobile/releases', file), 'utf8'));
    const pod = byKind(objects, 'Deployment').find((d) => d.metadata.name === 'gateway-mobile')!.spec.template.spec;
    const path = pod.containers[0].env.find((v: EnvVar) => v.name === 'MOBILE_RELEASES_PATH')?.value;
    const mount = pod.containers[0].volumeMounts.find((m: { mountPath: string }) => m.mountPath === path);
    expect(pod.volumes.find((v: { name: string }) => v.name === mount?.name)?.configMap?.name).toBe(releases.metadata.name);
  });

  test('every Deployment of the production overlay starts from the image with exactly the environment it gives', async () => {
    const objects = production();
    const configMaps = new Map(byKind(objects, 'ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
    const programs = await Promise.all(
      byKind(objects, 'Deployment').map(async (deployment) => {
        const pod = deployment.spec.template.spec;
        const container = pod.containers[0];
        // What the kubelet would mount: each ConfigMap volume as a directory of its keys.
        const mounts: Array<[string, string]> = [];
        for (const mount of container.volumeMounts ?? []) {
          const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
          if (!volume.configMap) continue;
          const dir = join(work, 'mounts', deployment.metadata.name, mount.name);
          mkdirSync(dir, { recursive: true });
          for (const [key, value] of Object.entries(configMaps.get(volume.configMap.name)!)) writeFileSync(join(dir, key), value);
          mounts.push([mount.mountPath, dir]);
        }
        const env: Record<string, string> = {};
        for (const source of container.envFrom) Object.assign(env, configMaps.get(source.configMapRef.name));
        for (const variable of container.env as EnvVar[]) {
          if (variable.value !== undefined)
            env[variable.name] = mounts.reduce((value, [path, dir]) => value.replace(path, dir), variable.value);
          else if (variable.valueFrom?.secretKeyRef) {
            const secret = secretFor(variable.valueFrom.secretKeyRef.key);
            if (secret !== undefined) env[variable.name] = secret;
          }
        }
        // On loopback, on free ports, with spans sent nowhere: the rest is the manifest's.
        const http = container.ports.find((p: { name: string }) => p.name === 'http').containerPort as number;
        const portVariable = Object.keys(env).find((key) => key.endsWith('_PORT') && env[key] === String(http))!;
        expect({ deployment: deployment.metadata.name, portVariable }).toEqual({
          deployment: deployment.metadata.name,
          portVariable: expect.any(String),
        });
        const port = await freePort();
        Object.assign(env, {
          HOST: '127.0.0.1',
          [portVariable]: String(port),
          [portVariable.replace(/(_GATEWAY)?_PORT$/, '_METRICS_PORT')]: String(await freePort()),
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}`,
        });
        const program = await startProgram(imageCommand(container.args), bareEnv({ ...image.env, ...env }), {
          cwd: image.dir,
          readyUrl: `http://127.0.0.1:${port}/readyz`,
        });
        started.push(program);
        return { name: deployment.metadata.name, port, program };
      }),
    );
    for (const { name, port, program } of programs) {
      expect({ name, healthcheck: (await healthcheck(port)).status }).toEqual({ name, healthcheck: 0 });
      expect({ name, refused: /Invalid configuration/.test(program.output()) }).toEqual({ name, refused: false });
    }
    const mobile = programs.find(({ name }) => name === 'gateway-mobile')!;
    const ready = (await (await fetch(`http://127.0.0.1:${mobile.port}/readyz`)).json()) as { releases?: { served: string[] } };
    expect(ready.releases?.served).toEqual(readReleases(join(REPO, 'clients/mobile/releases')).versions);
    const stopped = await Promise.all(programs.map(async ({ name, program }) => ({ name, code: await program.stop() })));
    expect(stopped).toEqual(programs.map(({ name }) => ({ name, code: 0 })));
  }, 120_000);
});

/** A value for each secret the manifests reference, in the shape its variable requires. */
const secrets: Record<string, string | undefined> = {};
function secretFor(key: string): string | undefined {
  if (key in secrets) return secrets[key];
  const random = randomBytes(24).toString('hex');
  const value =
    key === 'REDIS_URL'
      ? redis?.url
      : key === 'SENDGRID_WEBHOOK_PUBLIC_KEY'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64')
        : key === 'MIXPANEL_SERVICE_ACCOUNT'
          ? `patchbay.production:${random}`
          : key === 'S3_ACCESS_KEY_ID'
            ? `AKIA${random.slice(0, 16).toUpperCase()}`
            : random;
  secrets[key] = value;
  return value;
}

describe('docker-compose.yml', () => {
  interface ComposeService {
    build?: string;
    image?: string;
    command?: string[];
    environment?: Record<string, string>;
    healthcheck?: { test: string[] };
    depends_on?: Record<string, { condition: string }>;
  }
  const compose = parseYaml(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
  };
  const ours = Object.entries(compose.services).filter(([, service]) => service.build);
  const defaultPort: Record<string, number> = {
    sandbox: REGISTRY.accounts.providers.accounts.sandboxPort,
    ...Object.fromEntries(SUBGRAPH_NAMES.map((name) => [name, REGISTRY[name].port])),
    ...Object.fromEntries(CLIENTS.map((client) => [`gateway-${client.name}`, client.defaultPort])),
  };

  test('runs every program of the image, each health-checked on its own port, beside Redis, each started once what it needs is healthy', () => {
    expect(ours.map(([name]) => name).sort()).toEqual(Object.keys(defaultPort).sort());
    for (const [name, service] of ours) {
      expect({ name, program: existsSync(join(image.dir, service.command![0]!)) }).toEqual({ name, program: true });
      expect({ name, healthcheck: service.healthcheck?.test }).toEqual({
        name,
        healthcheck: ['CMD', ...image.healthcheck!.command, String(defaultPort[name])],
      });
      expect(service.environment?.REDIS_URL).toBe('redis://redis:6379');
      for (const [needed, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect({ name, needed, condition, checked: Boolean(compose.services[needed]?.healthcheck) }).toEqual({
          name,
          needed,
          condition: 'service_healthy',
          checked: true,
        });
      }
    }
    expect(compose.services.redis?.image).toMatch(/^redis:/);
  });

  (HAS_REDIS ? test : test.skip)(
    'comes up healthy: each service started as compose starts it, in its order, passes its own health check and serves a query',
    async () => {
      // Compose's network, on loopback: a service's name is 127.0.0.1 (each keeps its port), Redis is the test's.
      const onLoopback = (value: string) =>
        value === 'redis://redis:6379'
          ? redis!.url
          : Object.keys(compose.services).reduce((text, host) => text.replaceAll(`//${host}:`, '//127.0.0.1:'), value);
      const healthy = new Set<string>();
      const checkHealth = async (name: string) => {
        const [form, ...command] = compose.services[name]!.healthcheck!.test;
        expect(form).toBe('CMD');
        const env = { ...image.env, ...compose.services[name]!.environment };
        const end = Date.now() + 30_000;
        for (;;) {
          const run = await runToEnd([process.execPath, ...command.slice(1)], bareEnv(env), { cwd: image.dir });
          if (run.status === 0) return void healthy.add(name);
          if (Date.now() > end) throw new Error(`${name} never passed its health check: ${run.stderr}`);
          // As compose does: the next check after an interval.
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      };
      const pending = new Map(ours);
      while (pending.size) {
        const ready = [...pending].filter(([, service]) =>
          Object.keys(service.depends_on ?? {}).every((needed) => healthy.has(needed) || needed === 'redis'),
        );
        expect(ready.length).toBeGreaterThan(0);
        await Promise.all(
          ready.map(async ([name, service]) => {
            pending.delete(name);
            const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, onLoopback(value)]));
            started.push(
              await startProgram(imageCommand(service.command!), bareEnv({ ...image.env, ...env, HOST: '127.0.0.1' }), { cwd: image.dir }),
            );
            await checkHealth(name);
          }),
        );
      }
      expect([...healthy].sort()).toEqual(ours.map(([name]) => name).sort());
      // The development configuration: a token signed with the local secret is accepted.
      const token = await mintToken(AuthConfig.parse({}), 'usr_00001', []);
      const response = await fetch(`http://127.0.0.1:${clientByName('web')!.defaultPort}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: '{ me { id files(first: 1) { nodes { name } } recentEvents(last: 1) { name } } }' }),
      });
      expect(await response.json()).toMatchObject({ data: { me: { id: 'usr_00001' } } });
    },
    120_000,
  );
});

(HAS_PROMTOOL ? describe : describe.skip)('the Prometheus alert rules', () => {
  test('pass `promtool check rules` and their unit tests', async () => {
    const dir = join(REPO, 'deploy/prometheus');
    const check = await runToEnd(['promtool', 'check', 'rules', 'alerts.yml'], bareEnv(), { cwd: dir });
    expect(check.stdout + check.stderr).toContain('SUCCESS');
    expect(check.status).toBe(0);
    const unit = await runToEnd(['promtool', 'test', 'rules', 'alerts.test.yml'], bareEnv(), { cwd: dir });
    expect(unit.stdout + unit.stderr).toContain('SUCCESS');
    expect(unit.status).toBe(0);
  });
});
