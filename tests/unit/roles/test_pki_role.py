"""Role pki, read without a host: its argument specs are the manual, modules are named in full, key material is
never logged, and the host's private key is generated on the host (tests/integration/pki runs the role)."""
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "pki"
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
# The task files each entry point runs (certificate imports ca.yml, as does main).
ENTRY_FILES = {"main": ["main.yml", "ca.yml"], "certificate": ["certificate.yml", "ca.yml"],
               "trust": ["trust.yml", "ca.yml"]}
OUTPUTS = {"pki_certificate_changed", "pki_certificate_files", "pki_trust_changed"}  # facts the role sets for its caller
TASK_KEYS = {"name", "when", "register", "vars", "loop", "loop_control", "no_log", "delegate_to", "run_once", "become",
             "changed_when", "failed_when", "block", "rescue", "always", "tags", "notify", "check_mode"}
KEY_MODULES = {"community.crypto.openssl_privatekey", "community.crypto.openssl_privatekey_info",
               "community.crypto.openssl_privatekey_pipe", "ansible.builtin.assemble"}


def load(name):
    return yaml.safe_load((ROLE / "tasks" / name).read_text())


def walk(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from walk(task.get(key))


def module(task):
    keys = [k for k in task if k not in TASK_KEYS]
    assert len(keys) == 1, f"one module per task: {task.get('name')}: {keys}"
    return keys[0]


def all_tasks():
    for path in sorted((ROLE / "tasks").glob("*.yml")):
        for task in walk(yaml.safe_load(path.read_text())):
            yield path.name, task


def test_every_task_file_belongs_to_an_entry_point():
    files = {p.name for p in (ROLE / "tasks").glob("*.yml")}
    assert files == {f for names in ENTRY_FILES.values() for f in names}


def test_the_specs_cover_every_variable_of_the_defaults_and_tasks():
    for entry, names in ENTRY_FILES.items():
        text = "\n".join((ROLE / "tasks" / n).read_text() for n in names)
        used = set(re.findall(r"\bpki_[a-z0-9_]+", text)) - OUTPUTS
        documented = set(SPECS[entry]["options"])
        assert used <= documented, f"{entry}: undocumented {sorted(used - documented)}"
        assert documented <= set(DEFAULTS) | {n for n, o in SPECS[entry]["options"].items() if o.get("required")}
    assert set(DEFAULTS) <= set(SPECS["certificate"]["options"]) | set(SPECS["trust"]["options"])
    assert {k for k in DEFAULTS if k.startswith("pki_ca_")} == set(SPECS["main"]["options"])


def test_spec_defaults_are_the_role_defaults():
    for entry in SPECS.values():
        for name, option in entry["options"].items():
            if option.get("required"):
                assert name not in DEFAULTS, name
            else:
                assert option["default"] == DEFAULTS[name], name


def test_the_ca_dir_default_is_the_shared_one():
    assert DEFAULTS["pki_ca_dir"] == (
        "{{ sluice_pki_dir | default(lookup('ansible.builtin.env', 'SLUICE_PKI_DIR') or "
        "(sluice_secrets_dir | default(playbook_dir ~ '/.cache/secrets')) ~ '/pki') }}")


def test_modules_are_named_in_full_and_internal_names_are_prefixed():
    for path, task in all_tasks():
        if "block" in task:
            continue
        name = module(task)
        assert name.startswith(("ansible.builtin.", "community.crypto.")), f"{path}: {task.get('name')}: {name}"
        if "register" in task:
            assert task["register"].startswith("__pki_"), task["register"]
        for fact in (task.get("ansible.builtin.set_fact") or {}):
            assert fact.startswith("__pki_") or fact in OUTPUTS, fact


def test_tasks_that_carry_key_material_are_not_logged():
    for path, task in all_tasks():
        if "block" in task:
            continue
        text = yaml.safe_dump(task[module(task)])
        if module(task) in KEY_MODULES or re.search(r"privatekey_content|ca\.key", text):
            if module(task) == "ansible.builtin.stat":
                continue  # looks at the file, reads nothing of it
            assert task.get("no_log") is True, f"{path}: {task.get('name')}"


def test_the_host_key_and_csr_are_made_on_the_host_and_only_the_signing_is_delegated():
    tasks = list(walk(load("certificate.yml")))
    by_module = {}
    for task in tasks:
        if "block" not in task:
            by_module.setdefault(module(task), []).append(task)
    (key,) = by_module["community.crypto.openssl_privatekey"]
    (csr,) = by_module["community.crypto.openssl_csr_pipe"]
    (sign,) = by_module["community.crypto.x509_certificate_pipe"]
    for task in (key, csr):
        assert "delegate_to" not in task and "run_once" not in task, task["name"]
    assert key["community.crypto.openssl_privatekey"]["format"] == "pkcs8"
    assert sign["delegate_to"] == "localhost" and sign["become"] is False
    assert sign["community.crypto.x509_certificate_pipe"]["provider"] == "ownca"
    assert sign["community.crypto.x509_certificate_pipe"]["csr_content"] == "{{ __pki_csr.csr }}"
    # Nothing reads the host's key back: no slurp or fetch of a .key or .pem.
    for task in tasks:
        if "block" not in task and module(task) in ("ansible.builtin.slurp", "ansible.builtin.fetch"):
            assert "files.cert" in yaml.safe_dump(task), task["name"]
    # The .pem is assembled on the host.
    (pem,) = by_module["ansible.builtin.assemble"]
    assert pem["ansible.builtin.assemble"]["remote_src"] is True and "delegate_to" not in pem


def test_the_ca_runs_once_on_the_controller():
    (block,) = [t for t in load("ca.yml") if "block" in t]
    assert block["delegate_to"] == "localhost" and block["run_once"] is True and block["become"] is False
    cert = next(t for t in walk(block["block"]) if "community.crypto.x509_certificate" in t)
    assert cert["community.crypto.x509_certificate"]["provider"] == "selfsigned"
    csr = next(t for t in walk(block["block"]) if "community.crypto.openssl_csr_pipe" in t)["community.crypto.openssl_csr_pipe"]
    assert csr["basic_constraints"] == ["CA:TRUE"] and csr["basic_constraints_critical"] is True
    assert csr["key_usage"] == ["keyCertSign", "cRLSign"] and csr["key_usage_critical"] is True
    key = next(t for t in walk(block["block"]) if "community.crypto.openssl_privatekey" in t)
    assert key["community.crypto.openssl_privatekey"]["mode"] == "0600"


def test_python_cryptography_comes_through_the_shared_package_entry_point():
    task = next(t for t in load("certificate.yml") if "ansible.builtin.include_role" in t)
    assert task["ansible.builtin.include_role"] == {"name": "sluice.cdc.install_artifact", "tasks_from": "packages"}
    assert task["vars"] == {"install_artifact_packages": ["python3-cryptography"]}
