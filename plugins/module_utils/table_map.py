# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""One target table per captured source table.

The JDBC sink, the reconciler and its timer all take their table names from here, so they agree by construction.
A source table is ``schema.table``; its target is a bare table name in the pipeline's target schema:
``dbo.<table>`` keeps ``<table>``, any other schema ``<schema>.<table>`` becomes ``<schema>_<table>``, and an explicit
``{source: ..., target: ...}`` overrides either. Two source tables that would land in one target are refused.
"""

from __future__ import annotations

import re

DEFAULT_SCHEMA = 'dbo'
# PostgreSQL folds unquoted names to lower case and cuts them at 63 bytes without an error, so a target name is
# limited to what it stores as written (the sink does not quote identifiers).
_TARGET = re.compile(r'^[A-Za-z_][A-Za-z0-9_]{0,62}$')


class TableMapError(ValueError):
    pass


def default_target(source: str) -> str:
    schema, table = source.split('.', 1)
    return table if schema.lower() == DEFAULT_SCHEMA else f'{schema}_{table}'


def _entry(item):
    if isinstance(item, str):
        source, target = item.strip(), None
    elif isinstance(item, dict):
        unknown = set(item) - {'source', 'target'}
        if unknown:
            raise TableMapError(f'table {item!r}: unknown key(s) {", ".join(sorted(unknown))} (source, target)')
        source, target = str(item.get('source') or '').strip(), item.get('target')
    else:
        raise TableMapError(f'a table is "schema.table" or {{source: schema.table, target: name}}, not {item!r}')
    parts = source.split('.')
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise TableMapError(f'source table {source!r} must be written schema.table')
    target = default_target(source) if target is None else str(target).strip()
    if not _TARGET.match(target):
        raise TableMapError(f'target table {target!r} of {source} must be a PostgreSQL name of letters, digits and _ '
                            'starting with a letter or _, at most 63 characters, without a schema')
    return source, target


def table_map(tables, topic_prefix: str = '', database: str = '') -> list:
    """``[{source, target, topic}]`` for the captured tables, in their order; ``topic`` is the Debezium SQL Server
    source's topic (``<prefix>.<database>.<schema>.<table>``) when a prefix and database are given.

    Raises TableMapError for a malformed entry, a source listed twice, or two sources with one target (compared as
    PostgreSQL compares unquoted names: case-insensitively).
    """
    by_source, by_target, out = {}, {}, []
    for item in tables or []:
        source, target = _entry(item)
        if source.lower() in by_source:
            raise TableMapError(f'source table {source} is listed twice')
        other = by_target.get(target.lower())
        if other:
            raise TableMapError(f'source tables {other} and {source} would both be written into target table '
                                f'{target.lower()}: give one of them its own target ({{source: {source}, target: ...}})')
        by_source[source.lower()] = target
        by_target[target.lower()] = source
        entry = {'source': source, 'target': target}
        if topic_prefix and database:
            entry['topic'] = f'{topic_prefix}.{database}.{source}'
        out.append(entry)
    return out


def sink_routes(mapping) -> dict:
    """The JDBC sink's settings that write each topic into its target table: one RegexRouter per table (the sink then
    names the table after the routed topic, ``collection.name.format=${topic}``). The sink commits offsets of the
    original topic, so routing does not move them."""
    config = {'collection.name.format': '${topic}'}
    names = []
    for i, entry in enumerate(mapping):
        name = f'route{i}'
        names.append(name)
        config[f'transforms.{name}.type'] = 'org.apache.kafka.connect.transforms.RegexRouter'
        config[f'transforms.{name}.regex'] = '^' + re.escape(entry['topic']) + '$'
        config[f'transforms.{name}.replacement'] = entry['target']
    config['transforms'] = ','.join(names)
    return config


def reconcile_tables(mapping, target_schema: str) -> list:
    """The reconciler's table list for the mapping: each source table against its target in ``target_schema``."""
    return [{'source': e['source'], 'target': f"{target_schema}.{e['target']}"} for e in mapping]
