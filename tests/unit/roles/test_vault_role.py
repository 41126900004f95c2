"""Role vault (OpenBao), read without a host: its argument specs are the manual, modules are named in full, every
API request is listed here exactly and verified against the internal CA, nothing secret is logged, and the
templates render the configuration, unit and policies the scenario molecule/vault runs."""
import pathlib
import re

import pytest
import yaml

from tests.support.templating import ROOT, role_env

ROLE = ROOT / "roles" / "vault"
SPECS = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
VARS = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
TASK_KEYS = {"name", "when", "register", "vars", "loop", "loop_control", "no_log", "delegate_to", "run_once", "become",
             "changed_when", "failed_when", "block", "rescue", "always", "tags", "notify", "check_mode", "until",
             "retries", "delay", "module_defaults", "diff"}

# Every request the role sends to OpenBao, in task order: (task file, method, path under /v1).
REQUESTS = [
    ("service.yml", "GET", "sys/seal-status"),
    ("init.yml", "GET", "sys/init"),
    ("init.yml", "PUT", "sys/init"),
    ("init.yml", "GET", "sys/seal-status"),
    ("init.yml", "PUT", "sys/unseal"),
    ("init.yml", "GET", "sys/health?standbyok=true"),
    ("configure.yml", "GET", "sys/mounts"),
    ("configure.yml", "POST", "sys/mounts/{{ vault_kv_mount }}"),
    ("configure.yml", "GET", "sys/policies/acl/{{ item.key }}"),
    ("configure.yml", "PUT", "sys/policies/acl/{{ item.item.key }}"),
    ("configure.yml", "GET", "sys/auth"),
    ("configure.yml", "POST", "sys/auth/approle"),
    ("configure.yml", "GET", "{{ vault_kv_mount }}/data/{{ item.key }}"),
    ("configure.yml", "POST", "{{ vault_kv_mount }}/data/{{ item.key }}"),
    ("approle_host.yml", "GET", "auth/approle/role/{{ __vault_role_name }}"),
    ("approle_host.yml", "POST", "auth/approle/role/{{ __vault_role_name }}"),
    ("approle_host.yml", "GET", "auth/approle/role/{{ __vault_role_name }}/role-id"),
    ("approle_host.yml", "POST", "auth/approle/role/{{ __vault_role_name }}/secret-id/lookup"),
    ("approle_host.yml", "POST", "auth/approle/role/{{ __vault_role_name }}/secret-id"),
]
TASK_FILES = ["validate.yml", "install.yml", "service.yml", "init.yml", "configure.yml", "approles.yml",
              "approle_host.yml"]


def walk(tasks, defaults=None):
    """Tasks with the module_defaults of their enclosing blocks."""
    for task in tasks or []:
        inherited = dict(defaults or {})
        inherited.update(task.get("module_defaults", {}).get("ansible.builtin.uri", {}))
        yield task, inherited
        for key in ("block", "rescue", "always"):
            yield from walk(task.get(key), inherited)


def module(task):
    keys = [k for k in task if k not in TASK_KEYS]
    assert len(keys) == 1, f"one module per task: {task.get('name')}: {keys}"
    return keys[0]


def tasks():
    for name in TASK_FILES:
        for task, defaults in walk(yaml.safe_load((ROLE / "tasks" / name).read_text())):
            if "block" not in task:
                yield name, task, defaults


def uri_tasks():
    return [(name, task, defaults) for name, task, defaults in tasks() if module(task) == "ansible.builtin.uri"]


def test_every_task_file_is_used():
    assert {p.name for p in (ROLE / "tasks").glob("*.yml")} == set(TASK_FILES) | {"main.yml"}
    main = (ROLE / "tasks" / "main.yml").read_text()
    assert all(f in main for f in TASK_FILES if f != "approle_host.yml")
    assert "approle_host.yml" in (ROLE / "tasks" / "approles.yml").read_text()


def test_specs_document_every_variable_with_the_role_defaults():
    text = "\n".join(p.read_text() for p in list((ROLE / "tasks").glob("*.yml")) + list((ROLE / "templates").glob("*"))
                     + [ROLE / "vars" / "main.yml", ROLE / "handlers" / "main.yml"])
    used = set(re.findall(r"(?<![_\w])vault_[a-z0-9_]+", text))
    assert used <= set(SPECS), f"undocumented: {sorted(used - set(SPECS))}"
    assert set(SPECS) == set(DEFAULTS)
    for name, spec in SPECS.items():
        assert spec.get("description"), name
        assert spec["default"] == DEFAULTS[name], name
    assert all(k.startswith("__vault_") for k in VARS), "internal variables carry the __ prefix"


def test_modules_are_named_in_full():
    for name, task, _ in tasks():
        assert module(task).count(".") >= 2, f"{name}: {task['name']}"


def test_the_requests_are_exactly_these():
    found = []
    for name, task, _ in uri_tasks():
        url = task["ansible.builtin.uri"]["url"]
        assert url.startswith("{{ __vault_api }}/"), url
        found.append((name, task["ansible.builtin.uri"].get("method", "GET"), url.split("}}/", 1)[1]))
    assert found == REQUESTS


