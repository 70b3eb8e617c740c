// Code the tests run inside browser pages (page.evaluate), as plain JavaScript source: the page has
// only what the node serves (the StompJs and SockJS globals of the demo page). Kept as strings so
// that the test's TypeScript tooling injects nothing into them.

/**
 * Defines window.stomp(transport): a stompjs client over native WebSocket (transport null) or SockJS
 * forced to one transport, connected; resolves with the node from CONNECTED's session header.
 */
export const DEFINE_HELPERS = String.raw`
window.receipts = {};
window.stomp = (transport) => new Promise((resolve, reject) => {
  const base = location.origin;
  const config = { reconnectDelay: 0, debug: () => {} };
  if (transport === null) config.brokerURL = base.replace(/^http/, 'ws') + '/ws';
  // sockjs-client gives a transport about 300 ms per round trip once its /info came back fast, and
  // then closes with 2000 "All transports failed": too little on a loaded CI machine.
  else config.webSocketFactory = () => new SockJS(base + '/sockjs', null, { transports: [transport], timeout: 10000 });
  const client = new StompJs.Client(config);
  client.onConnect = (frame) => {
    window.client = client;
    resolve({ node: frame.headers.session.replace(/:[^:]*$/, ''), transport: transport === null ? 'websocket' : client.webSocket.transport });
  };
  client.onStompError = (f) => reject(new Error('STOMP ERROR ' + f.headers.message));
  client.onWebSocketClose = (e) => reject(new Error('closed ' + e.code + ' ' + e.reason));
  setTimeout(() => reject(new Error('no CONNECTED in 10 s')), 10000);
  client.activate();
});
window.receipt = (id) => new Promise((resolve, reject) => {
  window.client.watchForReceipt(id, () => resolve(id));
  window.client.onStompError = (f) => reject(new Error('ERROR instead of RECEIPT ' + id + ': ' + f.headers.message));
  setTimeout(() => reject(new Error('no RECEIPT ' + id + ' in 10 s')), 10000);
});
window.inbox = [];
window.until = (n) => new Promise((resolve, reject) => {
  const t0 = Date.now();
  const check = () => {
    if (window.inbox.length >= n) return resolve(window.inbox.map((m) => m.body));
    if (Date.now() - t0 > 10000) return reject(new Error('got ' + window.inbox.length + ' of ' + n + ' messages'));
    setTimeout(check, 20);
  };
  check();
});
`;

/** The STOMP scenario: subscribe (client-individual) to a queue, send, receive, ack, disconnect with receipt. */
export function queueScenario(queue: string, transport: string | null): string {
  return String.raw`(async () => {
    const who = await window.stomp(${JSON.stringify(transport)});
    const client = window.client;
    client.subscribe(${JSON.stringify(queue)}, (m) => window.inbox.push(m), { ack: 'client-individual', receipt: 'sub' });
    await window.receipt('sub');
    client.publish({ destination: ${JSON.stringify(queue)}, body: 'hello from ' + who.transport + ' ✓' });
    const [body] = await window.until(1);
    window.inbox[0].ack({ receipt: 'acked' });
    await window.receipt('acked');
    const disconnected = new Promise((resolve) => (client.onDisconnect = (f) => resolve(f.command + ' ' + f.headers['receipt-id'])));
    client.deactivate();
    return { ...who, body, disconnect: await disconnected };
  })()`;
}

/** Connects, subscribes to `topic` with a receipt; resolves with the node and transport. */
export function greeter(topic: string, transport: string | null): string {
  return String.raw`(async () => {
    const who = await window.stomp(${JSON.stringify(transport)});
    window.client.subscribe(${JSON.stringify(topic)}, (m) => window.inbox.push(m), { receipt: 'greetings' });
    await window.receipt('greetings');
    return who;
  })()`;
}

export function greet(topic: string, text: string): string {
  return `window.client.publish({ destination: ${JSON.stringify(topic)}, body: ${JSON.stringify(text)} })`;
}
