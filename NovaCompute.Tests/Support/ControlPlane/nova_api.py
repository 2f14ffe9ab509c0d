"""nova-api (Zed) under wsgiref for the tests: nova's own WSGI application, no web server package.

Usage: nova_api.py PORT, with OS_NOVA_CONFIG_DIR / OS_NOVA_CONFIG_FILES naming api-paste.ini and
nova.conf (nova/api/openstack/wsgi_app.py reads them). Prints "listening PORT" once serving.
"""
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

port = int(sys.argv[1])
# nova's config.parse_args reads sys.argv: leave it nothing but the program name.
sys.argv = sys.argv[:1]

from nova.api.openstack.compute import wsgi  # noqa: E402

application = wsgi.init_application()


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


# One request at a time (a threaded server deadlocks under nova's eventlet patching); the tests
# send one at a time.
server = make_server('127.0.0.1', port, application, handler_class=Quiet)
print('listening', port, flush=True)
server.serve_forever()
