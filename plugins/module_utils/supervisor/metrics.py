# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The supervisor's Prometheus metrics, in the text exposition format, served over HTTP.

A few counters and gauges with labels need no client library: this is the whole exposition (format 0.0.4), so the
supervisor depends on nothing beyond confluent-kafka and PyYAML on its hosts."""

from __future__ import annotations

import http.server
import json
import threading

CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

DEFINITIONS = {
    'sluice_supervisor_up': ('gauge', 'The supervisor process is running (always 1 while it answers).'),
    'sluice_supervisor_active': ('gauge', '1 on the supervisor that acts for its Connect cluster, 0 on standbys.'),
    'sluice_supervisor_task_restarts_total': ('counter', 'Task (or connector) restarts by connector, task and cause.'),
    'sluice_supervisor_quarantined_records_total': ('counter', 'Records copied to the DLQ and skipped by the sink.'),
    'sluice_supervisor_quarantine_failures_total': ('counter', 'Quarantine searches that found no record or failed.'),
    'sluice_supervisor_last_action_timestamp_seconds': ('gauge', 'Unix time of the last action by connector and action.'),
    'sluice_supervisor_backoff_attempts': ('gauge', 'Restarts since the task was last healthy for the reset period.'),
    'sluice_supervisor_backoff_seconds': ('gauge', 'Seconds the next restart of the task waits after a failure.'),
    'sluice_supervisor_last_poll_timestamp_seconds': ('gauge', 'Unix time of the last successful look at Connect.'),
    'sluice_supervisor_poll_errors_total': ('counter', 'Polls of Connect that failed.'),
}


def _escape(value):
    return str(value).replace('\\', '\\\\').replace('\n', '\\n').replace('"', '\\"')


def _number(value):
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self._values = {name: {} for name in DEFINITIONS}

    @staticmethod
    def _key(labels):
        return tuple(sorted((labels or {}).items()))

    def set(self, name, value, **labels):
        with self._lock:
            self._values[name][self._key(labels)] = float(value)

    def inc(self, name, amount=1.0, **labels):
        with self._lock:
            key = self._key(labels)
            self._values[name][key] = self._values[name].get(key, 0.0) + amount

    def get(self, name, **labels):
        return self._values[name].get(self._key(labels), 0.0)

    def remove(self, name, **labels):
        with self._lock:
            self._values[name].pop(self._key(labels), None)

    def render(self):
        lines = []
        with self._lock:
            for name, (kind, help_text) in DEFINITIONS.items():
                lines.append('# HELP %s %s' % (name, help_text))
                lines.append('# TYPE %s %s' % (name, kind))
                for key, value in sorted(self._values[name].items()):
                    labels = ','.join('%s="%s"' % (k, _escape(v)) for k, v in key)
                    lines.append('%s%s %s' % (name, '{%s}' % labels if labels else '', _number(value)))
        return '\n'.join(lines) + '\n'


def serve(metrics, address, port, actions=None):
    """Serve ``/metrics`` (and ``/actions``: JSON of ``actions()``, the supervisor's state and last actions, read by
    sluice-status) in a daemon thread; returns the server (``server_address`` has the bound port)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            path = self.path.split('?')[0]
            if path == '/actions' and actions is not None:
                body, kind = json.dumps(actions(), default=str).encode('utf-8'), 'application/json'
            elif path in ('/metrics', '/'):
                body, kind = metrics.render().encode('utf-8'), CONTENT_TYPE
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header('Content-Type', kind)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((address, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name='metrics', daemon=True).start()
    return server
