# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Kafka Connect REST client and shared helpers for the sluice.cdc Connect modules.

All network I/O of ``connect_connector`` and ``connect_connector_info`` goes through
:meth:`ConnectClient.request`, built on ``ansible.module_utils.urls.open_url`` so that the host
running the module needs no extra Python package. Also here: masking of secret config values
(:class:`Masker`), parsing of validation results and polling a connector until it reaches a state.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.parse

try:
    from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
    from ansible.module_utils.urls import open_url
except ImportError:  # a CLI or service on a host without Ansible (sluice-supervisor): the stdlib transport below
    open_url = None

    class UrlsConnectionError(Exception):
        pass

MASK = '********'

# Connection options of every module that talks to the Connect REST API (documented in doc_fragments/connect.py).
CONNECTION_ARGUMENT_SPEC = dict(
    url=dict(type='str', required=True),
    validate_certs=dict(type='bool', default=True),
    ca_path=dict(type='path'),
    client_cert=dict(type='path'),
    client_key=dict(type='path', no_log=False),
    url_username=dict(type='str'),
    url_password=dict(type='str', no_log=True),
    request_timeout=dict(type='int', default=30),
)
DEFAULT_SECRET_KEYS = [r'(?i)(password|secret|token|credential|sasl\.jaas\.config|\.key$)']
# A value made only of config-provider references such as ${dir:/path:key} or ${file:/path:key}:
# it names where the secret lives, it is not the secret.
CONFIG_REFERENCE = re.compile(r'^(?:\$\{[A-Za-z0-9_.-]+:[^{}]*\})+$')
# Secret values shorter than this are masked where they are config values, but not searched for
# and replaced inside free text (messages, traces): that would mangle every occurrence of 'abc'.
MIN_SCRUB_LENGTH = 4
# Lines of a connector's or task's stack trace quoted in a failure message.
TRACE_LINES = 40

# 409 from Connect means "rebalance in progress" (or "stale configuration"): retried this often.
CONFLICT_RETRIES = 5
CONFLICT_BACKOFF = 2.0

# Status polling; module-level so that tests can make it instant.
POLL_INTERVAL = 1.0
# The target state must be seen on this many consecutive polls (a status read right after a
# change may still describe the connector before the change).
STABLE_POLLS = 2
# A RUNNING connector without tasks is accepted only after this many seconds (tasks appear a
# moment after the connector starts; a connector may also legitimately have none).
EMPTY_TASKS_GRACE = 10.0
# When the connector had FAILED parts before the change (restart, config fix), a FAILED status
# within this many seconds may be the old one and is not yet treated as a failure.
FAILED_GRACE = 5.0
CLOCK = time.monotonic
SLEEP = time.sleep

STATES = ('RUNNING', 'PAUSED', 'STOPPED')


class ConnectError(Exception):
    """A Kafka Connect request failed; ``str()`` is meant for the user.

    ``status`` is the HTTP status (``None`` when no response came back) and ``connect_message``
    the ``message`` of Connect's error body."""

    def __init__(self, msg, status=None, connect_message=None):
        super().__init__(msg)
        self.status = status
        self.connect_message = connect_message


class WaitError(ConnectError):
    """A connector failed or did not reach the wanted state in time; ``last_status`` is the last
    status read (or ``None``)."""

    def __init__(self, msg, last_status=None):
        super().__init__(msg)
        self.last_status = last_status


