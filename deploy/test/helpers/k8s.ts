// The Kubernetes manifests as `kubectl kustomize` renders them, parsed with `yaml`, and the lookups
// the tests share: the broker Deployment, its container, and the environment that container gets
// (env values, ConfigMap and Secret references resolved against the rendered objects).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { REPO } from './dockerfile.js';

export const OVERLAYS = ['dev', 'prod'] as const;
export type Overlay = (typeof OVERLAYS)[number];
export const BROKER_CONTAINER = 'broker';

// The manifests are data of many shapes; tests reach into them by path.
export type K8sObject = Record<string, any>;

const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl', ...(process.env['PATH'] ?? '').split(':').map((d) => join(d, 'kubectl'))].find((p) => existsSync(p));

/** Why the manifests cannot be rendered here, or undefined. */
export function kubectlMissing(): string | undefined {
  return KUBECTL === undefined ? 'kubectl not found: the manifest tests need `kubectl kustomize` (install kubectl)' : undefined;
}

export function renderOverlay(overlay: Overlay): K8sObject[] {
  const out = execFileSync(KUBECTL!, ['kustomize', join(REPO, 'deploy/k8s/overlays', overlay)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  return parseAllDocuments(out).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${overlay}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  }).filter((o) => o !== null);
}

export function ofKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o['kind'] === kind);
}

export function named(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o['kind'] === kind && o['metadata']?.['name'] === name);
  if (found === undefined) throw new Error(`no ${kind} named ${name}`);
  return found;
}

export function brokerDeployment(objects: readonly K8sObject[]): K8sObject {
  const deployments = ofKind(objects, 'Deployment').filter((d) => brokerContainerOf(d) !== undefined);
  if (deployments.length !== 1) throw new Error(`expected one Deployment with a "${BROKER_CONTAINER}" container, found ${deployments.length}`);
  return deployments[0]!;
}

function brokerContainerOf(deployment: K8sObject): K8sObject | undefined {
  return (deployment['spec']['template']['spec']['containers'] as K8sObject[]).find((c) => c['name'] === BROKER_CONTAINER);
}

export function brokerContainer(objects: readonly K8sObject[]): K8sObject {
  return brokerContainerOf(brokerDeployment(objects))!;
}

/** A variable of the container: a literal value, or where it comes from when only the cluster knows. */
export type EnvValue = { readonly value: string } | { readonly external: string };

/**
 * The container's environment: envFrom ConfigMaps and Secrets, then env (which wins). A reference to a
 * ConfigMap or Secret that the overlay renders is resolved to its value; one to an object the
 * operator creates (a Secret of the prod overlay), or to the downward API, is `external`.
 */
export function containerEnv(objects: readonly K8sObject[], container: K8sObject): Map<string, EnvValue> {
  const env = new Map<string, EnvValue>();
  for (const source of (container['envFrom'] ?? []) as K8sObject[]) {
    const kind = source['configMapRef'] ? 'ConfigMap' : 'Secret';
    const ref = source['configMapRef'] ?? source['secretRef'];
    const data = dataOf(objects, kind, ref['name']);
    if (data === undefined) throw new Error(`envFrom names ${kind} ${ref['name']}, which the overlay does not render`);
    for (const [key, value] of Object.entries(data)) env.set(`${source['prefix'] ?? ''}${key}`, { value });
  }
  for (const entry of (container['env'] ?? []) as K8sObject[]) env.set(entry['name'], envValue(objects, entry));
  return env;
}

function envValue(objects: readonly K8sObject[], entry: K8sObject): EnvValue {
  if (entry['value'] !== undefined) return { value: String(entry['value']) };
  const from = entry['valueFrom'] as K8sObject;
  const keyRef = from['configMapKeyRef'] ?? from['secretKeyRef'];
  if (keyRef !== undefined) {
    const kind = from['configMapKeyRef'] ? 'ConfigMap' : 'Secret';
    const value = dataOf(objects, kind, keyRef['name'])?.[keyRef['key']];
    return value === undefined ? { external: `${kind} ${keyRef['name']} key ${keyRef['key']}` } : { value };
  }
  if (from['fieldRef']) return { external: `field ${from['fieldRef']['fieldPath']}` };
  return { external: JSON.stringify(from) };
}

function dataOf(objects: readonly K8sObject[], kind: string, name: string): Record<string, string> | undefined {
  const object = objects.find((o) => o['kind'] === kind && o['metadata']?.['name'] === name);
  if (object === undefined) return undefined;
  const decoded = Object.fromEntries(Object.entries((object['data'] ?? {}) as Record<string, string>).map(([k, v]) => [k, kind === 'Secret' ? Buffer.from(v, 'base64').toString('utf8') : v]));
  return { ...decoded, ...((object['stringData'] ?? {}) as Record<string, string>) };
}

/** Where a file the container reads comes from: its mount, the volume, and the ConfigMap or Secret key behind it. */
export interface MountedFile {
  readonly mount: K8sObject;
  readonly volume: K8sObject;
  /** 'ConfigMap', 'Secret', or another volume type (emptyDir, ...). */
  readonly kind: string;
  /** The ConfigMap or Secret the volume projects. */
  readonly name: string | undefined;
  /** Its key that becomes the file; undefined when the volume projects no such file (an items list without it). */
  readonly key: string | undefined;
  /** The file's text when the overlay renders the object; undefined for objects the operator creates. */
  readonly content: string | undefined;
}

/** The mount holding `path` in the broker's pod (the deepest one), or undefined when no volume holds it. */
export function mountedFile(objects: readonly K8sObject[], deployment: K8sObject, container: K8sObject, path: string): MountedFile | undefined {
  const dir = (m: K8sObject): string => String(m['mountPath']).replace(/\/$/, '');
  // A subPath mount is the file itself: found here so that the tests can say why it is wrong.
  const mounts = ((container['volumeMounts'] ?? []) as K8sObject[]).filter((m) => path === dir(m) || path.startsWith(`${dir(m)}/`));
  const mount = mounts.sort((a, b) => dir(b).length - dir(a).length)[0];
  if (mount === undefined) return undefined;
  const volume = (deployment['spec']['template']['spec']['volumes'] as K8sObject[]).find((v) => v['name'] === mount['name']);
  if (volume === undefined) throw new Error(`volumeMount ${mount['name']} has no volume`);
  const relative = path === dir(mount) ? String(mount['subPath'] ?? '') : path.slice(dir(mount).length + 1);
  const source = (volume['configMap'] ?? volume['secret']) as K8sObject | undefined;
  if (source === undefined) return { mount, volume, kind: Object.keys(volume).find((k) => k !== 'name') ?? 'unknown', name: undefined, key: undefined, content: undefined };
  const kind = volume['configMap'] ? 'ConfigMap' : 'Secret';
  const name = (source['name'] ?? source['secretName']) as string;
  const items = source['items'] as K8sObject[] | undefined;
  const key = items === undefined ? relative : items.find((i) => i['path'] === relative)?.['key'];
  const content = key === undefined ? undefined : dataOf(objects, kind, name)?.[key];
  return { mount, volume, kind, name, key, content };
}
