"""Filters over the captured tables' one-to-one source → target mapping (plugins/module_utils/table_map.py)."""
from ansible.errors import AnsibleFilterError
from ansible_collections.sluice.cdc.plugins.module_utils import table_map as tm


def _safe(fn):
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except tm.TableMapError as e:
            raise AnsibleFilterError(str(e)) from None
    wrapper.__name__ = fn.__name__
    return wrapper


class FilterModule:
    def filters(self):
        return {"table_map": _safe(tm.table_map), "sink_routes": _safe(tm.sink_routes),
                "reconcile_tables": _safe(tm.reconcile_tables)}