def _display_url(url):
    """The URL without user:password@, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ''
    if parts.port:
        netloc += ':%d' % parts.port
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def quote(segment):
    """A connector or plugin name as one URL path segment."""
    return urllib.parse.quote(str(segment), safe='')


class ConnectClient:
    """Talks to one Kafka Connect worker's REST API (it forwards to the leader where needed)."""

    def __init__(self, url, validate_certs=True, ca_path=None, client_cert=None, client_key=None,
                 url_username=None, url_password=None, timeout=30):
        if not url or not re.match(r'^https?://[^/]', url):
            raise ConnectError('url must be an http:// or https:// URL of a Kafka Connect worker, got %r' % (url,))
        self.base_url = url.rstrip('/')
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.url_username = url_username
        self.url_password = url_password
        self.timeout = timeout

    # -- transport ------------------------------------------------------------------------------

    def _open(self, method, url, data, headers):
        if open_url is None:
            return self._open_stdlib(method, url, data, headers)
        return open_url(url, data=data, headers=headers, method=method, timeout=self.timeout,
                        validate_certs=self.validate_certs, ca_path=self.ca_path,
                        client_cert=self.client_cert, client_key=self.client_key,
                        url_username=self.url_username, url_password=self.url_password,
                        force_basic_auth=bool(self.url_username), follow_redirects='safe')

    def _open_stdlib(self, method, url, data, headers):
        import base64
        import ssl
        import urllib.request
        context = None
        if url.startswith('https:'):
            context = ssl.create_default_context(cafile=self.ca_path)
            if not self.validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if self.client_cert:
                context.load_cert_chain(self.client_cert, self.client_key)
        headers = dict(headers)
        if self.url_username:
            token = base64.b64encode(('%s:%s' % (self.url_username, self.url_password or '')).encode('utf-8'))
            headers['Authorization'] = 'Basic ' + token.decode('ascii')
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        return urllib.request.urlopen(req, timeout=self.timeout, context=context)

    def request(self, method, path, body=None, query=None):
        """Send one request; return the decoded JSON body (``None`` if empty).

        ``path`` starts with ``/`` and is already quoted; ``query`` is a list of ``(key, value)``.
        Raises :class:`ConnectError` for transport errors and HTTP statuses >= 400."""
        url = self.base_url + path
        if query:
            url += '?' + urllib.parse.urlencode(query)
        where = '%s %s' % (method, path + ('?' + urllib.parse.urlencode(query) if query else ''))
        headers = {'Accept': 'application/json'}
        data = None
        if body is not None:
            data = json.dumps(body).encode('utf-8')
            headers['Content-Type'] = 'application/json'
        attempt = 0
        while True:
            try:
                response = self._open(method, url, data, headers)
                raw = response.read()
                break
            except urllib.error.HTTPError as e:
                status, message = e.code, self._error_message(e)
                if status == 409 and attempt < CONFLICT_RETRIES and 'already exists' not in message:
                    attempt += 1
                    SLEEP(CONFLICT_BACKOFF * attempt)
                    continue
                raise ConnectError('Kafka Connect answered HTTP %d to %s: %s' % (status, where, message),
                                   status=status, connect_message=message) from None
            except urllib.error.URLError as e:
                reason = e.reason
                if isinstance(reason, (socket.timeout, TimeoutError)):
                    raise ConnectError('timed out after %ss on %s at %s'
                                       % (self.timeout, where, _display_url(self.base_url))) from None
                raise ConnectError('cannot reach Kafka Connect at %s (%s): %s'
                                   % (_display_url(self.base_url), where, reason)) from None
            except (socket.timeout, TimeoutError):
                raise ConnectError('timed out after %ss on %s at %s'
                                   % (self.timeout, where, _display_url(self.base_url))) from None
            except (UrlsConnectionError, http.client.HTTPException, OSError, ValueError) as e:
                raise ConnectError('cannot reach Kafka Connect at %s (%s): %s'
                                   % (_display_url(self.base_url), where, e)) from None
        if not raw:
            return None
        try:
            return json.loads(raw.decode('utf-8'))
        except ValueError:
            raise ConnectError('Kafka Connect sent a response to %s that is not JSON: %r'
                               % (where, raw[:200])) from None

    @staticmethod
    def _error_message(err):
        try:
            raw = err.read()
        except Exception:  # pylint: disable=broad-except
            raw = b''
        text = raw.decode('utf-8', 'replace').strip() if raw else ''
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get('message'):
            return str(body['message'])
        return text[:500] or (err.reason if isinstance(err.reason, str) else '') or 'no error message'

    # -- connectors -----------------------------------------------------------------------------

    def _get_or_none(self, path):
        try:
            return self.request('GET', path)
        except ConnectError as e:
            if e.status == 404:
                return None
            raise

    def get_config(self, name):
        """The connector's config (with the ``name`` key Connect adds), or ``None`` if it does not exist."""
        return self._get_or_none('/connectors/%s/config' % quote(name))

    def get_status(self, name):
        """The connector's status, or ``None`` if Connect has none (missing or not yet assigned)."""
        return self._get_or_none('/connectors/%s/status' % quote(name))

    def create(self, name, config, initial_state=None):
        body = {'name': name, 'config': dict(config, name=name)}
        if initial_state:
            body['initial_state'] = initial_state
        try:
            return self.request('POST', '/connectors', body)
        except ConnectError as e:
            if initial_state and e.status in (400, 422, 500) and 'initial_state' in (e.connect_message or ''):
                raise ConnectError('%s (initial_state needs Kafka Connect 3.7 or later)' % e,
                                   status=e.status, connect_message=e.connect_message) from None
            raise

    def put_config(self, name, config):
        return self.request('PUT', '/connectors/%s/config' % quote(name), dict(config, name=name))

    def pause(self, name):
        return self.request('PUT', '/connectors/%s/pause' % quote(name))

    def resume(self, name):
        return self.request('PUT', '/connectors/%s/resume' % quote(name))

    def stop(self, name):
        return self.request('PUT', '/connectors/%s/stop' % quote(name))

    def delete(self, name):
        return self.request('DELETE', '/connectors/%s' % quote(name))

    def restart(self, name, include_tasks=True, only_failed=True):
        query = [('includeTasks', 'true' if include_tasks else 'false'),
                 ('onlyFailed', 'true' if only_failed else 'false')]
        return self.request('POST', '/connectors/%s/restart' % quote(name), query=query)

    def restart_task(self, name, task):
        """``POST /connectors/{name}/tasks/{task}/restart``: restarts only that task."""
        return self.request('POST', '/connectors/%s/tasks/%s/restart' % (quote(name), quote(task)))

    def get_offsets(self, name):
        """``GET /connectors/{name}/offsets``: the list of ``{partition, offset}`` entries."""
        return (self.request('GET', '/connectors/%s/offsets' % quote(name)) or {}).get('offsets') or []

    def patch_offsets(self, name, offsets):
        """``PATCH /connectors/{name}/offsets`` (the connector must be STOPPED); ``offsets`` as in :meth:`get_offsets`."""
        return self.request('PATCH', '/connectors/%s/offsets' % quote(name), {'offsets': list(offsets)})

    def validate(self, config):
        """Raw result of ``PUT /connector-plugins/{connector.class}/config/validate``."""
        plugin = config.get('connector.class')
        if not plugin:
            raise ConnectError('cannot validate a config without connector.class')
        return self.request('PUT', '/connector-plugins/%s/config/validate' % quote(plugin), dict(config))

    def list_connectors(self):
        """``{name: {'status': ..., 'info': ...}}`` for every connector."""
        return self.request('GET', '/connectors', query=[('expand', 'status'), ('expand', 'info')]) or {}

    def plugins(self):
        return self.request('GET', '/connector-plugins', query=[('connectorsOnly', 'true')]) or []

    def worker(self):
        return self.request('GET', '/') or {}


