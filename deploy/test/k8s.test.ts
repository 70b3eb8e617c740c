// The Kubernetes manifests (deploy/k8s), rendered by `kubectl kustomize` for each overlay and
// checked against each other and against the code: selectors and labels, ports and probe service
// names, every environment variable (a setting the broker reads, with a value its own parser
// accepts), the drain timing, memory sizing, security context, autoscaling and policies.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { LIVENESS_SERVICE, READINESS_SERVICE } from '../../libs/control/src/health.js';
import { SETTINGS } from '../../services/broker/src/settings.js';
import { readDockerfile, REPO, stageNamed } from './helpers/dockerfile.js';
import { RUNTIME_STAGE } from './helpers/image-layout.js';
import { brokerContainer, brokerDeployment, kubectlMissing, named, ofKind, OVERLAYS, renderOverlay, type K8sObject } from './helpers/k8s.js';
import { brokerConfig } from './helpers/k8s-config.js';

// Sizing inputs, from docs/benchmarks.md; docs/kubernetes.md ("Sizing") shows the same arithmetic.
const IDLE_CONNECTION_BYTES = 2_200; // broker RSS per idle WebSocket connection
const SUBSCRIPTIONS_PER_CONNECTION = 5;
const SUBSCRIPTION_BYTES = 800; // RSS per subscription on a destination of its own (0.27 KB when shared)
const KERNEL_SOCKET_BYTES = 8_000; // kernel memory per idle TCP socket (not in RSS, charged to the pod's cgroup)
const PER_CONNECTION_BYTES = IDLE_CONNECTION_BYTES + SUBSCRIPTIONS_PER_CONNECTION * SUBSCRIPTION_BYTES + KERNEL_SOCKET_BYTES;
const PROCESS_BASELINE_BYTES = 81_000_000; // RSS of a node with no client (gRPC libraries loaded)
const SLOW_READERS = 16; // connections allowed to fill STOMPEDE_MAX_PENDING_OUTBOUND_BYTES at once
const LIMIT_HEADROOM = 1.25; // garbage not yet collected, bursts
/** Time a node needs after its last client is gone: close listeners, Redis, the admin server. */
const STOP_MARGIN_SEC = 15;
/** The container ports clients connect to: WebSocket, STOMP over TCP, STOMP over TLS (components/tls). */
const CLIENT_PORTS = ['ws', 'stomp', 'stomp-tls'];

const skip = kubectlMissing();
const SETTING_NAMES = new Set(SETTINGS.map((s) => s.env));

