#!/usr/bin/python3
"""One real nova compute-side service process: nova.service.Service with nova's servicegroup DB
driver, writing its heartbeat straight to the database (no indirection_api, as a compute with
direct database access), the per-compute baseline of `./build.sh bench simulate`.

Run with Debian's /usr/bin/python3 (python3-nova). The manager is nova.manager.Manager (no virt
driver, no placement), so what is measured is the service framework: eventlet, oslo.messaging's
RPC server on compute.<host>, the servicegroup heartbeat and the periodic-task timer.
Prints "READY <pid>" once Service.start() returned.
"""
import sys

import nova.monkey_patch  # noqa: F401  (nova/cmd/__init__.py does this first)


def main():
    connection, transport_url, host, report_interval = sys.argv[1:5]
    import os
    import tempfile
    import nova.conf
    from nova import config, objects, service
    # nova configures its database engine while parsing: the options must come from a file.
    fd, path = tempfile.mkstemp(suffix=".conf")
    with os.fdopen(fd, "w") as f:
        f.write(f"[DEFAULT]\ntransport_url = {transport_url}\nhost = {host}\nreport_interval = {report_interval}\n"
                f"periodic_fuzzy_delay = 0\n[database]\nconnection = {connection}\n")
    config.parse_args(["nova-compute", "--config-file", path], default_config_files=[])
    os.unlink(path)
    objects.register_all()
    server = service.Service.create(binary="nova-compute", topic="compute", manager="nova.manager.Manager")
    service.serve(server)
    print("READY", flush=True)
    service.wait()


if __name__ == "__main__":
    main()