# -- secrets ------------------------------------------------------------------------------------

class Masker:
    """Knows which config keys hold secrets, masks their values, and scrubs them from text."""

    def __init__(self, patterns=None):
        self.patterns = []
        for pattern in DEFAULT_SECRET_KEYS if patterns is None else patterns:
            try:
                self.patterns.append(re.compile(pattern))
            except re.error as e:
                raise ValueError('secret_keys: invalid regular expression %r: %s' % (pattern, e)) from None
        self.secrets = set()

    def is_secret_key(self, key):
        return any(p.search(str(key)) for p in self.patterns)

    @staticmethod
    def is_reference(value):
        return isinstance(value, str) and bool(CONFIG_REFERENCE.match(value))

    def hides(self, key, value):
        """True if ``value`` of ``key`` must not be shown."""
        return self.is_secret_key(key) and not self.is_reference(value)

    def learn(self, config):
        """Remember the secret values of ``config``, so that :meth:`scrub` removes them from text.
        Returns the set of values learnt (for ``AnsibleModule.no_log_values``)."""
        found = set()
        for key, value in (config or {}).items():
            if value is None or isinstance(value, bool) or not self.hides(key, value):
                continue
            text = str(value)
            if len(text) >= MIN_SCRUB_LENGTH and text.lower() not in ('true', 'false', 'null'):
                found.add(text)
        self.secrets |= found
        return found

    def mask(self, config):
        if config is None:
            return None
        return {k: MASK if self.hides(k, v) else v for k, v in config.items()}

    def scrub(self, text):
        if not isinstance(text, str):
            return text
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def scrub_data(self, data):
        if isinstance(data, dict):
            return {k: self.scrub_data(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self.scrub_data(v) for v in data]
        return self.scrub(data)


# -- validation ---------------------------------------------------------------------------------

def validation_errors(result):
    """``{key: [message, ...]}`` for every config key with errors in a validate result."""
    errors = {}
    for entry in (result or {}).get('configs') or []:
        value = entry.get('value') or {}
        messages = [str(m) for m in value.get('errors') or []]
        if messages:
            key = value.get('name') or (entry.get('definition') or {}).get('name') or '?'
            errors.setdefault(key, []).extend(messages)
    return errors


def format_errors(errors):
    """``key: message; key: message`` in key order."""
    return '; '.join('%s: %s' % (key, msg) for key in sorted(errors) for msg in errors[key])


# -- status -------------------------------------------------------------------------------------

def trace_head(trace, lines=TRACE_LINES):
    parts = str(trace).rstrip().splitlines()
    if len(parts) > lines:
        parts = parts[:lines] + ['... (%d more lines)' % (len(parts) - lines)]
    return '\n'.join(parts)


def status_summary(status):
    """``connector RUNNING, task 0 RUNNING, task 1 FAILED`` (or ``no status``)."""
    if not status:
        return 'no status'
    parts = ['connector %s' % (status.get('connector') or {}).get('state', 'UNKNOWN')]
    tasks = status.get('tasks') or []
    parts += ['task %s %s' % (t.get('id'), t.get('state', 'UNKNOWN')) for t in tasks]
    if not tasks:
        parts.append('no tasks')
    return ', '.join(parts)


def status_traces(status):
    """The traces of the connector and its tasks, each cut to its first lines."""
    if not status:
        return ''
    out = []
    connector = status.get('connector') or {}
    if connector.get('trace'):
        out.append('connector trace:\n' + trace_head(connector['trace']))
    for task in status.get('tasks') or []:
        if task.get('trace'):
            out.append('task %s trace:\n%s' % (task.get('id'), trace_head(task['trace'])))
    return '\n'.join(out)


def sink_offsets(entries):
    """``{(topic, partition): offset}`` of a sink connector's ``GET …/offsets`` entries."""
    out = {}
    for entry in entries or []:
        part, off = entry.get('partition') or {}, entry.get('offset') or {}
        if 'kafka_topic' in part and off.get('kafka_offset') is not None:
            out[(part['kafka_topic'], int(part['kafka_partition']))] = int(off['kafka_offset'])
    return out


def sink_offset_entries(offsets):
    """The body entries of ``PATCH …/offsets`` for a sink connector from ``{(topic, partition): offset}``."""
    return [{'partition': {'kafka_topic': t, 'kafka_partition': p}, 'offset': {'kafka_offset': o}}
            for (t, p), o in sorted(offsets.items())]


def has_failures(status):
    if not status:
        return False
    if (status.get('connector') or {}).get('state') == 'FAILED':
        return True
    return any(t.get('state') == 'FAILED' for t in status.get('tasks') or [])


def verdict(status, target):
    """``done``, ``failed``, ``no_tasks`` (running, but no task yet) or ``pending``."""
    if not status:
        return 'pending'
    if has_failures(status):
        return 'failed'
    connector = (status.get('connector') or {}).get('state')
    tasks = status.get('tasks') or []
    if connector != target:
        return 'pending'
    if target == 'STOPPED':
        return 'done' if not tasks else 'pending'
    if any(t.get('state') != target for t in tasks):
        return 'pending'
    if target == 'RUNNING' and not tasks:
        return 'no_tasks'
    return 'done'


def wait_for_state(client, name, target, timeout, masker=None, stale_failures=False):
    """Poll the connector's status until it and all its tasks are in ``target`` (RUNNING, PAUSED,
    STOPPED), and return that status. Raises :class:`WaitError` when the connector or a task is
    FAILED, or when ``timeout`` seconds pass. ``stale_failures`` (the connector had failed parts
    before the change) tolerates FAILED for the first ``FAILED_GRACE`` seconds."""
    if target not in STATES:
        raise ValueError('cannot wait for state %r' % target)
    masker = masker or Masker([])
    start = CLOCK()
    deadline = start + timeout
    stable, no_tasks_since, status, last_error = 0, None, None, None
    while True:
        try:
            status, last_error = client.get_status(name), None
        except ConnectError as e:  # e.g. the worker is rebalancing: retry until the deadline
            status, last_error = None, e
        now = CLOCK()
        state = verdict(status, target)
        if state == 'failed' and not (stale_failures and now - start < FAILED_GRACE):
            raise WaitError(masker.scrub('connector %s failed while waiting for %s: %s%s'
                                         % (name, target, status_summary(status),
                                            _traces_suffix(status))),
                            last_status=masker.scrub_data(status))
        if state == 'no_tasks':
            no_tasks_since = now if no_tasks_since is None else no_tasks_since
            if now - no_tasks_since >= EMPTY_TASKS_GRACE:
                state = 'done'
        else:
            no_tasks_since = None
        stable = stable + 1 if state == 'done' else 0
        if stable >= STABLE_POLLS:
            return masker.scrub_data(status)
        if now >= deadline:
            raise WaitError(masker.scrub('timed out after %ss waiting for connector %s and its tasks to be %s; '
                                         'last status: %s%s%s'
                                         % (timeout, name, target, status_summary(status),
                                            '; last error: %s' % last_error if last_error else '',
                                            _traces_suffix(status))),
                            last_status=masker.scrub_data(status))
        SLEEP(POLL_INTERVAL)


def wait_for_absence(client, name, timeout):
    """Poll until the connector's config is gone (a deletion is seen by every worker)."""
    deadline = CLOCK() + timeout
    while True:
        last_error = None
        try:
            if client.get_config(name) is None:
                return
        except ConnectError as e:
            last_error = e
        if CLOCK() >= deadline:
            raise WaitError('timed out after %ss waiting for connector %s to disappear%s'
                            % (timeout, name, '; last error: %s' % last_error if last_error else ''))
        SLEEP(POLL_INTERVAL)


def _traces_suffix(status):
    traces = status_traces(status)
    return '\n' + traces if traces else ''
