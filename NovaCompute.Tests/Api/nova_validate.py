"""Runs nova's own request validation on the cases given on stdin and prints nova's messages.

Input: a JSON list of {"schema": <name in nova.api.openstack.compute.schemas.services>,
"instance": <value>, "is_body": bool}. Output: a JSON list with, for each case, the message
nova's _SchemaValidator raises (null when the value is valid). Run with Debian's /usr/bin/python3,
which has python3-nova.
"""
import json
import logging
import sys
import warnings

warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)

from nova import exception  # noqa: E402
from nova.api.openstack.compute.schemas import services  # noqa: E402
from nova.api.validation import validators  # noqa: E402


def validate(case):
    schema = getattr(services, case["schema"])
    try:
        validators._SchemaValidator(schema, is_body=case.get("is_body", True)).validate(case["instance"])
    except exception.ValidationError as e:
        return e.format_message()
    return None


json.dump([validate(c) for c in json.load(sys.stdin)], sys.stdout)
