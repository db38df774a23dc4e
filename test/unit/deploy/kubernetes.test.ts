/**
 * config/kubernetes/deployment.yaml: probes on the right paths and port, a grace period above the
 * shutdown deadline, resources that follow the memory plan, a non-root pod without an API token,
 * config from a ConfigMap and the SASL password from the Secret in secret.yaml, the output on a
 * claim, a Service for /metrics, and pods scraped once. config/kubernetes/deployment-s3.yaml: the
 * same pod with the lake in a bucket, several replicas, no claim, and a service account for an IAM role.
 */
import { CONFIG_ENV, configDefault, loadYaml, loadYamlDocuments, readRepoFile } from './artefacts';

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}

interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; resourceFieldRef?: { containerName?: string; resource: string; divisor?: string } } }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}

interface PodSpec {
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: { runAsUser?: number; runAsGroup?: number; runAsNonRoot?: boolean; fsGroup?: number; fsGroupChangePolicy?: string };
  containers: Container[];
  volumes?: { name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: { sizeLimit?: string } }[];
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  automountServiceAccountToken?: boolean;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    strategy?: { type: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    selector?: { matchLabels: Record<string, string> } | Record<string, string>;
    template?: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec };
    ports?: { name?: string; port: number; targetPort: string | number }[];
  };
}

const manifests = loadYamlDocuments('config', 'kubernetes', 'deployment.yaml') as Manifest[];
const secretManifests = loadYamlDocuments('config', 'kubernetes', 'secret.yaml') as Manifest[];
const s3Manifests = loadYamlDocuments('config', 'kubernetes', 'deployment-s3.yaml') as Manifest[];
const operatorManifests = [...loadYamlDocuments('config', 'kubernetes', 'servicemonitor.yaml'), ...loadYamlDocuments('config', 'kubernetes', 'prometheusrule.yaml')] as Manifest[];
const MIB = 1024 * 1024;