def test_every_request_is_not_logged_and_verifies_tls_against_the_ca():
    for name, task, defaults in uri_tasks():
        args = defaults | task["ansible.builtin.uri"]
        assert task.get("no_log") is True, f"{name}: {task['name']}"
        assert args["validate_certs"] is True and args["ca_path"] == "{{ __vault_ca }}", task["name"]
        reads = args.get("method", "GET") == "GET" or args["url"].endswith("/secret-id/lookup")
        # reads run in check mode too; writes never do (uri has no check mode, so they are skipped)
        assert (task.get("check_mode") is False) == reads, f"{name}: {task['name']}"


def test_authenticated_requests_send_the_token_only_from_module_defaults():
    for name, task, defaults in uri_tasks():
        path = task["ansible.builtin.uri"]["url"].split("}}/", 1)[1]
        unauthenticated = path.startswith(("sys/seal-status", "sys/init", "sys/unseal", "sys/health"))
        assert ("headers" in defaults) == (not unauthenticated), f"{name}: {path}"
        assert "headers" not in task["ansible.builtin.uri"]
    assert DEFAULTS and "X-Vault-Token" in (ROLE / "tasks" / "configure.yml").read_text()


def test_secret_material_is_never_logged():
    secret_words = re.compile(r"__vault_(init\b|init\.|unseal_keys|token|secret_id)|rotate_new_password")
    for name, task, _ in tasks():
        body = yaml.safe_dump({k: v for k, v in task.items() if k not in ("name", "when", "loop_control")})
        if secret_words.search(body) and module(task) != "ansible.builtin.assert":
            assert task.get("no_log") is True, f"{name}: {task['name']}"


def test_keys_go_to_the_controller_only_0600():
    init = yaml.safe_load((ROLE / "tasks" / "init.yml").read_text())
    block = next(t for t in init if t["name"] == "Initialize the cluster")["block"]
    write = next(t for t in block if t["name"].startswith("Write the unseal keys"))
    assert write["delegate_to"] == "localhost" and write["ansible.builtin.copy"]["mode"] == "0600"
    assert write["ansible.builtin.copy"]["dest"] == "{{ vault_init_file }}"
    mkdir = next(t for t in block if t["name"].startswith("Create the controller"))
    assert mkdir["delegate_to"] == "localhost" and mkdir["ansible.builtin.file"]["mode"] == "0700"
    # the only copy/template tasks that run on a host hold no key material
    for name, task, _ in tasks():
        if module(task) in ("ansible.builtin.copy", "ansible.builtin.template") and "__vault_init" in str(task):
            assert task.get("delegate_to") == "localhost", task["name"]


def render_vars(expr, **context):
    env = role_env(ROLE / "templates")
    return env.from_string(expr).render(**context)


@pytest.mark.parametrize("seal, expected", [
    ({}, "{'secret_shares': 5, 'secret_threshold': 3}"),
    ({"type": "transit"}, "{'recovery_shares': 5, 'recovery_threshold': 3}"),
])
def test_the_init_request(seal, expected):
    assert render_vars(VARS["__vault_init_request"], vault_seal=seal, vault_key_shares=5,
                       vault_key_threshold=3).strip() == expected


def hcl(**overrides):
    context = dict(DEFAULTS, inventory_hostname="bao-1", ansible_managed="Ansible managed", vault_port=8200,
                   vault_cluster_port=8201, __vault_peers=[], vault_kv_mount="sluice")
    context.update(vault_api_addr="https://bao-1:8200", vault_cluster_addr="https://bao-1:8201",
                   vault_node_id="bao-1", vault_audit_file="/var/log/openbao/audit.log")
    context.update(overrides)
    return role_env(ROLE / "templates").get_template("openbao.hcl.j2").render(**context)


def test_the_configuration():
    text = hcl()
    assert 'disable_mlock = true' in text
    assert re.search(r'storage "raft" \{\n  path    = "/var/lib/openbao/raft"\n  node_id = "bao-1"\n\}', text)
    assert 'address         = "0.0.0.0:8200"' in text and 'cluster_address = "0.0.0.0:8201"' in text
    assert 'tls_cert_file   = "/etc/openbao/tls/openbao.crt"' in text
    assert 'tls_key_file    = "/etc/openbao/tls/openbao.key"' in text
    assert "tls_disable" not in text and 'tls_min_version = "tls12"' in text
    assert 'audit "file" "file" {' in text and 'file_path = "/var/log/openbao/audit.log"' in text
    assert 'api_addr      = "https://bao-1:8200"' in text and "seal " not in text
    assert text.count("{") == text.count("}")


