# Copyright: Sluice developers
# Apache License 2.0 (see LICENSE)
"""Kafka topic configs and Connect connector configs are strings; user values are compared in that form."""
from __future__ import annotations


class PlanError(Exception):
    """The request cannot be planned; raised before anything changes."""


def config_string(key, value):
    """The string Kafka or Connect stores for ``value``: booleans in lower case, lists comma-joined."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, (list, tuple)):
        return ','.join(config_string(key, v) for v in value)
    if value is None or isinstance(value, dict):
        raise PlanError('config %s must be a string, number, boolean or list, got %r' % (key, value))
    return str(value)
