// Topic traffic in k6: publishers numbering their messages, and subscribers counting what they get
// per publisher (lost, duplicated, incomplete, latency). A subscriber whose node drains (ERROR with
// x-draining) or goes away reconnects to the next URL and resumes after the last message it saw
// (x-resume-after), as docs/resume.md tells clients to.
import { setInterval, clearInterval, setTimeout } from 'k6/timers';
import { record } from './metrics.ts';
import { HEADER, SeqTrack } from './scenario-core.ts';
import { StompSocket, type Frame } from './stomp.ts';

export interface SubscriberPlan {
  readonly urls: readonly string[];
  /** Index into urls of the first node; reconnects move along the list. */
  readonly home: number;
  readonly destination: string;
  /** Publishers that will publish to the destination (one not heard from counts as incomplete). */
  readonly publishers: number;
  /** How long to stay subscribed, from the start of the iteration. */
  readonly holdMs: number;
  readonly reconnectDelayMs: number;
}

/** Runs one subscriber for plan.holdMs; records its metrics when it leaves. */
export function runSubscriber(plan: SubscriberPlan): void {
  const tracks = new Map<string, SeqTrack>();
  let node = plan.home;
  let lastId: string | undefined;
  let lostConnectionAt: number | undefined;
  let leaving = false;
  let socket: StompSocket;

  const onMessage = (frame: Frame): void => {
    const publisher = frame.headers[HEADER.publisher] ?? '?';
    let track = tracks.get(publisher);
    if (track === undefined) tracks.set(publisher, (track = new SeqTrack()));
    const before = track.duplicated;
    track.see(Number(frame.headers[HEADER.seq]), frame.headers[HEADER.final] === 'true');
    if (track.duplicated === before) {
      record('stomp_delivered');
      record('stomp_latency_ms', Date.now() - Number(frame.headers[HEADER.sentMs]));
    }
    lastId = frame.headers['message-id'] ?? lastId;
  };

  const open = (): void => {
    const receipt = `sub-${Date.now()}`;
    socket = new StompSocket(plan.urls[node % plan.urls.length]!, {
      onConnected: (_, ms) => {
        record('stomp_connects');
        record('stomp_connect_ms', ms);
        const headers: Record<string, string> = { receipt };
        if (lastId !== undefined) headers['x-resume-after'] = lastId;
        socket.subscribe(plan.destination, 'load', headers);
      },
      onReceipt: (id) => {
        if (id !== receipt || lostConnectionAt === undefined) return;
        record('stomp_reconnects');
        record('stomp_reconnect_ms', Date.now() - lostConnectionAt);
        lostConnectionAt = undefined;
      },
      onMessage,
      onError: (frame) => {
        if (frame.headers['x-draining'] === 'true') {
          record('stomp_drain_notices');
          // The header matters when no message came; the last one received wins otherwise.
          const header = frame.headers['x-last-message-id-load'];
          if (header !== undefined && lastId !== undefined && header !== lastId) record('stomp_stale_drain_ids');
          lastId ??= header;
          node++;
        } else {
          record('stomp_errors');
        }
      },
      onSocketError: () => {
        if (!socket.connected) record('stomp_connect_errors');
      },
      onClose: () => {
        if (leaving) return;
        lostConnectionAt ??= Date.now();
        setTimeout(open, plan.reconnectDelayMs);
      },
    });
  };
  open();

  setTimeout(() => {
    leaving = true;
    let incomplete = Math.max(0, plan.publishers - tracks.size);
    for (const track of tracks.values()) {
      record('stomp_lost', track.missing.size);
      record('stomp_duplicated', track.duplicated);
      if (!track.sawFinal) incomplete++;
    }
    record('stomp_incomplete', incomplete);
    socket.close();
  }, plan.holdMs);
}

export interface PublisherPlan {
  readonly urls: readonly string[];
  readonly home: number;
  readonly destination: string;
  /** Messages per second from this publisher. */
  readonly ratePerSec: number;
  readonly durationMs: number;
  readonly bodyBytes: number;
  readonly reconnectDelayMs: number;
}

/** Publishes ratePerSec for durationMs, every SEND with a receipt; the last one is marked final. */
export function runPublisher(plan: PublisherPlan): void {
  const id = `k6-${__VU}-${Date.now()}`;
  const total = Math.max(1, Math.round((plan.ratePerSec * plan.durationMs) / 1000));
  const body = 'x'.repeat(plan.bodyBytes);
  const started = Date.now();
  let node = plan.home;
  let seq = 0;
  let socket: StompSocket;
  let timer: ReturnType<typeof setInterval> | undefined;

  const open = (): void => {
    socket = new StompSocket(plan.urls[node % plan.urls.length]!, {
      onReceipt: (r) => {
        if (r.startsWith('p-')) record('stomp_published');
        if (r === `p-${total}`) socket.close();
      },
      onError: (frame) => {
        if (frame.headers['x-draining'] === 'true') node++;
        else record('stomp_errors');
      },
      onClose: () => {
        if (seq < total) setTimeout(open, plan.reconnectDelayMs);
        else if (timer !== undefined) clearInterval(timer);
      },
    });
  };
  open();

  // A tick every 10 ms sends what the rate owes by then, so rates above 100/s need no finer timer.
  timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((Date.now() - started) * plan.ratePerSec) / 1000) + 1);
    while (seq < due && socket.connected) {
      seq++;
      const headers: Record<string, string> = {
        [HEADER.publisher]: id,
        [HEADER.seq]: String(seq),
        [HEADER.sentMs]: String(Date.now()),
        receipt: `p-${seq}`,
      };
      if (seq === total) headers[HEADER.final] = 'true';
      socket.send(plan.destination, headers, body);
    }
    if (seq >= total && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  }, 10);
}
