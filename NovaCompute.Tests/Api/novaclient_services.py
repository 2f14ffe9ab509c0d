"""python-novaclient against an endpoint without Keystone (keystoneauth1's NoAuth).

usage: novaclient_services.py URL VERSION|discover list
       novaclient_services.py URL VERSION disable HOST|UUID REASON TOKEN
Prints the services (or the updated one) as JSON with novaclient's attribute names.
"""
import json
import sys
import warnings

warnings.simplefilter("ignore")

import novaclient  # noqa: E402
from keystoneauth1 import noauth  # noqa: E402
from keystoneauth1 import session  # noqa: E402
from keystoneauth1 import token_endpoint  # noqa: E402
from novaclient import api_versions  # noqa: E402
from novaclient import client  # noqa: E402

url, version, action = sys.argv[1:4]
if action == "list":
    auth = noauth.NoAuth(endpoint=url)
else:
    auth = token_endpoint.Token(url, sys.argv[6])
sess = session.Session(auth=auth)
if version == "discover":
    # What the nova shell does for "2.latest": read the server's range from GET /v2.1 and take
    # the highest version both sides know.
    probe = client.Client("2.1", session=sess, endpoint_override=url)
    version = api_versions.discover_version(probe, api_versions.APIVersion("2.latest")).get_string()
nova = client.Client(version, session=sess, endpoint_override=url)

FIELDS = ("id", "binary", "host", "zone", "status", "state", "updated_at", "disabled_reason", "forced_down")


def view(service):
    return {f: getattr(service, f) for f in FIELDS if hasattr(service, f)}


if action == "list":
    json.dump({"version": nova.api_version.get_string(), "client_max": novaclient.API_MAX_VERSION.get_string(), "services": [view(s) for s in nova.services.list()]}, sys.stdout)
elif action == "disable":
    updated = nova.services.disable_log_reason(sys.argv[4], sys.argv[5])
    json.dump(view(updated), sys.stdout)
