// The broker's configuration as a pod of a rendered overlay would get it: the container's
// environment with what only the cluster knows (downward-API fields, Secrets the operator creates)
// replaced by realistic examples, run through the broker's own parser.
import assert from 'node:assert/strict';
import { parseConfig } from '../../../services/broker/src/config.js';
import type { BrokerConfig } from '../../../services/broker/src/settings.js';
import { brokerContainer, containerEnv, type EnvValue, type K8sObject } from './k8s.js';

/** Values the cluster fills in (downward API), as they would look. */
const FIELD_EXAMPLES: Record<string, string> = { 'metadata.name': 'stompede-7d9f8b6c5-x2k7p', 'status.podIP': '10.42.3.17' };
/** Keys of the Secrets the operator creates (overlays/prod/kustomization.yaml), in the documented form. */
const SECRET_EXAMPLES: Record<string, string> = {
  'stompede-redis/url': 'rediss://:s3cret@stompede-redis.abc123.cache.example:6380',
  'stompede-auth/jwt-secret': 'c2f0e3a1b4d5968778695a4b3c2d1e0ff0e1d2c3b4a5968778695a4b3c2d1e0f',
};

/** The broker's configuration as the pod would get it, through the broker's own parser. */
export function brokerConfig(objects: readonly K8sObject[]): { config: BrokerConfig; env: Map<string, EnvValue> } {
  const env = containerEnv(objects, brokerContainer(objects));
  const literal: Record<string, string> = {};
  for (const [name, value] of env) literal[name] = literalOf(name, value);
  return { config: parseConfig([], literal).config, env };
}

function literalOf(name: string, value: EnvValue): string {
  if ('value' in value) return value.value;
  if (value.external.startsWith('field ')) return FIELD_EXAMPLES[value.external.slice(6)] ?? assert.fail(`no example for ${value.external}`);
  const secret = /^Secret (\S+) key (\S+)$/.exec(value.external);
  return (secret && SECRET_EXAMPLES[`${secret[1]}/${secret[2]}`]) ?? assert.fail(`${name}: no documented example for ${value.external}`);
}
