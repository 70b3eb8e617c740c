// The files the broker reads in a pod of each rendered overlay (deploy/k8s): every path a setting
// names is on a volume mounted as a directory (no subPath, so an updated ConfigMap or Secret reaches
// the running pod); the ACL file's content passes the broker's own ACL parser; STOMP over TLS is
// served on STOMPEDE_TLS_PORT from a kubernetes.io/tls Secret, and published on the TCP
// LoadBalancer Service and through the NetworkPolicy.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { readAcl } from '../../services/broker/src/acl-file.js';
import { knownPrefixes } from '../../services/broker/src/acl-patterns.js';
import type { BrokerConfig } from '../../services/broker/src/settings.js';
import { SETTINGS } from '../../services/broker/src/settings.js';
import { REPO } from './helpers/dockerfile.js';
import { brokerContainer, brokerDeployment, kubectlMissing, mountedFile, named, ofKind, OVERLAYS, renderOverlay, type K8sObject, type MountedFile } from './helpers/k8s.js';
import { brokerConfig } from './helpers/k8s-config.js';

/** Settings that name a file the broker reads, by their env var's ending. */
const FILE_SETTINGS = SETTINGS.filter((s) => /_(FILE|CERT|KEY|CA)$/.test(s.env));
/** The keys of a Secret of type kubernetes.io/tls, as cert-manager writes it. */
const TLS_SECRET_KEYS = { cert: 'tls.crt', key: 'tls.key' };
/** Overlays that must authorize (ACL) and serve TLS. */
const SECURED: readonly string[] = ['prod'];

const skip = kubectlMissing();

/** One YAML document of a component, as written (before kustomize renames anything). */
function component(path: string): K8sObject {
  return parse(readFileSync(join(REPO, 'deploy/k8s/components', path), 'utf8')) as K8sObject;
}

/** The file behind `path`, asserted to be mounted as a directory from a ConfigMap or Secret. */
function fileOf(objects: readonly K8sObject[], path: string, setting: string): MountedFile {
  const file = mountedFile(objects, brokerDeployment(objects), brokerContainer(objects), path);
  assert.ok(file, `${setting}=${path} is on no mounted volume`);
  assert.equal(file.mount['subPath'], undefined, `${setting}: mounted with subPath, so an update would never reach the pod`);
  assert.equal(file.mount['readOnly'], true, `${setting}: mounted read-only`);
  assert.ok(file.kind === 'ConfigMap' || file.kind === 'Secret', `${setting}: from a ConfigMap or Secret, not ${file.kind}`);
  assert.ok(file.key !== undefined, `${setting}: the volume ${file.volume['name']} projects no file ${path}`);
  return file;
}

function containerPort(container: K8sObject, ref: string | number): K8sObject | undefined {
  return (container['ports'] as K8sObject[]).find((p) => p['name'] === ref || p['containerPort'] === ref);
}

