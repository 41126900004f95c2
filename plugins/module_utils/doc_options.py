# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Doc fragments generated from a connection layer's argument spec (type, default, choices, required, elements)
plus a description per option: the schema is written once, in the layer, and the documentation follows it."""

from __future__ import annotations

import json

SPEC_FIELDS = ('type', 'default', 'choices', 'required', 'elements')


def documentation(spec, descriptions, prefix=''):
    """``DOCUMENTATION`` text (JSON, which is YAML) of the options of ``spec``; ``descriptions`` is keyed by the
    unprefixed option name, and ``{p}`` in a description stands for the prefix (``O({p}sslcert)``)."""
    options = {}
    for name, arg in spec.items():
        doc = {'description': [line.format(p=prefix) for line in descriptions[name[len(prefix):]]]}
        doc.update((field, arg[field]) for field in SPEC_FIELDS if field in arg)
        if arg.get('aliases'):
            doc['aliases'] = list(arg['aliases'])
        options[name] = doc
    return json.dumps({'options': options}, indent=2)