function podLabels(workload: K8sObject): Record<string, string> {
  return workload['spec']['template']['metadata']['labels'];
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function quantityBytes(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|M|G)?$/.exec(q);
  assert.ok(m, `memory quantity ${q}`);
  const unit = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

for (const overlay of OVERLAYS) {
  describe(`deploy/k8s/overlays/${overlay}`, { skip }, () => {
    const objects = skip ? [] : renderOverlay(overlay);
    const deployment = skip ? {} : brokerDeployment(objects);
    const container = skip ? {} : brokerContainer(objects);
    const workloads = [...ofKind(objects, 'Deployment'), ...ofKind(objects, 'StatefulSet')];

    it('labels every object it renders part-of stompede, the generated ones included', () => {
      const unlabelled = objects.filter((o) => o['metadata']['labels']?.['app.kubernetes.io/part-of'] !== 'stompede');
      assert.deepEqual(unlabelled.map((o) => `${o['kind']} ${o['metadata']['name']}`), []);
    });

    it('selects its own pods: workloads, Services, the PDB, policies, spread constraints', () => {
      for (const w of workloads) assert.ok(matches(w['spec']['selector']['matchLabels'], podLabels(w)), `${w['kind']} ${w['metadata']['name']}`);
      for (const service of ofKind(objects, 'Service')) {
        const targets = workloads.filter((w) => matches(service['spec']['selector'], podLabels(w)));
        assert.equal(targets.length, 1, `Service ${service['metadata']['name']} selects one workload`);
        const ports = targets[0]!['spec']['template']['spec']['containers'].flatMap((c: K8sObject) => c['ports'] ?? []) as K8sObject[];
        for (const port of service['spec']['ports'] as K8sObject[]) {
          assert.ok(ports.some((p) => p['name'] === port['targetPort'] || p['containerPort'] === port['targetPort']), `Service ${service['metadata']['name']} port ${port['name']} → ${port['targetPort']}`);
        }
      }
      const pdb = ofKind(objects, 'PodDisruptionBudget');
      assert.equal(pdb.length, 1);
      assert.ok(matches(pdb[0]!['spec']['selector']['matchLabels'], podLabels(deployment)));
      for (const policy of ofKind(objects, 'NetworkPolicy')) {
        assert.ok(workloads.some((w) => matches(policy['spec']['podSelector']['matchLabels'], podLabels(w))), `NetworkPolicy ${policy['metadata']['name']}`);
      }
      const spec = deployment['spec']['template']['spec'];
      for (const c of spec['topologySpreadConstraints'] as K8sObject[]) assert.ok(matches(c['labelSelector']['matchLabels'], podLabels(deployment)));
      for (const t of spec['affinity']['podAntiAffinity']['preferredDuringSchedulingIgnoredDuringExecution'] as K8sObject[]) {
        assert.ok(matches(t['podAffinityTerm']['labelSelector']['matchLabels'], podLabels(deployment)));
      }
      for (const set of ofKind(objects, 'StatefulSet')) {
        assert.equal(named(objects, 'Service', set['spec']['serviceName'])['spec']['clusterIP'], 'None', `StatefulSet ${set['metadata']['name']} has its headless Service`);
      }
    });

    it("exposes the ports the broker listens on, and probes the health service names it registers", () => {
      const { config } = brokerConfig(objects);
      const port = (name: string): number => (container['ports'] as K8sObject[]).find((p) => p['name'] === name)?.['containerPort'];
      assert.equal(port('ws'), config.wsPort);
      assert.equal(port('stomp'), config.tcpPort);
      assert.equal(port('admin'), config.adminPort);
      const healthPort = config.healthPort !== 0 ? config.healthPort : config.adminPort;
      const expected: Record<string, string> = { startupProbe: LIVENESS_SERVICE, readinessProbe: READINESS_SERVICE, livenessProbe: LIVENESS_SERVICE };
      for (const [probe, service] of Object.entries(expected)) {
        assert.deepEqual(container[probe]?.['grpc'], { port: healthPort, service }, probe);
      }
      const readiness = container['readinessProbe'];
      assert.ok(readiness['periodSeconds'] * readiness['failureThreshold'] * 1000 <= config.drainGraceMs, 'readiness notices a drain within STOMPEDE_DRAIN_GRACE_MS');
      // A node waiting for Redis at start is not listening yet: the kubelet must not restart it first.
      const startup = container['startupProbe'];
      const startupWindowMs = ((startup['initialDelaySeconds'] ?? 0) + startup['periodSeconds'] * startup['failureThreshold']) * 1000;
      assert.ok(startupWindowMs > config.redisStartTimeoutMs, `the startup probe gives up after ${startupWindowMs} ms, before STOMPEDE_REDIS_START_TIMEOUT_MS (${config.redisStartTimeoutMs})`);
      assert.notEqual(config.adminBind, '127.0.0.1', 'the admin port must be reachable from the kubelet and the other brokers');
    });

    it('sets only variables the broker reads, with values its parser accepts', () => {
      const { env } = brokerConfig(objects);
      for (const name of env.keys()) assert.ok(SETTING_NAMES.has(name), `${name} is not a setting of the broker (services/broker/src/settings.ts)`);
      assert.deepEqual(env.get('STOMPEDE_NODE_ID'), { external: 'field metadata.name' }, 'each node is named after its pod');
    });

    it('drains in preStop with stompede-ctl against its own node, and the grace period covers the drain', () => {
      const { config, env } = brokerConfig(objects);
      const [shell, flag, script] = container['lifecycle']['preStop']['exec']['command'] as string[];
      assert.deepEqual([shell, flag], ['/bin/sh', '-c']);
      assert.match(script!, /^exec stompede-ctl --server "\$STOMPEDE_ADMIN_BIND:\$STOMPEDE_ADMIN_PORT" drain "\$STOMPEDE_NODE_ID" --wait$/);
      for (const variable of script!.matchAll(/\$([A-Z_]+)/g)) assert.ok(env.has(variable[1]!), `${variable[1]} is set in the container`);
      // The ctl's own usage: the drain command and its --wait flag exist.
      const usage = execFileSync(process.execPath, [join(REPO, 'services/ctl/bin/stompede-ctl.js'), 'drain', '--help'], { encoding: 'utf8' });
      assert.match(usage, /drain \[options\] <node>/);
      assert.match(usage, /--wait/);
      const grace = deployment['spec']['template']['spec']['terminationGracePeriodSeconds'] as number;
      assert.ok(grace >= (config.drainGraceMs + config.drainWindowMs) / 1000 + STOP_MARGIN_SEC, `preStop drain: ${grace} s < grace + window + ${STOP_MARGIN_SEC} s`);
      assert.ok(grace >= config.drainTimeoutMs / 1000 + STOP_MARGIN_SEC, `SIGTERM drain: ${grace} s < STOMPEDE_DRAIN_TIMEOUT_MS + ${STOP_MARGIN_SEC} s`);
      const strategy = deployment['spec']['strategy']['rollingUpdate'];
      assert.equal(strategy['maxUnavailable'], 0, 'a pod goes only once its replacement serves');
    });

    it('sizes memory for its connection cap, kernel socket buffers included', () => {
      const { config } = brokerConfig(objects);
      const fixed = PROCESS_BASELINE_BYTES + SLOW_READERS * config.maxPendingOutboundBytes + config.redisOutboxBytes;
      const hpaTarget = Number(named(objects, 'HorizontalPodAutoscaler', 'stompede')['spec']['metrics'][0]['pods']['target']['averageValue']);
      const { requests, limits } = container['resources'];
      assert.ok(hpaTarget < config.maxConnections, 'the HPA scales out before pods reach STOMPEDE_MAX_CONNECTIONS');
      const needAtTarget = fixed + hpaTarget * PER_CONNECTION_BYTES;
      const needAtCap = (fixed + config.maxConnections * PER_CONNECTION_BYTES) * LIMIT_HEADROOM;
      assert.ok(quantityBytes(requests['memory']) >= needAtTarget, `request ${requests['memory']} < ${(needAtTarget / 2 ** 20).toFixed(0)} MiB at ${hpaTarget} connections`);
      assert.ok(quantityBytes(limits['memory']) >= needAtCap, `limit ${limits['memory']} < ${(needAtCap / 2 ** 20).toFixed(0)} MiB at ${config.maxConnections} connections`);
    });

    it('runs non-root on a read-only root filesystem, no privilege escalation, no capabilities', () => {
      const pod = deployment['spec']['template']['spec']['securityContext'];
      const sc = container['securityContext'];
      assert.equal(pod['runAsNonRoot'], true);
      assert.equal(String(pod['runAsUser']), stageNamed(readDockerfile(), RUNTIME_STAGE).user?.split(':')[0], "the image's USER");
      assert.equal(sc['readOnlyRootFilesystem'], true);
      assert.equal(sc['allowPrivilegeEscalation'], false);
      assert.deepEqual(sc['capabilities']['drop'], ['ALL']);
      assert.ok((container['volumeMounts'] as K8sObject[]).some((m) => m['mountPath'] === '/tmp'), 'a writable /tmp');
    });

    it("scales on the broker's connection gauge through prometheus-adapter, in slowly", () => {
      const hpa = named(objects, 'HorizontalPodAutoscaler', 'stompede');
      assert.deepEqual(hpa['spec']['scaleTargetRef'], { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment['metadata']['name'] });
      const metric = hpa['spec']['metrics'][0];
      assert.equal(metric['type'], 'Pods');
      const adapter = parse(readFileSync(join(REPO, 'deploy/k8s/prometheus-adapter/values.yaml'), 'utf8'));
      const rule = (adapter['rules']['custom'] as K8sObject[]).find((r) => r['name']['as'] === metric['pods']['metric']['name']);
      assert.ok(rule, `prometheus-adapter serves ${metric['pods']['metric']['name']}`);
      const series = /^([a-z_]+)\{/.exec(rule['seriesQuery'])![1]!;
      assert.match(readFileSync(join(REPO, 'services/broker/src/metrics.ts'), 'utf8'), new RegExp(`name: '${series}'`), `the broker exports ${series}`);
      const down = hpa['spec']['behavior']['scaleDown'];
      assert.ok(down['stabilizationWindowSeconds'] >= 600);
      assert.equal(down['selectPolicy'], 'Min');
      for (const p of down['policies'] as K8sObject[]) assert.ok(p['type'] === 'Pods' && p['value'] === 1, 'one pod at a time');
      assert.ok(hpa['spec']['minReplicas'] >= 2, 'a drain has somewhere to send its clients');
    });

    it('has a PDB of maxUnavailable 1, a ServiceMonitor on the metrics port, and WebSocket timeouts on the Ingress', () => {
      assert.equal(ofKind(objects, 'PodDisruptionBudget')[0]!['spec']['maxUnavailable'], 1);
      const monitor = ofKind(objects, 'ServiceMonitor')[0]!;
      const services = ofKind(objects, 'Service').filter((s) => matches(monitor['spec']['selector']['matchLabels'], s['metadata']['labels']));
      assert.equal(services.length, 1);
      assert.equal(services[0]!['spec']['clusterIP'], 'None');
      const metricsPort = (services[0]!['spec']['ports'] as K8sObject[]).find((p) => p['name'] === monitor['spec']['endpoints'][0]['port']);
      const { config } = brokerConfig(objects);
      assert.equal(metricsPort?.['port'], config.wsPort, '/metrics is served on the WebSocket port');
      assert.equal(monitor['spec']['endpoints'][0]['path'], '/metrics');
      const ingress = ofKind(objects, 'Ingress')[0]!;
      for (const a of ['proxy-read-timeout', 'proxy-send-timeout']) {
        assert.ok(Number(ingress['metadata']['annotations'][`nginx.ingress.kubernetes.io/${a}`]) * 1000 > config.heartbeatCeilingMs * config.heartbeatGrace, a);
      }
      const path = ingress['spec']['rules'][0]['http']['paths'][0];
      assert.deepEqual([path['path'], path['pathType']], [config.wsPath, 'Exact'], 'only the STOMP endpoint is published, not /metrics');
      assert.equal(named(objects, 'Service', path['backend']['service']['name'])['spec']['type'], 'ClusterIP');
      assert.equal(named(objects, 'Service', 'stompede-stomp')['spec']['type'], 'LoadBalancer');
    });

    it('lets only brokers reach Redis, and only brokers and the admin namespace reach the admin port', () => {
      const broker = podLabels(deployment);
      const policy = named(objects, 'NetworkPolicy', 'stompede-broker');
      const adminRules = (policy['spec']['ingress'] as K8sObject[]).filter((r) => (r['ports'] as K8sObject[]).some((p) => p['port'] === 'admin'));
      assert.equal(adminRules.length, 1);
      assert.equal(adminRules[0]!['ports'].length, 1, 'the admin rule opens the admin port only');
      for (const peer of adminRules[0]!['from'] as K8sObject[]) {
        const ok = (peer['podSelector'] && !peer['namespaceSelector'] && matches(peer['podSelector']['matchLabels'], broker)) ||
          (peer['namespaceSelector'] && !peer['podSelector'] && peer['namespaceSelector']['matchLabels']['kubernetes.io/metadata.name'] === 'stompede-admin');
        assert.ok(ok, JSON.stringify(peer));
      }
      for (const rule of policy['spec']['ingress'] as K8sObject[]) {
        if (rule['from'] === undefined) assert.ok((rule['ports'] as K8sObject[]).every((p) => CLIENT_PORTS.includes(p['port'])), 'open to all: client ports only');
      }
      for (const redis of ofKind(objects, 'StatefulSet').filter((s) => podLabels(s)['app.kubernetes.io/name'] === 'redis')) {
        const guards = ofKind(objects, 'NetworkPolicy').filter((p) => matches(p['spec']['podSelector']['matchLabels'], podLabels(redis)));
        assert.equal(guards.length, 1, 'Redis has a NetworkPolicy');
        const from = guards[0]!['spec']['ingress'].flatMap((r: K8sObject) => r['from'] ?? [{}]) as K8sObject[];
        assert.ok(from.every((peer) => peer['podSelector'] && !peer['namespaceSelector'] && matches(peer['podSelector']['matchLabels'], broker)), 'only broker pods');
      }
    });
  });
}
