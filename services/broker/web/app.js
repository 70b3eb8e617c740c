// The demo page: the Spring guide's greeting flow on @stomp/stompjs (global StompJs, served by the
// node) over WebSocket or SockJS, and a live table of the cluster from /api/cluster.
'use strict';

const $ = (id) => document.getElementById(id);
let client = null;

function brokerUrls() {
  const ws = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  return { ws, sockjs: `${location.origin}/sockjs` };
}

function setConnected(connected, text) {
  $('connect').disabled = connected;
  $('disconnect').disabled = !connected;
  $('send').disabled = !connected;
  $('sockjs').disabled = connected;
  $('transport').disabled = connected || !$('sockjs').checked;
  $('status').textContent = text;
  $('status').className = connected ? 'status connected' : 'status';
}

function connect() {
  const urls = brokerUrls();
  const useSockJs = $('sockjs').checked;
  const transport = $('transport').value;
  const config = { reconnectDelay: 2000, debug: () => {} };
  if (useSockJs) config.webSocketFactory = () => new SockJS(urls.sockjs, null, transport ? { transports: [transport] } : {});
  else config.brokerURL = urls.ws;
  client = new StompJs.Client(config);
  client.onConnect = (frame) => {
    // CONNECTED's session header is "<node id>:<session number>": the node this page is on.
    const node = (frame.headers.session || '').replace(/:[^:]*$/, '');
    document.body.dataset.node = node;
    const via = useSockJs ? `SockJS ${client.webSocket && client.webSocket.transport ? client.webSocket.transport : ''}`.trim() : 'WebSocket';
    setConnected(true, `connected to ${node} over ${via}`);
    client.subscribe('/topic/greetings', (m) => showGreeting(JSON.parse(m.body), node));
  };
  client.onWebSocketClose = () => {
    if (client && !client.connected) setConnected(false, 'disconnected');
  };
  client.onStompError = (frame) => setConnected(false, `error: ${frame.headers.message}`);
  client.activate();
}

function disconnect() {
  if (client) client.deactivate();
  client = null;
  setConnected(false, 'disconnected');
}

function send() {
  const name = $('name').value.trim() || 'stranger';
  client.publish({ destination: '/topic/greetings', body: JSON.stringify({ content: `Hello, ${name}!`, from: document.body.dataset.node }), headers: { 'content-type': 'application/json' } });
}

function showGreeting(greeting, node) {
  const row = document.createElement('tr');
  const text = document.createElement('td');
  text.textContent = greeting.content;
  text.className = 'greeting';
  const via = document.createElement('td');
  via.textContent = greeting.from && greeting.from !== node ? `${greeting.from} → ${node}` : node;
  row.append(text, via);
  $('greetings-list').prepend(row);
}

// ------------------------------------------------------------------ cluster tab

let clusterTimer = null;

async function refreshCluster() {
  try {
    const res = await fetch('/api/cluster', { cache: 'no-store' });
    if (!res.ok) throw new Error(`/api/cluster answered ${res.status}`);
    const view = await res.json();
    const rows = view.nodes.map((n) => {
      const tr = document.createElement('tr');
      if (n.id === view.self) tr.className = 'self';
      const byTransport = Object.entries(n.connections).map(([k, v]) => `${v} ${k}`).join(', ');
      const cells = [n.id, n.state, byTransport ? `${n.connectionsTotal} (${byTransport})` : String(n.connectionsTotal), n.subscriptions, n.messagesInPerSecond, n.messagesOutPerSecond, `${n.uptimeSec} s`];
      cells.forEach((c, i) => {
        const td = document.createElement('td');
        td.textContent = String(c);
        if (i >= 3) td.className = 'num';
        tr.append(td);
      });
      return tr;
    });
    $('nodes').replaceChildren(...rows);
    $('cluster-error').textContent = '';
  } catch (err) {
    $('cluster-error').textContent = String(err.message || err);
  }
}

function showPanel(panel) {
  for (const tab of document.querySelectorAll('.tab')) tab.classList.toggle('active', tab.dataset.panel === panel);
  $('greetings').hidden = panel !== 'greetings';
  $('cluster').hidden = panel !== 'cluster';
  clearInterval(clusterTimer);
  if (panel === 'cluster') {
    refreshCluster();
    clusterTimer = setInterval(refreshCluster, 1000);
  }
}

$('connect-form').addEventListener('submit', (e) => { e.preventDefault(); connect(); });
$('send-form').addEventListener('submit', (e) => { e.preventDefault(); send(); });
$('disconnect').addEventListener('click', disconnect);
$('sockjs').addEventListener('change', () => { $('transport').disabled = !$('sockjs').checked; });
for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => showPanel(tab.dataset.panel));
