// The image's HEALTHCHECK: GET /healthz on the node's WebSocket port (liveness: 200 until the
// process stops, draining included). Exit 0 healthy, 1 not. Uses only Node, which the image has.
const port = process.env.STOMPEDE_WS_PORT ?? '15674';
const bind = process.env.STOMPEDE_BIND ?? '0.0.0.0';
// A wildcard bind is reachable on loopback; a specific address only on itself.
const host = bind === '0.0.0.0' || bind === '::' || bind === '' ? '127.0.0.1' : bind;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
try {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`unhealthy: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
