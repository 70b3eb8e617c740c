// Connection churn: loops that connect to the next node that is up, subscribe, take messages for a
// moment and disconnect, again and again. Half over WebSocket with stompjs (a topic subscription and
// a queue subscription with prefetch 1, ACKing most messages and leaving some unacked at the
// DISCONNECT, which sends them back), half over plain TCP with the raw test client (a topic
// subscription). Each connection's topic messages must be contiguous (ledger.ts: ChurnSession).
import { Client, type IMessage } from '@stomp/stompjs';
import '../../services/broker/test/helpers/stompjs.js';
import { header, RawClient } from '../../services/broker/test/helpers/raw-client.js';
import { queueOf, topicOf, type ErrorTally, type Nodes } from './clients.js';
import { ChurnSession, type QueueLedger } from './ledger.js';

export interface ChurnSettings {
  readonly publishers: number;
  readonly queues: number;
  readonly dwellMs: readonly [number, number];
  /** Share of queue messages a WebSocket churner leaves unacked when it disconnects. */
  readonly leaveUnacked: number;
  readonly random: () => number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Churner {
  cycles = 0;
  /** Cycles that could not connect or subscribe (a node going away meanwhile, say), by reason. */
  readonly failures = new Map<string, number>();
  readonly holes: { publisher: number; seq: number }[] = [];
  messages = 0;
  private stopped = false;
  private running: Promise<void> | undefined;

  constructor(
    readonly kind: 'ws' | 'tcp',
    private readonly nodes: Nodes,
    private readonly index: number,
    private readonly queueLedger: QueueLedger,
    private readonly errors: ErrorTally,
    private readonly settings: ChurnSettings,
  ) {}

  start(): void {
    this.running = (async () => {
      while (!this.stopped) {
        const session = new ChurnSession();
        try {
          await (this.kind === 'ws' ? this.wsCycle(session) : this.tcpCycle(session));
        } catch (err) {
          const reason = (err as Error).message.split('\n')[0]!.slice(0, 80);
          this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
          await sleep(200);
        }
        this.cycles++;
        this.messages += session.messages;
        this.holes.push(...session.holes());
      }
    })();
  }

  /** Stops after the cycle under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private pick(n: number): number {
    return Math.floor(this.settings.random() * n);
  }

  private dwell(): number {
    const [lo, hi] = this.settings.dwellMs;
    return lo + this.settings.random() * (hi - lo);
  }

  private async wsCycle(session: ChurnSession): Promise<void> {
    const client = new Client({ brokerURL: this.nodes.wsUrl(this.index + this.cycles), reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0, debug: () => {} });
    client.onStompError = (f) => (f.headers['x-draining'] === 'true' ? this.errors.drains++ : this.errors.add(f.headers['message'] ?? '(no message header)'));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('ws churn: no CONNECTED within 10 s')), 10_000);
        client.onConnect = () => (clearTimeout(timer), resolve());
        client.onWebSocketClose = () => (clearTimeout(timer), reject(new Error('ws churn: closed before CONNECTED')));
        client.activate();
      });
      const publisher = this.pick(this.settings.publishers);
      client.subscribe(topicOf(publisher), (m) => session.receive(publisher, Number(m.headers['x-soak-seq'])), { id: 'churn-t' });
      client.subscribe(queueOf(this.pick(this.settings.queues)), (m) => this.onQueueMessage(client, m), { id: 'churn-q', ack: 'client-individual', 'prefetch-count': '1' });
      await sleep(this.dwell());
    } finally {
      await client.deactivate();
    }
  }

  private onQueueMessage(client: Client, m: IMessage): void {
    const producer = Number(m.headers['x-soak-prod']);
    const seq = Number(m.headers['x-soak-seq']);
    this.queueLedger.deliver(producer, seq, m.headers['redelivered'] === 'true');
    // Left unacked: the broker takes it back when this connection ends, and delivers it again.
    if (this.settings.random() < this.settings.leaveUnacked) return;
    const receipt = `churn-${this.index}-${this.cycles}-${seq}-${producer}`;
    client.watchForReceipt(receipt, () => this.queueLedger.ack(producer, seq));
    if (client.connected) m.ack({ receipt });
  }

  private async tcpCycle(session: ChurnSession): Promise<void> {
    const c = await RawClient.tcp(this.nodes.tcpPort(this.index + this.cycles));
    const publisher = this.pick(this.settings.publishers);
    try {
      await c.connect();
      await c.sendWithReceipt('SUBSCRIBE', { id: 'churn-t', destination: topicOf(publisher) }, '', 10_000);
      await sleep(this.dwell());
      await c.sendWithReceipt('DISCONNECT', {}, '', 10_000);
    } finally {
      c.close();
      // What arrived counts even when the cycle was cut short (the node drained, say).
      for (const f of c.frames) {
        if (f.command === 'MESSAGE') session.receive(publisher, Number(header(f, 'x-soak-seq')));
        else if (f.command === 'ERROR' && header(f, 'x-draining') === 'true') this.errors.drains++;
        else if (f.command === 'ERROR') this.errors.add(header(f, 'message') ?? '(no message header)');
      }
    }
  }
}
