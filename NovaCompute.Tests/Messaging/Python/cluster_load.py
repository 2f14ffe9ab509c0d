#!/usr/bin/python3
"""RPC load from a real oslo.messaging client: nova's BaseRPCAPI ping (namespace baseapi) to one
compute server, from several threads, until stdin closes. Run with Debian's /usr/bin/python3.

Every call ends as oslo's client ends it: an answer (which must echo the call's own sequence
number), MessagingTimeout, or another exception. Replies are counted per msg_id where oslo's
reply waiter receives them, so a call answered twice is seen even when nobody waits any more.
Prints "STARTED" once the first answer arrived, "ANSWERED n" every 10 answers, then at the end one JSON document:
{"sent", "answered", "timeouts", "errors": {class: n}, "mismatched", "duplicate_replies",
 "late_replies", "answers": [[t_seconds, ok], ...]}.
"""
import argparse
import collections
import json
import sys
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--topic", default="compute")
    parser.add_argument("--server", required=True)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=5)
    args = parser.parse_args()

    import oslo_messaging
    from oslo_config import cfg
    from oslo_messaging._drivers import amqpdriver
    from oslo_messaging._metrics import client as metrics

    endings = collections.Counter()
    lock = threading.Lock()
    original_put = amqpdriver.ReplyWaiters.put

    def counting_put(self, msg_id, message_data):
        if message_data.get("ending"):
            with lock:
                endings[msg_id] += 1
        return original_put(self, msg_id, message_data)

    amqpdriver.ReplyWaiters.put = counting_put

    conf = cfg.ConfigOpts()
    conf.register_opts(metrics.oslo_messaging_metrics, group="oslo_messaging_metrics")
    # As deployed beside a daemon with quorum queues: the client declares the same (durable) exchange.
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[oslo_messaging_rabbit]\nrabbit_quorum_queue = true\n")
    conf(["--config-file", f.name], project="cluster-load", default_config_files=[])
    oslo_messaging.set_transport_defaults("nova")
    transport = oslo_messaging.get_rpc_transport(conf, url=args.url)
    target = oslo_messaging.Target(topic=args.topic, server=args.server, namespace="baseapi", version="1.0")
    client = oslo_messaging.get_rpc_client(transport, target, timeout=args.timeout)
    ctxt = {"user_id": "load", "project_id": "load", "is_admin": True, "request_id": "req-load"}

    stop = threading.Event()
    started = threading.Event()
    results = {"sent": 0, "answered": 0, "timeouts": 0, "mismatched": 0}
    errors = collections.Counter()
    answers = []
    begin = time.monotonic()
    sequence = iter(range(1, 10 ** 9))

    def worker():
        while not stop.is_set():
            with lock:
                seq = next(sequence)
                results["sent"] += 1
            try:
                reply = client.call(ctxt, "ping", arg=seq)
                ok = isinstance(reply, dict) and reply.get("arg") == seq
                with lock:
                    results["answered"] += 1
                    if not ok:
                        results["mismatched"] += 1
                    answers.append([round(time.monotonic() - begin, 3), True])
                    if results["answered"] % 10 == 0:
                        print("ANSWERED", results["answered"], flush=True)
                started.set()
            except oslo_messaging.MessagingTimeout:
                with lock:
                    results["timeouts"] += 1
                    answers.append([round(time.monotonic() - begin, 3), False])
            except Exception as exc:  # noqa: BLE001 - whatever oslo raised is a figure
                with lock:
                    errors[type(exc).__name__] += 1
                    answers.append([round(time.monotonic() - begin, 3), False])
                time.sleep(0.2)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    started.wait()
    print("STARTED", flush=True)
    sys.stdin.read()
    stop.set()
    for t in threads:
        t.join(args.timeout + 5)
    time.sleep(1)  # replies still on their way are counted too
    with lock:
        out = dict(results)
        out["errors"] = dict(errors)
        out["hung"] = sum(1 for t in threads if t.is_alive())
        out["duplicate_replies"] = sum(1 for n in endings.values() if n > 1)
        out["late_replies"] = max(0, len(endings) - out["answered"])
        out["answers"] = answers
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    import os
    os._exit(0)
