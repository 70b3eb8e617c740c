// Metrics of the STOMP-over-TLS listener (registered only when it runs): failed handshakes, certificate
// reloads, and when the certificate being served expires (alert on it: a rotation that keeps being
// refused shows up here before clients see an expired certificate).
import type { Registry } from 'prom-client';
import { counterOf, gaugeOf, labelledCounterOf } from './metric-kinds.js';
import type { TlsPair } from './tls-certs.js';

export interface TlsMetricSource {
  readonly handshakeFailures: number;
  readonly reloads: number;
  readonly failures: number;
  readonly serving: TlsPair;
}

export function tlsMetrics(registry: Registry, source: TlsMetricSource): void {
  counterOf(registry, 'stompede_tls_handshake_failures_total', 'Connections to the TLS port that failed the TLS handshake or did not finish it within STOMPEDE_CONNECT_TIMEOUT_MS (no STOMP session was opened; admission refusals are not counted here).', () => source.handshakeFailures);
  labelledCounterOf(registry, 'stompede_tls_certificate_reloads_total', 'Changes of the TLS certificate or key file, by result: loaded (serves new connections) or refused (broken pair; the previous one kept).', 'result', () => new Map([
    ['loaded', source.reloads],
    ['refused', source.failures],
  ]));
  gaugeOf(registry, 'stompede_tls_certificate_expiry_timestamp_seconds', 'notAfter of the TLS certificate being served, in Unix seconds.', () => source.serving.validTo.getTime() / 1000);
}
