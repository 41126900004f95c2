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


def native_env(templates_dir):
    """Templates as Ansible evaluates a variable: native types (None, bool, int, dict), not their text."""
    from ansible.plugins.filter.mathstuff import FilterModule as MathFilters  # pylint: disable=import-outside-toplevel
    from jinja2.nativetypes import NativeEnvironment  # pylint: disable=import-outside-toplevel

    base = role_env(templates_dir)
    env = NativeEnvironment(undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.do"])
    env.filters.update(base.filters)
    # Ansible's filters replace Jinja's of the same name (its `unique` returns a list, Jinja's a generator); Jinja's
    # `default` is kept, as it knows StrictUndefined.
    env.filters.update({k: v for k, v in CoreFilters().filters().items() if k not in ("default", "d")})
    env.filters.update(MathFilters().filters())
    env.tests.update(base.tests)
    return env


def evaluate(value, ctx, env):
    """A variable's value (string, list or dict, templates inside) evaluated in ``ctx`` with ``env``."""
    if isinstance(value, str):
        return env.from_string(value).render(ctx) if "{{" in value else value
    if isinstance(value, list):
        return [evaluate(v, ctx, env) for v in value]
    if isinstance(value, dict):
        return {k: evaluate(v, ctx, env) for k, v in value.items()}
    return value


def role_vars(role_dir, strict=True, **inventory):
    """A role's defaults and vars/main.yml resolved against ``inventory`` as Ansible does (lazily: here in passes).
    With ``strict`` false, variables that cannot be resolved from ``inventory`` are left out."""
    import yaml  # pylint: disable=import-outside-toplevel

    role_dir = pathlib.Path(role_dir)
    env = native_env(role_dir / "templates")
    pending = {}
    for part in ("defaults", "vars"):
        path = role_dir / part / "main.yml"
        if path.exists():
            pending.update(yaml.safe_load(path.read_text()) or {})
    pending = {k: v for k, v in pending.items() if k not in inventory}
    ctx = dict(inventory)
    for _ in range(len(pending) + 1):
        for name, value in list(pending.items()):
            try:
                ctx[name] = evaluate(value, ctx, env)
            except (jinja2.UndefinedError, TypeError, KeyError):
                continue
            del pending[name]
    if pending and strict:
        raise AssertionError("unresolved variables: %s" % sorted(pending))
    return ctx
