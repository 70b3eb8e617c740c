#!/usr/bin/env python3
"""Drives Debian's stomp.py (python3-stomp, 8.x) through a scripted scenario for the interop tests.

The scenario is a JSON object, given as argv[1] or on stdin:

  {"host": "127.0.0.1", "port": 61613, "version": "1.2", "timeout": 20, "login": "u", "passcode": "p",
   "steps": [{"op": "subscribe", "destination": "/queue/a", "id": "s1", "ack": "client-individual",
              "receipt": "r1"}, ...]}

Steps (a "receipt" on any step makes the script wait for that RECEIPT before going on):
  subscribe      destination, id, ack
  unsubscribe    id
  send           destination, body, headers (object), content_type
  wait_messages  count: until that many MESSAGE frames arrived in total
  ack / nack     index: the received message to settle (by position, 0-based)
  reply          from: answer every message from that index on, on its reply-to, with
                 prefix + body and the request's correlation-id
  wait_error     until an ERROR frame arrived and the broker closed the connection
  signal         name: prints {"event": name} on stdout right away (the test waits for it)
  disconnect     (ends the connection; use a receipt to make it graceful)

The last stdout line is the result, {"result": {...}}: the CONNECTED headers, every MESSAGE
(headers and body), the RECEIPT ids, ERROR frames, and "exception" if a step failed. The
assertions are the TypeScript test's business; this script only reports what happened.
"""
import json
import sys
import threading
import time

try:
    import stomp
except ImportError:  # the TS test checks first and names the package; keep the message useful anyway
    print(json.dumps({"result": {"exception": "stomp.py missing: apt-get install python3-stomp"}}), flush=True)
    sys.exit(2)


class Recorder(stomp.ConnectionListener):
    def __init__(self):
        self.cond = threading.Condition()
        self.connected = None
        self.messages = []
        self.receipts = []
        self.errors = []
        self.disconnected = False

    def on_connected(self, frame):
        with self.cond:
            self.connected = dict(frame.headers)
            self.cond.notify_all()

    def on_message(self, frame):
        with self.cond:
            self.messages.append({"headers": dict(frame.headers), "body": frame.body})
            self.cond.notify_all()

    def on_receipt(self, frame):
        with self.cond:
            self.receipts.append(frame.headers.get("receipt-id"))
            self.cond.notify_all()

    def on_error(self, frame):
        with self.cond:
            self.errors.append({"headers": dict(frame.headers), "body": frame.body})
            self.cond.notify_all()

    def on_disconnected(self):
        with self.cond:
            self.disconnected = True
            self.cond.notify_all()

    def wait(self, what, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("timed out waiting for %s" % what)
                self.cond.wait(left)


CONNECTIONS = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}


def settle(conn, version, command, message, receipt):
    headers = message["headers"]
    method = getattr(conn, command)
    if version == "1.2":
        method(headers["ack"], receipt=receipt)
    elif version == "1.1":
        method(headers["message-id"], headers["subscription"], receipt=receipt)
    elif command == "ack":
        method(headers["message-id"], receipt=receipt)
    else:
        raise ValueError("STOMP 1.0 has no NACK")


def run(scenario):
    version = scenario.get("version", "1.2")
    timeout = float(scenario.get("timeout", 20))
    rec = Recorder()
    conn = CONNECTIONS[version]([(scenario.get("host", "127.0.0.1"), int(scenario["port"]))],
                                reconnect_attempts_max=1, timeout=timeout)
    conn.set_listener("recorder", rec)
    result = {"version": version}
    try:
        conn.connect(scenario.get("login"), scenario.get("passcode"), wait=True)
        rec.wait("CONNECTED", lambda: rec.connected is not None, timeout)
        for step in scenario.get("steps", []):
            op = step["op"]
            receipt = step.get("receipt")
            if op == "subscribe":
                extra = {"receipt": receipt} if receipt else {}
                conn.subscribe(step["destination"], step.get("id"), ack=step.get("ack", "auto"), headers=extra)
            elif op == "unsubscribe":
                extra = {"receipt": receipt} if receipt else {}
                conn.unsubscribe(id=step["id"], headers=extra)
            elif op == "send":
                headers = dict(step.get("headers", {}))
                if receipt:
                    headers["receipt"] = receipt
                conn.send(step["destination"], step.get("body", ""), content_type=step.get("content_type"), headers=headers)
            elif op == "wait_messages":
                n = int(step["count"])
                rec.wait("%d messages" % n, lambda: len(rec.messages) >= n, timeout)
            elif op in ("ack", "nack"):
                settle(conn, version, op, rec.messages[int(step["index"])], receipt)
            elif op == "reply":
                with rec.cond:
                    todo = rec.messages[int(step.get("from", 0)):]
                for m in todo:
                    h = m["headers"]
                    extra = {"correlation-id": h["correlation-id"]} if "correlation-id" in h else {}
                    conn.send(h["reply-to"], step.get("prefix", "") + m["body"], headers=extra)
            elif op == "wait_error":
                rec.wait("ERROR", lambda: len(rec.errors) > 0, timeout)
                rec.wait("the broker closing", lambda: rec.disconnected, timeout)
            elif op == "signal":
                print(json.dumps({"event": step["name"]}), flush=True)
            elif op == "disconnect":
                # With a receipt stomp.py waits for it and then stops its transport thread.
                conn.disconnect(receipt=receipt or "bye-%d" % id(step))
                receipt = None  # stomp.py consumes the DISCONNECT receipt itself
                rec.wait("disconnect", lambda: rec.disconnected, timeout)
            else:
                raise ValueError("unknown op %r" % op)
            if receipt:
                rec.wait("RECEIPT %s" % receipt, lambda: receipt in rec.receipts, timeout)
    except Exception as err:  # reported, not raised: the test asserts on it
        result["exception"] = "%s: %s" % (type(err).__name__, err)
    finally:
        if conn.is_connected():
            conn.disconnect(receipt="final")
    with rec.cond:
        result.update(connected=rec.connected, messages=rec.messages, receipts=rec.receipts,
                      errors=rec.errors, disconnected=rec.disconnected)
    return result


def main():
    raw = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    print(json.dumps({"result": run(json.loads(raw))}), flush=True)


if __name__ == "__main__":
    main()