function one(kind: string, from: readonly Manifest[] = manifests): Manifest {
  const found = from.filter((manifest) => manifest.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

const deployment = one('Deployment');
const configMap = one('ConfigMap');
const secret = one('Secret', secretManifests);
const pod = deployment.spec?.template?.spec as PodSpec;
const container = pod.containers[0];
const settings = configMap.data ?? {};

function setting(env: string): string {
  return settings[env] ?? String(configDefault(env));
}

/** Kubernetes quantity to bytes (Mi, Gi, M, G, plain). */
function bytes(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (!match) throw new Error(`unsupported quantity ${quantity}`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, K: 1e3, M: 1e6, G: 1e9 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * unit;
}

function probePort(probe: Probe | undefined): number | undefined {
  const port = probe?.httpGet?.port;
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

describe('Kubernetes example', () => {
  it('holds a ConfigMap, a PersistentVolumeClaim, a Deployment and a Service; the Secret is in its own file', () => {
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'Service']);
    expect(secretManifests.map((m) => m.kind)).toEqual(['Secret']);
    expect(secret.metadata.labels).toEqual(deployment.metadata.labels);
  });

  it('runs one replica of one container', () => {
    expect(deployment.spec?.replicas).toBe(1);
    expect(pod.containers).toHaveLength(1);
  });

  it('probes liveness on /healthz and readiness on /readyz, on the port the collector listens on', () => {
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    const port = Number(setting('HTTP_PORT'));
    expect(probePort(container.livenessProbe)).toBe(port);
    expect(probePort(container.readinessProbe)).toBe(port);
    expect(probePort(container.startupProbe)).toBe(port);
  });

  it('counts a pod as started once it is ready (/healthz answers 200 from the first moment), within minutes', () => {
    expect(container.startupProbe?.httpGet?.path).toBe('/readyz');
    const windowSeconds = (container.startupProbe?.periodSeconds ?? 10) * (container.startupProbe?.failureThreshold ?? 3);
    expect(windowSeconds).toBeGreaterThanOrEqual(120);
    expect(windowSeconds).toBeLessThanOrEqual(600);
  });

  it('limits CPU, and sizes the encoder threads from that limit through the downward API', () => {
    expect(container.resources?.limits?.cpu).toBeDefined();
    const threads = container.env?.find((entry) => entry.name === 'ENCODER_THREADS');
    expect(threads?.valueFrom?.resourceFieldRef).toEqual({ containerName: container.name, resource: 'limits.cpu', divisor: '1' });
    expect(CONFIG_ENV.has('ENCODER_THREADS')).toBe(true);
  });

  it('bounds /tmp, the only writable path besides the output', () => {
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir?.sizeLimit).toMatch(/^\d+(Mi|Gi)$/);
  });

  it('labels everything with the standard labels and lets a drain evict one pod at a time', () => {
    const standard = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/part-of', 'app.kubernetes.io/version'];
    for (const manifest of [...manifests, ...secretManifests, ...operatorManifests, ...s3Manifests]) expect({ kind: manifest.kind, labels: Object.keys(manifest.metadata.labels ?? {}).sort() }).toEqual({ kind: manifest.kind, labels: [...standard].sort() });
    const budget = one('PodDisruptionBudget') as Manifest & { spec: { maxUnavailable?: number; selector?: unknown } };
    expect(budget.spec.maxUnavailable).toBe(1);
    expect(budget.spec.selector).toEqual(deployment.spec?.selector);
  });

  it('has an optional ServiceMonitor on the Service\'s port and a PrometheusRule holding alerts.yml\'s rules', () => {
    const monitor = one('ServiceMonitor', operatorManifests) as Manifest & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } };
    expect(monitor.spec.selector.matchLabels).toEqual(one('Service').spec?.selector);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: one('Service').spec?.ports?.[0]?.name, path: '/metrics' })]);
    const rule = one('PrometheusRule', operatorManifests) as Manifest & { spec: { groups: unknown } };
    expect(rule.spec.groups).toEqual((loadYaml('config', 'prometheus', 'alerts.yml') as { groups: unknown }).groups);
  });

  it('gives the graceful stop more time than SHUTDOWN_DEADLINE_MS before the kubelet kills the pod', () => {
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    expect(grace).toBe(30);
    expect(grace).toBeGreaterThan(Number(setting('SHUTDOWN_DEADLINE_MS')) / 1000);
  });

  it('has memory requests and limits as the memory plan\'s arithmetic in the manifest says', () => {
    const budget = Number(setting('MEMORY_BUDGET_BYTES'));
    const limit = bytes(container.resources?.limits?.memory ?? '0');
    const request = bytes(container.resources?.requests?.memory ?? '0');
    // The runtime on top of the budget measured 124 to 133 MiB (docs/performance.md, Memory).
    expect(request).toBeGreaterThanOrEqual(budget + 133 * MIB);
    expect(request).toBe(budget + 256 * MIB);
    expect(limit).toBe(2 * budget + 256 * MIB);
    expect(container.resources?.requests?.cpu).toBeDefined();
  });

  it('runs as uid 1000, not root, without privilege escalation or an API token', () => {
    expect(pod.securityContext).toMatchObject({ runAsUser: 1000, runAsNonRoot: true, fsGroup: 1000 });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  it('takes its settings from the ConfigMap, all of them variables the collector reads', () => {
    expect(container.envFrom).toContainEqual({ configMapRef: { name: configMap.metadata.name } });
    for (const key of Object.keys(settings)) expect({ key, known: CONFIG_ENV.has(key) }).toEqual({ key, known: true });
  });

  it('takes the SASL password from the Secret, never from the ConfigMap', () => {
    expect(settings).not.toHaveProperty('SASL_PASSWORD');
    const password = container.env?.find((entry) => entry.name === 'SASL_PASSWORD');
    expect(password?.valueFrom?.secretKeyRef?.name).toBe(secret.metadata.name);
    expect(Object.keys(secret.stringData ?? {})).toContain(password?.valueFrom?.secretKeyRef?.key);
    expect(CONFIG_ENV.get('SASL_PASSWORD')?.key).toBe('kafka.saslPassword');
  });

  it('does not re-chown the whole lake at every mount', () => {
    expect(pod.securityContext?.fsGroupChangePolicy).toBe('OnRootMismatch');
  });

  it('writes OUTPUT_DIR on the PersistentVolumeClaim', () => {
    const mount = container.volumeMounts?.find((m) => m.mountPath === setting('OUTPUT_DIR'));
    expect(mount).toBeDefined();
    const volume = pod.volumes?.find((v) => v.name === mount?.name);
    expect(volume?.persistentVolumeClaim?.claimName).toBe(one('PersistentVolumeClaim').metadata.name);
  });

  it('exposes /metrics through a Service selecting the pods, and annotates the pods, not the Service, for scraping', () => {
    const service = one('Service');
    const labels = deployment.spec?.template?.metadata.labels ?? {};
    expect(labels).toMatchObject((service.spec?.selector ?? {}) as Record<string, string>);
    // The selector picks the pods by their stable labels; a Deployment's selector cannot change,
    // so the version label stays out of it.
    const matchLabels = (deployment.spec?.selector as { matchLabels: Record<string, string> }).matchLabels;
    expect(labels).toMatchObject(matchLabels);
    expect(Object.keys(matchLabels).sort()).toEqual(['app.kubernetes.io/instance', 'app.kubernetes.io/name']);
    const port = service.spec?.ports?.[0];
    expect(port?.targetPort === 'http' || Number(port?.targetPort) === Number(setting('HTTP_PORT'))).toBe(true);
    const annotations = deployment.spec?.template?.metadata.annotations ?? {};
    expect(annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': setting('HTTP_PORT'), 'prometheus.io/path': '/metrics' });
    // Both annotated: a Prometheus with the pod and the service-endpoints jobs scrapes each pod twice.
    const scraped = manifests.filter((manifest) => Object.keys({ ...manifest.metadata.annotations, ...manifest.spec?.template?.metadata.annotations }).some((key) => key.startsWith('prometheus.io/')));
    expect(scraped.map((manifest) => manifest.kind)).toEqual(['Deployment']);
  });
});

describe('Kubernetes example of replicas on S3', () => {
  const s3Deployment = one('Deployment', s3Manifests);
  const s3Pod = s3Deployment.spec?.template?.spec as PodSpec;
  const s3Container = s3Pod.containers[0];
  const s3Settings = one('ConfigMap', s3Manifests).data ?? {};
  const account = one('ServiceAccount', s3Manifests);

  it('holds a ServiceAccount, a ConfigMap, a Deployment, a PodDisruptionBudget and a Service, and no PersistentVolumeClaim', () => {
    expect(s3Manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Service', 'ServiceAccount']);
    expect(s3Pod.volumes?.filter((volume) => volume.persistentVolumeClaim !== undefined)).toEqual([]);
  });

  it('writes to a bucket, with every other setting as in deployment.yaml', () => {
    expect(new URL(s3Settings.OUTPUT_DIR).protocol).toBe('s3:');
    expect({ ...s3Settings, OUTPUT_DIR: 's3' }).toEqual({ ...settings, OUTPUT_DIR: 's3' });
    for (const key of Object.keys(s3Settings)) expect({ key, known: CONFIG_ENV.has(key) }).toEqual({ key, known: true });
  });

  it('runs several replicas of the same pod, rolled one at a time', () => {
    expect(s3Deployment.spec?.replicas).toBeGreaterThanOrEqual(2);
    expect(s3Deployment.spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(s3Deployment.spec?.selector).toEqual(deployment.spec?.selector);
    expect(s3Deployment.spec?.template?.metadata).toEqual(deployment.spec?.template?.metadata);
    expect(s3Pod.terminationGracePeriodSeconds).toBe(pod.terminationGracePeriodSeconds);
    // Probes, limits, image, ports and the container's security context are deployment.yaml's.
    const { env: s3Env, volumeMounts: s3Mounts, ...s3Rest } = s3Container;
    const { env: diskEnv, volumeMounts: diskMounts, ...diskRest } = container;
    expect(s3Rest).toEqual(diskRest);
    expect(s3Env?.filter((entry) => entry.name !== 'AWS_REGION')).toEqual(diskEnv);
    expect(s3Mounts).toEqual(diskMounts?.filter((mount) => mount.mountPath !== setting('OUTPUT_DIR')));
    expect(one('PodDisruptionBudget', s3Manifests)).toEqual(one('PodDisruptionBudget'));
    expect(one('Service', s3Manifests)).toEqual(one('Service'));
  });

  it('mounts nothing but a bounded /tmp', () => {
    expect(s3Container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(s3Pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: expect.stringMatching(/^\d+(Mi|Gi)$/) } }]);
  });

  it('takes credentials from an IAM role for its named service account, never from a key in the manifest', () => {
    expect(s3Pod.serviceAccountName).toBe(account.metadata.name);
    expect(account.metadata.annotations?.['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\/[\w+=,.@-]+$/);
    const named = [...Object.keys(s3Settings), ...(s3Container.env ?? []).map((entry) => entry.name)];
    expect(named.filter((name) => /^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|ROLE_ARN|WEB_IDENTITY_TOKEN_FILE)$/.test(name))).toEqual([]);
    expect(readRepoFile('config', 'kubernetes', 'deployment-s3.yaml')).not.toMatch(/AKIA[0-9A-Z]{16}/);
  });

  it('mounts a service account token in these pods only, for the web identity, as uid 1000 with the token readable by its group', () => {
    expect(s3Pod.automountServiceAccountToken).toBe(true);
    expect(account.automountServiceAccountToken).toBe(false);
    expect(s3Pod.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 1000, runAsNonRoot: true, fsGroup: 1000 });
  });

  it('sets the bucket\'s region in env, where EKS\'s injected region cannot win over it', () => {
    expect(s3Settings).not.toHaveProperty('AWS_REGION');
    expect(s3Container.env?.find((entry) => entry.name === 'AWS_REGION')?.value).toMatch(/^[a-z]{2}(-[a-z]+)+-\d$/);
  });
});
