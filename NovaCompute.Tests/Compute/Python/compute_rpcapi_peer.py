#!/usr/bin/python3
"""nova's own compute RPC client (nova.compute.rpcapi.ComputeAPI) calling one host's compute service.

Run with Debian's /usr/bin/python3 (python3-nova). [upgrade_levels] compute is set, so the client
never asks a database for the minimum compute version. Prints one JSON document:
{"ok": <result>} or {"error": {"class": ..., "module": ..., "str": ...}}.
"""
import argparse
import json
import os
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("method", choices=["get_host_uptime", "set_host_enabled", "host_maintenance_mode", "host_power_action"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--cap", default="6.1")
    parser.add_argument("--enabled", choices=["true", "false"])
    parser.add_argument("--mode", choices=["true", "false"])
    parser.add_argument("--action")
    args = parser.parse_args()

    import nova.conf
    from nova import rpc
    from oslo_messaging import transport as oslo_transport_module
    conf = nova.conf.CONF
    rpc.set_defaults(control_exchange="nova")
    conf([], project="nova", default_config_files=[])
    conf.register_opts(oslo_transport_module._transport_opts)
    conf.set_override("transport_url", args.url)
    conf.set_override("compute", args.cap, group="upgrade_levels")
    conf.set_override("long_rpc_timeout", 15)
    rpc.init(conf)

    from nova.compute import rpcapi
    from nova import context
    api = rpcapi.ComputeAPI()
    ctxt = context.RequestContext(user_id="admin", project_id="admin", is_admin=True)
    try:
        if args.method == "get_host_uptime":
            out = api.get_host_uptime(ctxt, args.host)
        elif args.method == "set_host_enabled":
            out = api.set_host_enabled(ctxt, args.host, args.enabled == "true")
        elif args.method == "host_maintenance_mode":
            out = api.host_maintenance_mode(ctxt, args.host, args.host, args.mode == "true")
        else:
            out = api.host_power_action(ctxt, args.host, args.action)
        print(json.dumps({"ok": out}))
    except Exception as exc:  # noqa: BLE001
        print(json.dumps({"error": {"class": type(exc).__name__, "module": type(exc).__module__, "str": str(exc)}}))


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    # oslo.messaging's non-daemon threads would keep the interpreter alive ~10 s after the answer.
    os._exit(0)
