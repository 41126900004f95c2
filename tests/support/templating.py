"""Role templates rendered without a host, as Ansible renders them: Ansible's core filters and tests, and the
collection's own filters under their FQCN (sluice.cdc.<name>)."""
import importlib
import pathlib

import jinja2
from ansible.plugins.filter.core import FilterModule as CoreFilters
from ansible.plugins.test.core import TestModule as CoreTests

ROOT = pathlib.Path(__file__).resolve().parents[2]


def collection_filters():
    out = {}
    for path in sorted((ROOT / "plugins" / "filter").glob("*.py")):
        module = importlib.import_module(f"ansible_collections.sluice.cdc.plugins.filter.{path.stem}")
        out.update({f"sluice.cdc.{k}": v for k, v in module.FilterModule().filters().items()})
    return out


def role_env(templates_dir):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir), undefined=jinja2.StrictUndefined,
                             extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"], trim_blocks=True)
    # Ansible's filters and tests where Jinja has none of its own (Jinja's `default` knows StrictUndefined).
    env.filters.update({k: v for k, v in CoreFilters().filters().items() if k not in env.filters})
    env.tests.update({k: v for k, v in CoreTests().tests().items() if k not in env.tests})
    env.filters.update(collection_filters())
    return env