def test_the_configuration_with_peers_auto_unseal_and_extra_config():
    text = hcl(__vault_peers=["https://bao-2:8200"], vault_disable_mlock=False,
               vault_seal={"type": "transit", "options": {"address": "https://kms:8200", "key_name": "sluice",
                                                          "disable_renewal": False}},
               vault_extra_config='telemetry {\n  disable_hostname = true\n}')
    assert 'leader_api_addr     = "https://bao-2:8200"' in text
    assert 'leader_ca_cert_file = "/etc/openbao/tls/ca.crt"' in text
    assert 'disable_mlock = false' in text
    assert 'seal "transit" {\n  address = "https://kms:8200"\n  key_name = "sluice"\n  disable_renewal = false\n}' in text
    assert text.rstrip().endswith('telemetry {\n  disable_hostname = true\n}')
    assert text.count("{") == text.count("}")


def test_the_unit_is_hardened_and_runs_as_openbao():
    text = role_env(ROLE / "templates").get_template("openbao.service.j2").render(
        **DEFAULTS, ansible_managed="Ansible managed", __vault_bin="/opt/openbao/releases/2.7.2/bao")
    assert "User=openbao\nGroup=openbao\n" in text
    assert "ExecStart=/opt/openbao/releases/2.7.2/bao server -config=/etc/openbao/openbao.hcl" in text
    assert "ReadWritePaths=/var/lib/openbao /var/log/openbao" in text
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=", "MemoryDenyWriteExecute=yes",
                 "LimitCORE=0", "ExecReload=/bin/kill --signal HUP $MAINPID"):
        assert line in text.splitlines(), line


def test_the_default_policies():
    env = role_env(ROLE / "templates")
    rules = {name: [{k: render_vars(v, vault_kv_mount="sluice") if isinstance(v, str) else v for k, v in r.items()}
                    for r in value] for name, value in DEFAULTS["vault_policies"].items()}
    out = {name: env.get_template("policy.hcl.j2").render(__vault_policy_rules=r) for name, r in rules.items()}
    assert out == {
        "sluice-connect": 'path "sluice/data/connect/*" {\n  capabilities = ["read"]\n}\n',
        "sluice-reconcile": 'path "sluice/data/reconcile/*" {\n  capabilities = ["read"]\n}\n',
    }


def test_approles_follow_the_groups():
    hosts = render_vars(VARS["__vault_approle_hosts"],
                        groups={"all": ["c1", "c2", "r1", "k1"], "kafka_connect": ["c1", "c2"], "reconcile": ["r1", "c1"],
                                "kafka": ["k1"]},
                        vault_approle_groups=DEFAULTS["vault_approle_groups"])
    assert hosts.strip() == "['c1', 'c2', 'r1']"
    task = yaml.safe_load((ROLE / "tasks" / "approle_host.yml").read_text())[0]
    policies = render_vars(task["ansible.builtin.set_fact"]["__vault_role_request"]["token_policies"],
                           vault_approle_groups=DEFAULTS["vault_approle_groups"], __vault_approle_host="c1",
                           hostvars={"c1": {"group_names": ["kafka_connect", "reconcile"]}})
    assert policies.strip() == "['sluice-connect', 'sluice-reconcile']"


def test_the_version_agrees_with_versions_env_and_the_mirror_script():
    env = dict(line.split("=", 1) for line in (ROOT / "versions.env").read_text().splitlines()
               if "=" in line and not line.startswith("#"))
    assert env["OPENBAO_VERSION"] == DEFAULTS["vault_version"]
    assert re.fullmatch(r"[0-9a-f]{64}", env["OPENBAO_WHEEL_SHA256"])
    assert env["OPENBAO_BINARY_SHA256"] == "9c5f36287c673f386e1533e9c044169a248e4ee50dd54810fa766e95bd41b788"
    script = (ROOT / "scripts" / "fetch-artifacts").read_text()
    assert '"openbao-${OPENBAO_VERSION}-linux-amd64.tar.gz"' in script and "--require-hashes" in script
    assert render_vars(DEFAULTS["vault_archive_file"], vault_version="2.7.2") == "openbao-2.7.2-linux-amd64.tar.gz"
    assert DEFAULTS["vault_archive_url"] == ""   # no default internet URL


def test_rotate_secret_playbook_validates_and_hides_the_password():
    plays = yaml.safe_load((ROOT / "playbooks" / "rotate_secret.yml").read_text())
    flat = [t for play in plays for t, _ in walk(play.get("tasks"))]
    assert module(flat[0]) == "ansible.builtin.assert" and "rotate_user" in str(flat[0])
    for task in flat:
        if "rotate_new_password" in yaml.safe_dump({k: v for k, v in task.items() if k != "name"}):
            assert task.get("no_log") is True, task["name"]
    copy = next(t for t in flat if module(t) == "ansible.builtin.copy")
    assert copy["diff"] is False and copy["ansible.builtin.copy"]["mode"] == "0600"
    order = [module(t) for t in flat]
    assert order.index("community.postgresql.postgresql_user") < order.index("community.hashi_vault.vault_kv2_write") \
        < order.index("ansible.builtin.copy") < order.index("sluice.cdc.connect_connector")
