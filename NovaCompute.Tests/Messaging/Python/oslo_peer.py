#!/usr/bin/python3
"""Real oslo.messaging / nova peers for NovaCompute's RPC tests and benchmark.

Run with Debian's /usr/bin/python3 (python3-oslo.messaging, python3-nova). Every mode prints one
JSON document on stdout (the serve mode prints READY, then serves until stdin closes):

  call|cast|fanout   an oslo RPCClient:   {"ok": <result>} or {"error": {...}}
  nova-ping          nova.baserpc.BaseAPI(topic).ping(ctx, arg, timeout)
  nova-backdoor      nova.baserpc.BaseAPI(topic).get_backdoor_port(ctx, host)
  serve              an oslo RPC server for Target(topic, server) with test endpoints
"""
import argparse
import json
import os
import sys
import threading
import time
import traceback


def describe_error(exc):
    return {
        "class": type(exc).__name__,
        "module": type(exc).__module__,
        "mro": ["%s.%s" % (c.__module__, c.__name__) for c in type(exc).__mro__],
        "str": str(exc),
        "args": [repr(a) for a in getattr(exc, "args", ())],
        "kwargs": {k: repr(v) for k, v in getattr(exc, "kwargs", {}).items()} if isinstance(getattr(exc, "kwargs", None), dict) else {},
    }


def oslo_transport(url, exchange, allowed_remote_exmods=None):
    import oslo_messaging
    from oslo_config import cfg
    from oslo_messaging._metrics import client as metrics
    conf = cfg.ConfigOpts()
    # RPCClient reads [oslo_messaging_metrics], which oslo only registers on the global CONF.
    conf.register_opts(metrics.oslo_messaging_metrics, group="oslo_messaging_metrics")
    conf([], project="oslo-peer", default_config_files=[])
    oslo_messaging.set_transport_defaults(exchange)
    return oslo_messaging, conf, oslo_messaging.get_rpc_transport(
        conf, url=url, allowed_remote_exmods=allowed_remote_exmods)


def context_dict(request_id):
    return {
        "user": "peer-user", "user_id": "peer-user", "project": "peer-project", "project_id": "peer-project",
        "is_admin": True, "read_deleted": "no", "roles": ["admin"], "request_id": request_id,
        "global_request_id": None, "auth_token": "secret-token-never-logged",
        "user_identity": "peer-user peer-project - - -",
    }


def run_client(args):
    allowed = [m for m in (args.allowed_exmods or "").split(",") if m]
    messaging, _, transport = oslo_transport(args.url, args.exchange, allowed)
    target = messaging.Target(topic=args.topic, server=args.server, namespace=args.namespace,
                              version=args.version, fanout=args.mode == "fanout")
    client = messaging.get_rpc_client(transport, target, timeout=args.timeout,
                                      call_monitor_timeout=args.call_monitor_timeout)
    ctxt = context_dict(args.request_id)
    kwargs = json.loads(args.args)
    try:
        if args.mode == "call":
            result = client.call(ctxt, args.method, **kwargs)
        else:
            result = client.cast(ctxt, args.method, **kwargs)
        out = {"ok": result}
    except Exception as exc:  # noqa: BLE001 - report whatever oslo raised
        out = {"error": describe_error(exc)}
    print(json.dumps(out))
    transport.cleanup()


def nova_setup(url):
    import nova.conf
    from nova import rpc
    from oslo_messaging import transport as oslo_transport_module
    conf = nova.conf.CONF
    # What nova.config.parse_args does first: nova's control exchange is "nova", not oslo's "openstack".
    rpc.set_defaults(control_exchange="nova")
    conf([], project="nova", default_config_files=[])
    # nova.rpc.init registers transport_url only while creating the transport; register it first.
    conf.register_opts(oslo_transport_module._transport_opts)
    conf.set_override("transport_url", url)
    rpc.init(conf)
    return conf


def run_nova(args):
    nova_setup(args.url)
    from nova import baserpc
    from nova import context
    api = baserpc.BaseAPI(args.topic)
    ctxt = context.RequestContext(user_id="nova-user", project_id="nova-project", is_admin=True,
                                  request_id=args.request_id)
    try:
        if args.mode == "nova-ping":
            out = {"ok": api.ping(ctxt, json.loads(args.args), timeout=args.timeout)}
        else:
            out = {"ok": api.get_backdoor_port(ctxt, args.server)}
    except Exception as exc:  # noqa: BLE001
        out = {"error": describe_error(exc)}
    print(json.dumps(out))


class PeerEndpoint(object):
    """Default-namespace endpoint of the oslo server: what our client calls."""

    def __init__(self, target):
        self.target = target

    def echo(self, ctxt, arg):
        return {"arg": arg, "request_id": ctxt.get("request_id"), "user": ctxt.get("user")}

    def fail(self, ctxt, message):
        raise ValueError(message)

    def slow(self, ctxt, secs):
        time.sleep(secs)
        return "done"

    def sink(self, ctxt, seq):
        print(json.dumps({"cast": seq, "request_id": ctxt.get("request_id")}), flush=True)


class PeerBaseApi(object):
    """Like nova's BaseRPCAPI, answering as service 'oslo-peer'."""

    def __init__(self, target):
        self.target = target

    def ping(self, ctxt, arg):
        return {"service": "oslo-peer", "arg": arg}


def run_server(args):
    messaging, _, transport = oslo_transport(args.url, args.exchange)
    target = messaging.Target(topic=args.topic, server=args.server)
    endpoints = [
        PeerEndpoint(messaging.Target(version="1.3")),
        PeerBaseApi(messaging.Target(namespace="baseapi", version="1.1")),
    ]
    server = messaging.get_rpc_server(transport, target, endpoints, executor="threading")
    server.start()
    print("READY", flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()
        server.wait()
        transport.cleanup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["call", "cast", "fanout", "nova-ping", "nova-backdoor", "serve"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--exchange", default="nova")
    parser.add_argument("--topic", required=True)
    parser.add_argument("--server")
    parser.add_argument("--namespace")
    parser.add_argument("--version")
    parser.add_argument("--method")
    parser.add_argument("--args", default="{}")
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--call-monitor-timeout", type=float)
    parser.add_argument("--allowed-exmods", default="")
    parser.add_argument("--request-id", default="req-11111111-2222-3333-4444-555555555555")
    args = parser.parse_args()
    try:
        if args.mode in ("call", "cast", "fanout"):
            run_client(args)
        elif args.mode.startswith("nova-"):
            run_nova(args)
        else:
            run_server(args)
    except Exception as exc:  # noqa: BLE001
        print(json.dumps({"error": describe_error(exc), "traceback": traceback.format_exc()}))
        return 1
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "oslo-peer"
    status = main()
    sys.stdout.flush()
    # oslo.messaging leaves non-daemon threads behind (connection heartbeat, reply polling) that
    # keep the interpreter alive about 10 s after transport.cleanup(); the answer is out, so go.
    os._exit(status)
