"""Writes a real oslo.reports Guru Meditation Report for GuruMeditationReportTests' golden file.

Run: /usr/bin/python3 oslo_gurumeditation.py --config-file oslo_gurumeditation.conf 2> oslo_gurumeditation.txt
(from this directory). Options cover every value shape the daemon renders: str, None, int, float,
bool, list (unsorted on purpose: oslo sorts it), a secret, an empty list, and a group.
"""
import os
import signal
import sys
import threading
import time

from oslo_config import cfg
from oslo_reports import guru_meditation_report as gmr
from oslo_reports import opts as gmr_opts

CONF = cfg.CONF
CONF.register_opts([
    cfg.StrOpt('host', default='node1'),
    cfg.StrOpt('transport_url', secret=True, default='rabbit://'),
    cfg.IntOpt('report_interval', default=10),
    cfg.FloatOpt('cpu_allocation_ratio', default=16.0),
    cfg.BoolOpt('debug', default=False),
    cfg.StrOpt('tempdir'),
    cfg.ListOpt('enabled_apis', default=['osapi_compute', 'metadata']),
    cfg.ListOpt('empty_list', default=[]),
])
CONF.register_opts([cfg.StrOpt('connection', secret=True)], group='database')
gmr_opts.set_defaults(CONF)
CONF(sys.argv[1:], project='nova')


class Version(object):
    def vendor_string(self):
        return 'OpenStack Foundation'

    def product_string(self):
        return 'OpenStack Nova'

    def version_string_with_package(self):
        return '26.2.2'


def worker():
    time.sleep(5)


gmr.TextGuruMeditation.setup_autorun(Version(), service_name='nova-compute', conf=CONF)
threading.Thread(target=worker, daemon=True).start()
os.kill(os.getpid(), signal.SIGUSR2)
