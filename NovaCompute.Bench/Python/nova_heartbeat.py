"""nova's own compute-side heartbeat through nova-conductor, timed: the baseline of the
conductor heartbeat benchmark.

Sets up what nova/cmd/compute.py sets up (eventlet patching via nova.cmd, objects registered,
database access disabled, NovaObject.indirection_api = ConductorAPI), gets or creates the
Service record, then runs nova/servicegroup/drivers/db.py's _report_state body
(report_count += 1; save()) COUNT times after a warm-up. Prints one JSON line:
{"beats": N, "cpu_seconds": ..., "wall_seconds": ...} (this process's CPU time only).

Usage: nova_heartbeat.py CONFIG_FILE HOST COUNT
"""
import json
import os
import sys
import time

import nova.cmd  # noqa: F401  (eventlet monkey patching, as nova-compute)
from nova import config
from nova import context
from nova import objects
from nova.conductor import rpcapi as conductor_rpcapi
from nova.db.main import api as db_api
from nova.objects import base as objects_base

conf_file, host, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
config.parse_args([sys.argv[0], '--config-file', conf_file])
objects.register_all()
db_api.DISABLE_DB_ACCESS = True
objects_base.NovaObject.indirection_api = conductor_rpcapi.ConductorAPI()

ctxt = context.get_admin_context()
service = objects.Service.get_by_host_and_binary(ctxt, host, 'nova-compute')
if service is None:
    service = objects.Service(ctxt, host=host, binary='nova-compute', topic='compute', report_count=0)
    service.create()

for _ in range(10):
    service.report_count += 1
    service.save()

cpu0, wall0 = time.process_time(), time.perf_counter()
for _ in range(count):
    service.report_count += 1
    service.save()
cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
print(json.dumps({"beats": count, "cpu_seconds": cpu, "wall_seconds": wall}), flush=True)
# oslo.messaging leaves threads behind that would keep the process alive for seconds.
os._exit(0)