for (const overlay of OVERLAYS) {
  describe(`deploy/k8s/overlays/${overlay}: files, ACL and TLS`, { skip }, () => {
    const objects = skip ? [] : renderOverlay(overlay);
    const container = skip ? {} : brokerContainer(objects);
    const config = (): BrokerConfig => brokerConfig(objects).config;

    it('mounts every file a setting names as a directory, from a ConfigMap or Secret', () => {
      assert.ok(['usersFile', 'aclFile', 'tlsCert', 'tlsKey', 'adminTokenFile'].every((k) => FILE_SETTINGS.some((s) => s.key === k)));
      const values = config() as unknown as Record<string, unknown>;
      const set = FILE_SETTINGS.filter((s) => values[s.key] !== '');
      assert.ok(set.length > 0);
      for (const s of set) fileOf(objects, String(values[s.key]), s.env);
    });

    it("loads the ACL from a ConfigMap whose rules the broker's own parser accepts, reloadable in place", (t) => {
      const c = config();
      if (SECURED.includes(overlay)) assert.notEqual(c.aclFile, '', 'STOMPEDE_ACL_FILE is set (components/acl)');
      if (c.aclFile === '') return t.skip('no ACL in this overlay');
      const file = fileOf(objects, c.aclFile, 'STOMPEDE_ACL_FILE');
      assert.equal(file.kind, 'ConfigMap');
      assert.ok(file.content !== undefined, `the overlay renders ConfigMap ${file.name} with key ${file.key}`);
      // A hash suffix would rename the ConfigMap on every edit and roll the pods instead of reloading.
      const declared = (component('acl/deployment.yaml')['spec']['template']['spec']['volumes'] as K8sObject[]).find((v) => v['name'] === file.volume['name']);
      assert.ok(declared, `components/acl declares the volume ${file.volume['name']}`);
      assert.equal(file.name, declared['configMap']['name'], 'the ACL ConfigMap keeps its name (disableNameSuffixHash)');
      const dir = mkdtempSync(join(tmpdir(), 'stompede-k8s-acl-'));
      try {
        writeFileSync(join(dir, file.key!), file.content);
        const rules = readAcl(join(dir, file.key!), { prefixes: knownPrefixes(c.destinationPrefixes), vhosts: c.vhosts });
        assert.ok(rules.length > 0, 'the example allows something');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('serves STOMP over TLS from a kubernetes.io/tls Secret, on the TCP LoadBalancer and through the NetworkPolicy', (t) => {
      const c = config();
      if (SECURED.includes(overlay)) assert.notEqual(c.tlsCert, '', 'STOMPEDE_TLS_CERT is set (components/tls)');
      if (c.tlsCert === '' || c.tlsPort === 0) {
        assert.equal(containerPort(container, 'stomp-tls'), undefined, 'no TLS port without a certificate');
        return t.skip('no TLS in this overlay');
      }
      const cert = fileOf(objects, c.tlsCert, 'STOMPEDE_TLS_CERT');
      const key = fileOf(objects, c.tlsKey, 'STOMPEDE_TLS_KEY');
      assert.deepEqual([cert.kind, key.kind, key.name], ['Secret', 'Secret', cert.name], 'certificate and key from one Secret');
      assert.deepEqual({ cert: cert.key, key: key.key }, TLS_SECRET_KEYS);
      const rendered = ofKind(objects, 'Secret').find((s) => s['metadata']['name'] === cert.name);
      if (rendered !== undefined) assert.equal(rendered['type'], 'kubernetes.io/tls');
      assert.equal(component('tls/certificate.example.yaml')['spec']['secretName'], cert.name, 'the example Certificate writes the Secret that is mounted');

      const port = containerPort(container, c.tlsPort);
      assert.ok(port, `a container port ${c.tlsPort} (STOMPEDE_TLS_PORT)`);
      assert.equal(port['protocol'], 'TCP');
      const service = named(objects, 'Service', 'stompede-stomp');
      assert.equal(service['spec']['type'], 'LoadBalancer');
      const targets = (service['spec']['ports'] as K8sObject[]).map((p) => ({ p, target: containerPort(container, p['targetPort']) }));
      assert.ok(targets.some(({ target }) => target?.['containerPort'] === c.tcpPort), 'the same Service carries plain STOMP');
      const tls = targets.find(({ target }) => target?.['containerPort'] === c.tlsPort);
      assert.ok(tls, `Service stompede-stomp targets port ${c.tlsPort}`);
      assert.equal(tls.p['protocol'], 'TCP');
      const open = (named(objects, 'NetworkPolicy', 'stompede-broker')['spec']['ingress'] as K8sObject[]).filter((r) => r['from'] === undefined);
      assert.ok(open.some((r) => (r['ports'] as K8sObject[]).some((p) => containerPort(container, p['port'])?.['containerPort'] === c.tlsPort)), 'the NetworkPolicy lets clients reach the TLS port');
    });
  });
}
