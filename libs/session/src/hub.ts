// One node's session layer: the registry of sessions, the router, the end-of-turn outbox and the
// tick that drives connect timeouts and heart-beats. Transports call `open` for each new socket.
import type { Broker } from '@stompede/broker-api';
import { OPEN_ACCESS, type Authenticator } from './authenticator.js';
import type { SessionConfig } from './config.js';
import type { SessionHost } from './host.js';
import type { Logger } from './logger.js';
import { Metrics } from './metrics.js';
import { Outbox } from './outbox.js';
import { Router } from './router.js';
import { Session } from './session.js';
import type { GroupPublisher, Transport } from './transport.js';

export interface HubOptions {
  readonly config: SessionConfig;
  readonly broker: Broker;
  /** Native group publish (uWS app.publish), or null when no transport offers it. */
  readonly publisher: GroupPublisher | null;
  readonly logger: Logger;
  /** Checks CONNECT credentials; without one, every client is accepted as anonymous. */
  readonly authenticator?: Authenticator;
  /** Clock in ms; injectable for tests. */
  readonly now?: () => number;
}

export class Hub implements SessionHost {
  readonly config: SessionConfig;
  readonly metrics = new Metrics();
  readonly outbox: Outbox;
  readonly router: Router;
  readonly logger: Logger;
  readonly authenticator: Authenticator;
  readonly now: () => number;
  private readonly sessions = new Set<Session>();
  /** Open connections by transport kind ("ws", "tcp"). */
  readonly connectionsByTransport = new Map<string, number>();
  private readonly closedListeners = new Set<() => void>();
  /** Sessions holding their input for publish pressure, released when it goes. */
  private readonly holding = new Set<Session>();
  /** Set while draining, if the broker hands queue entries to other nodes: local consumers take none. */
  queueTakesPaused = false;
  private nextSessionId = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** One timer for every session: scanning 10k sessions costs far less than 10k timers. */
  readonly tickMs: number;

  constructor(private readonly options: HubOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.authenticator = options.authenticator ?? OPEN_ACCESS;
    this.now = options.now ?? Date.now;
    this.outbox = new Outbox(this.config.coalesce, options.publisher, (err) =>
      this.logger.error({ err }, 'output flush failed'),
    );
    this.router = new Router(this.config, options.broker, this.outbox, this.metrics, this.logger, () => this.pressureRelieved());
    this.tickMs = Math.min(250, Math.max(10, Math.floor(this.config.heartbeatFloorMs / 4)));
  }

  get connections(): number {
    return this.sessions.size;
  }

  async start(): Promise<void> {
    await this.options.broker.start(this.router);
    this.ticker = setInterval(() => this.tick(), this.tickMs);
    this.ticker.unref();
  }

  /** A new socket. Over maxConnections it still gets a session, which answers with ERROR and closes. */
  open(transport: Transport): Session {
    const session = new Session(this, transport, (++this.nextSessionId).toString(36));
    // A refused connection is counted in errors ("too many connections"), not as opened: opened
    // minus closed stays the number of open connections.
    if (this.sessions.size >= this.config.maxConnections) {
      session.fail('too many connections', `This node accepts at most ${this.config.maxConnections} connections (maxConnections).`);
      return session;
    }
    this.metrics.connectionsOpened++;
    this.sessions.add(session);
    const kind = transport.kind;
    this.connectionsByTransport.set(kind, (this.connectionsByTransport.get(kind) ?? 0) + 1);
    return session;
  }

  detach(session: Session): void {
    this.holding.delete(session);
    if (!this.sessions.delete(session)) return;
    this.metrics.connectionsClosed++;
    const kind = session.transport.kind;
    this.connectionsByTransport.set(kind, (this.connectionsByTransport.get(kind) ?? 1) - 1);
    for (const listener of this.closedListeners) listener();
  }

  tick(): void {
    const now = this.now();
    for (const s of this.sessions) s.tick(now, this.tickMs);
    this.router.publishCounts.roll(now);
  }

  holdingInput(session: Session): void {
    this.holding.add(session);
    this.metrics.inputHolds++;
  }

  /** Sessions holding their input for publish pressure now. */
  get inputsHeld(): number {
    return this.holding.size;
  }

  /** The broker says publish pressure went away: every held session goes on (and holds again if it must). */
  private pressureRelieved(): void {
    const held = [...this.holding];
    this.holding.clear();
    for (const s of held) s.releaseInput();
  }

  // ---------------------------------------------------------------- introspection and drain

  /** The open sessions, in the order they connected. */
  list(): IterableIterator<Session> {
    return this.sessions.values();
  }

  /** The open session with this id (the part of CONNECTED's `session` header after the node id). */
  find(id: string): Session | undefined {
    for (const s of this.sessions) if (s.id === id) return s;
    return undefined;
  }

  /** Calls `listener` whenever a session is gone (a drain waits for the last one). Returns the unsubscribe. */
  onSessionClosed(listener: () => void): () => void {
    this.closedListeners.add(listener);
    return () => this.closedListeners.delete(listener);
  }

  /**
   * Draining (true) or serving again. Where the broker can hand queue entries to other nodes, the
   * local consumers take no new ones while draining, so queue work moves before its clients do.
   */
  setDraining(draining: boolean): void {
    const handedBack = this.options.broker.setDraining?.(draining) ?? false;
    this.queueTakesPaused = draining && handedBack;
    if (!draining) this.router.resumeQueues();
  }

  /** Tells every client the node is going away (ERROR, then close) and stops the broker. */
  async close(reason = 'server shutting down'): Promise<void> {
    if (this.ticker !== undefined) clearInterval(this.ticker);
    for (const s of [...this.sessions]) s.fail(reason, 'The broker node is shutting down; reconnect to another node.');
    this.outbox.flush();
    await this.options.broker.close();
  }
}
