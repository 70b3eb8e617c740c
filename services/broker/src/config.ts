// Configuration is read once, at start: CLI flags over STOMPEDE_* env vars over defaults. Every
// value is validated here; the rest of the node receives a frozen, typed object.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { authConfigProblems } from '@stompede/auth';
import { resolveDestination, type SessionConfig } from '@stompede/session';
import { SETTINGS, SettingError, type BrokerConfig, type Setting } from './settings.js';

export class ConfigError extends Error {}

export interface ParsedArgs {
  readonly config: BrokerConfig;
  readonly help: boolean;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ParsedArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const setting of SETTINGS) options[setting.flag.slice(2)] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\nRun with --help for the list of settings.`);
  }
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const setting of SETTINGS) {
    const flagValue = values[setting.flag.slice(2)];
    const raw = typeof flagValue === 'string' ? flagValue : (env[setting.env] ?? setting.defaultText ?? defaultFor(setting));
    try {
      out[setting.key] = setting.parse(raw);
    } catch (err) {
      if (!(err instanceof SettingError)) throw err;
      const source = typeof flagValue === 'string' ? setting.flag : env[setting.env] !== undefined ? setting.env : 'default';
      problems.push(`${setting.env} (${setting.flag}, from ${source}): ${err.message}`);
    }
  }
  const config = out as unknown as BrokerConfig;
  if (problems.length === 0) problems.push(...crossChecks(config));
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return { config: Object.freeze(config), help: values['help'] === true };
}

function defaultFor(setting: Setting): string {
  if (setting.key === 'nodeId') return `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48)}-${randomBytes(3).toString('hex')}`;
  throw new Error(`no default for ${setting.env}`);
}

function crossChecks(c: BrokerConfig): string[] {
  const problems: string[] = [];
  if (c.heartbeatCeilingMs < c.heartbeatFloorMs) {
    problems.push('STOMPEDE_HEARTBEAT_CEILING_MS must not be below STOMPEDE_HEARTBEAT_FLOOR_MS');
  }
  if (c.maxHeaderLineBytes > c.maxFrameBytes) {
    problems.push('STOMPEDE_MAX_HEADER_LINE_BYTES must not exceed STOMPEDE_MAX_FRAME_BYTES');
  }
  if (c.tcpPort === c.wsPort) problems.push('STOMPEDE_TCP_PORT and STOMPEDE_WS_PORT must differ');
  problems.push(...adminChecks(c));
  problems.push(...authConfigProblems(c));
  if (c.redisLagPressureEntries * 2 > c.redisStreamMaxEntries) {
    problems.push('STOMPEDE_REDIS_LAG_PRESSURE_ENTRIES must be at most half of STOMPEDE_REDIS_STREAM_MAX_ENTRIES (publishers are slowed well before readers lose entries)');
  }
  if (c.destinationPrefixes.length === 0) problems.push('STOMPEDE_DESTINATION_PREFIXES needs at least one prefix');
  if (c.deadLetterDestination !== '') {
    const d = resolveDestination(c.deadLetterDestination, 'send', c.destinationPrefixes);
    if ('error' in d) problems.push(`STOMPEDE_DEAD_LETTER_DESTINATION: ${d.detail}`);
    else if (d.kind === 'reply') problems.push('STOMPEDE_DEAD_LETTER_DESTINATION cannot be a reply queue');
  }
  return problems;
}

function adminChecks(c: BrokerConfig): string[] {
  const problems: string[] = [];
  if (c.adminPort !== 0 && (c.adminPort === c.wsPort || c.adminPort === c.tcpPort)) {
    problems.push('STOMPEDE_ADMIN_PORT must differ from STOMPEDE_WS_PORT and STOMPEDE_TCP_PORT');
  }
  if (c.healthPort !== 0 && [c.wsPort, c.tcpPort, c.adminPort].includes(c.healthPort)) {
    problems.push('STOMPEDE_HEALTH_PORT must differ from the other ports');
  }
  if (c.adminToken !== '' && c.adminTokenFile !== '') problems.push('set STOMPEDE_ADMIN_TOKEN or STOMPEDE_ADMIN_TOKEN_FILE, not both');
  if ((c.adminTlsCert === '') !== (c.adminTlsKey === '')) problems.push('STOMPEDE_ADMIN_TLS_CERT and STOMPEDE_ADMIN_TLS_KEY go together');
  if (c.adminAuth === 'mtls' && (c.adminTlsCert === '' || c.adminTlsCa === '')) {
    problems.push('STOMPEDE_ADMIN_AUTH=mtls needs STOMPEDE_ADMIN_TLS_CERT, STOMPEDE_ADMIN_TLS_KEY and STOMPEDE_ADMIN_TLS_CA');
  }
  if (c.adminAdvertise !== '' && !/^[^\s]+:\d{1,5}$/.test(c.adminAdvertise)) problems.push(`STOMPEDE_ADMIN_ADVERTISE must be host:port, got "${c.adminAdvertise}"`);
  if (c.drainTimeoutMs < c.drainGraceMs + c.drainWindowMs) {
    problems.push('STOMPEDE_DRAIN_TIMEOUT_MS must be at least STOMPEDE_DRAIN_GRACE_MS + STOMPEDE_DRAIN_WINDOW_MS (SIGTERM would cut its own drain short)');
  }
  if (c.drainGraceMs > c.adminMaxDrainMs || c.drainWindowMs > c.adminMaxDrainMs) {
    problems.push('STOMPEDE_DRAIN_GRACE_MS and STOMPEDE_DRAIN_WINDOW_MS must not exceed STOMPEDE_ADMIN_MAX_DRAIN_MS');
  }
  return problems;
}

export function sessionConfig(c: BrokerConfig, version: string): SessionConfig {
  return { ...c, serverName: `Stompede/${version}` };
}

/** The settings as a markdown table, for README.md. */
export function settingsTable(): string {
  const rows = SETTINGS.map((s) => `| \`${s.env}\` | \`${s.flag}\` | ${s.defaultText === undefined ? '(computed)' : s.defaultText === '' ? '(empty)' : `\`${s.defaultText}\``} | ${s.doc} |`);
  return ['| env var | CLI flag | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

export function helpText(): string {
  const lines = SETTINGS.map((s) => `  ${s.flag.padEnd(34)} ${s.env}\n      ${s.doc}${s.defaultText === undefined ? '' : ` [default: ${s.defaultText || '(empty)'}]`}`);
  return `usage: stompede [--setting value ...]\n\nEvery setting can also be given as its STOMPEDE_* environment variable; flags win.\n\n${lines.join('\n')}\n`;
}
