// SockJS framing (the SockJS protocol, 0.3.3): the frames a server sends and the envelopes each HTTP
// transport wraps them in. Pure functions over strings; no sockets here.

/** Open frame: the first frame of every session. */
export const OPEN = 'o';
/** Heart-beat frame, so that proxies do not cut an idle receiving request. */
export const HEARTBEAT = 'h';
export const GO_AWAY = closeFrame(3000, 'Go away!');
export const ANOTHER_CONNECTION = closeFrame(2010, 'Another connection still open');
/** A receiving request was cut by the network: messages may have been lost, so the session is over. */
export const INTERRUPTED = closeFrame(1002, 'Connection interrupted');

export function closeFrame(code: number, reason: string): string {
  return `c[${code},${JSON.stringify(reason)}]`;
}

// Characters browsers mangle on some transports, escaped beyond what JSON.stringify does (the
// protocol's `escapable_by_server`; JSON.stringify already escapes \x00-\x1f and lone surrogates).
const ESCAPABLE = /[\u200c-\u200f\u2028-\u202f\u2060-\u206f\ufff0-\uffff]/g;

/** One message as it goes inside an `a[...]` frame. */
export function encodeMessage(text: string): string {
  return JSON.stringify(text).replace(ESCAPABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The `a` frame carrying already-encoded messages. */
export function messagesFrame(encoded: readonly string[]): string {
  return `a[${encoded.join(',')}]`;
}

export class BrokenJson extends Error {}

/**
 * Messages a client sent: a JSON array of strings (xhr_send, websocket) or one JSON string
 * (websocket). Anything else is broken JSON: the protocol answers 500 or cuts the WebSocket.
 */
export function parseClientMessages(payload: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    throw new BrokenJson('Broken JSON encoding.');
  }
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((m) => typeof m === 'string')) return value as string[];
  throw new BrokenJson('Broken JSON encoding.');
}

/** How one HTTP transport puts frames on the wire. */
export interface Envelope {
  readonly contentType: string;
  /** Sent before the first frame (streaming transports pad so that browsers start delivering). */
  prelude(): string;
  wrap(frame: string): string;
  /** Polling transports answer one frame per request; streaming ones keep the response open. */
  readonly streaming: boolean;
}

const JS = 'application/javascript; charset=UTF-8';

export const XHR: Envelope = { contentType: JS, prelude: () => '', wrap: (f) => `${f}\n`, streaming: false };

export const XHR_STREAMING: Envelope = {
  contentType: JS,
  // 2 KiB of `h` so that old browsers (and some proxies) start passing the body through.
  prelude: () => `${'h'.repeat(2048)}\n`,
  wrap: (f) => `${f}\n`,
  streaming: true,
};

export const EVENTSOURCE: Envelope = {
  contentType: 'text/event-stream; charset=UTF-8',
  prelude: () => '\r\n',
  wrap: (f) => `data: ${f}\r\n\r\n`,
  streaming: true,
};

/** A callback name for htmlfile/jsonp: a JavaScript identifier path, nothing that could inject code. */
export const CALLBACK = /^[a-zA-Z0-9_.]{1,64}$/;

export function htmlfile(callback: string): Envelope {
  const head =
    '<!doctype html>\n<html><head>\n' +
    '  <meta http-equiv="X-UA-Compatible" content="IE=edge" />\n' +
    '  <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />\n' +
    "</head><body><h2>Don't panic!</h2>\n" +
    '  <script>\n    document.domain = document.domain;\n' +
    `    var c = parent.${callback};\n    c.start();\n    function p(d) {c.message(d);};\n` +
    '    window.onload = function() {c.stop();};\n  </script>\n';
  // Padded past 1 KiB: some browsers render nothing of a document before that.
  const prelude = head + ' '.repeat(Math.max(0, 1025 - head.length)) + '\r\n\r\n';
  return {
    contentType: 'text/html; charset=UTF-8',
    prelude: () => prelude,
    wrap: (f) => `<script>\np(${JSON.stringify(f)});\n</script>\r\n`,
    streaming: true,
  };
}
