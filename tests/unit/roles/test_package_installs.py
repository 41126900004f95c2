"""Every Debian package a role installs goes through install_artifact's `packages` entry point, which keeps the
packages' services from starting before the role has configured them (tests/e2e/monitoring checks it live)."""
import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHARED = ROOT / "roles" / "install_artifact" / "tasks" / "packages.yml"
INSTALLERS = {"ansible.builtin.apt", "apt", "ansible.builtin.package", "package"}


def tasks(items):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from tasks(task.get(key))


def test_only_the_shared_entry_point_installs_packages():
    offenders = []
    for path in sorted((ROOT / "roles").glob("*/tasks/*.yml")):
        if path == SHARED:
            continue
        for task in tasks(yaml.safe_load(path.read_text())):
            if INSTALLERS & set(task):
                offenders.append(f"{path.relative_to(ROOT)}: {task.get('name')}")
    assert not offenders, "install Debian packages with install_artifact tasks_from: packages:\n" + "\n".join(offenders)


def test_the_shared_entry_point_blocks_service_starts_only_while_installing():
    block = yaml.safe_load(SHARED.read_text())[1]
    names = [t.get("name") for t in block["block"]]
    assert names.index("Keep package scripts from starting services") < names.index("Install the missing packages")
    policy = next(t for t in block["block"] if "ansible.builtin.copy" in t)["ansible.builtin.copy"]
    assert policy["dest"] == "/usr/sbin/policy-rc.d" and "exit 101" in policy["content"]
    assert block["always"][0]["ansible.builtin.file"] == {"path": "/usr/sbin/policy-rc.d", "state": "absent"}
