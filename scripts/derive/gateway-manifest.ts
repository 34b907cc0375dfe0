import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientSupergraphFile, type ClientConfig } from '../../gateway/clients/index.js';
import { clientVariable } from '../../gateway/settings.js';
import { METRICS_PORT_OFFSET } from '../../kit/process/config.js';

/** The ConfigMap of a client's releases (kustomization.yaml generates it from deploy/kubernetes/base/releases/<client>/). */
export const releasesConfigMap = (client: ClientConfig) => `patchbay-releases-${client.name}`;

/**
 * A client's gateway on Kubernetes: Deployment, Service, PodDisruptionBudget and autoscaler,
 * alike for every client but for its name, ports and supergraph; Redis only for a client
 * that registers APQ (a safelisted one has none to share); its app releases, when it has any,
 * mounted from a ConfigMap.
 */
export function gatewayManifest(client: ClientConfig, hasReleases = false): string {
  const name = `gateway-${client.name}`;
  const port = client.defaultPort;
  const metricsPort = port + METRICS_PORT_OFFSET;
  const supergraph = basename(fileURLToPath(clientSupergraphFile(client)));
  const secret = (key: string) => `            - name: ${key}
              valueFrom:
                secretKeyRef:
                  name: patchbay-secrets
                  key: ${key}`;
  return `# The ${client.name} gateway (gateway/clients/${client.name}.ts): its schema, limits and query policy.
# Written by \`npm run derive\` from the client list; change the template in scripts/derive/gateway-manifest.ts.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: ${name}
    app.kubernetes.io/component: gateway
spec:
  replicas: 2
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: ${name}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ${name}
        app.kubernetes.io/component: gateway
      annotations:
        prometheus.io/scrape: 'true'
        prometheus.io/port: '${metricsPort}'
        prometheus.io/path: /metrics
    spec:
      automountServiceAccountToken: false
      # preStop (5 s) + the process's own drain (SHUTDOWN_DRAIN_MS, 5 s) + in-flight requests.
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        runAsGroup: 1000
        seccompProfile:
          type: RuntimeDefault
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: ${name}
      containers:
        - name: gateway
          image: patchbay
          args: ['dist/gateway/index.js', '${client.name}']
          ports:
            - name: http
              containerPort: ${port}
            - name: metrics
              containerPort: ${metricsPort}
          envFrom:
            - configMapRef:
                name: patchbay-config
            # This deployment's own settings (issuer, origins, upstream endpoints): the overlay's deployment.env.
            - configMapRef:
                name: patchbay-deployment
            - configMapRef:
                name: patchbay-gateway-config
          env:
            # The heap below the memory limit, so V8 collects before the container is killed.
            - name: NODE_OPTIONS
              value: --max-old-space-size=512
            - name: ${clientVariable(client, 'GATEWAY_PORT')}
              value: '${port}'
            - name: ${clientVariable(client, 'SUPERGRAPH_PATH')}
              value: /etc/patchbay/supergraphs/${supergraph}${
                hasReleases
                  ? `
            # The app releases still served (npm run release), watched: an edit applies without a restart.
            - name: ${clientVariable(client, 'RELEASES_PATH')}
              value: /etc/patchbay/releases`
                  : ''
              }
${[secret('INTERNAL_TOKEN_SECRET'), secret('JWT_SECRET'), ...(client.safelist ? [] : [secret('REDIS_URL')])].join('\n')}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 2
            failureThreshold: 30
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          lifecycle:
            preStop:
              exec:
                command: ['sleep', '5']
          resources:
            requests:
              cpu: 500m
              memory: 256Mi
            limits:
              memory: 768Mi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ['ALL']
          volumeMounts:
            - name: tmp
              mountPath: /tmp
            - name: supergraphs
              mountPath: /etc/patchbay/supergraphs
              readOnly: true${
                hasReleases
                  ? `
            - name: releases
              mountPath: /etc/patchbay/releases
              readOnly: true`
                  : ''
              }
      volumes:
        - name: tmp
          emptyDir: {}
        - name: supergraphs
          configMap:
            name: patchbay-supergraphs${
              hasReleases
                ? `
        - name: releases
          configMap:
            name: ${releasesConfigMap(client)}`
                : ''
            }
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: ${name}
    app.kubernetes.io/component: gateway
spec:
  selector:
    app.kubernetes.io/name: ${name}
  ports:
    - name: http
      port: ${port}
      targetPort: http
    - name: metrics
      port: ${metricsPort}
      targetPort: metrics
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/component: gateway
spec:
  minAvailable: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: ${name}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/component: gateway
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: ${name}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
`;
}
