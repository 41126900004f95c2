"""install_artifact's `engine` entry point: the one way the supervisor and the reconciliation timer put Sluice's
Python engine on a host — the whole plugins/module_utils package as one archive whose bytes depend only on the
files, replaced whole when it changes (live: the default, cluster and monitoring scenarios' idempotence)."""
import importlib.util
import pathlib
import tarfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHARED = ROOT / "roles" / "install_artifact"


def test_the_engine_archive_depends_only_on_the_files(tmp_path):
    spec = importlib.util.spec_from_file_location("pack_engine", SHARED / "files" / "pack-engine.py")
    pack = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pack)
    tree = ROOT / "plugins" / "module_utils"
    (tree / "__pycache__").mkdir(exist_ok=True)  # bytecode the controller writes must not make a difference
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"
    assert pack.pack(str(tree), str(first)) == pack.pack(str(tree), str(second)) > 10
    assert first.read_bytes() == second.read_bytes()
    names = tarfile.open(first).getnames()
    assert {"reconcile/repair.py", "reconcile/runner.py", "supervisor/quarantine.py", "table_map.py",
            "connect_client.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or not n.endswith(".py")]


def test_a_changed_archive_replaces_the_package_whole_and_is_reported():
    tasks = yaml.safe_load((SHARED / "tasks" / "engine.yml").read_text())
    by_name = {t["name"]: t for t in tasks}
    assert by_name["Pack the engine package on the controller"]["ansible.builtin.command"]["argv"][2] \
        == "{{ role_path }}/../../plugins/module_utils"
    replace = by_name["Replace the installed engine package with the new archive"]
    assert replace["when"] == "__install_artifact_engine_archive is changed and not ansible_check_mode"
    assert [t["name"] for t in replace["block"]] == ["Remove the engine package the archive replaces",
                                                     "Create the engine package's directory", "Unpack the engine package"]
    assert "install_artifact_engine_changed" in by_name[
        "Tell the calling role whether its engine changed (a service running it restarts)"]["ansible.builtin.set_fact"]


def test_both_services_install_their_engine_through_it():
    for role, clis in (("reconcile_timer", ["sluice-reconcile"]), ("supervisor", ["sluice-supervisor", "sluice-dlq"])):
        tasks = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())
        include = [t for t in tasks if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "engine"]
        assert len(include) == 1 and include[0]["vars"]["install_artifact_engine_clis"] == clis, role
        text = (ROOT / "roles" / role / "tasks" / "main.yml").read_text()
        assert "filetree" not in text and "module_utils/" not in text, role
