# -*- coding: utf-8 -*-
# Copyright: Sluice developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The schema-change rotation reads the SQL Server source connector's offsets (Connect GET /connectors/<name>/offsets).
No SQL Server runs here, so the offset format is checked against the real Debezium 3.6.1 classes from the artifact
mirror: the partition map (SqlServerPartition), the offset keys (SourceInfo) and the LSN text (Lsn.toString) that
Debezium writes are built by a small Java program, and rotation.py must read them as the LSNs they are."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess
import tarfile

import pytest

from ansible_collections.sluice.cdc.plugins.module_utils import rotation

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "artifacts" / "debezium-connector-sqlserver-3.6.1.Final-plugin.tar.gz"

PROGRAM = r"""
import io.debezium.connector.sqlserver.*;
public class Offsets {
  public static void main(String[] args) {
    // What SqlServerOffsetContext stores: partition {server, database}; offset commit_lsn/change_lsn as Lsn.toString().
    SqlServerPartition p = new SqlServerPartition("sluice", "sluice_demo");
    java.util.Map<String, Object> offset = new java.util.LinkedHashMap<>();
    offset.put(SourceInfo.COMMIT_LSN_KEY, Lsn.valueOf(hex(args[0])).toString());
    offset.put(SourceInfo.CHANGE_LSN_KEY, Lsn.valueOf(hex(args[1])).toString());
    offset.put(SourceInfo.EVENT_SERIAL_NO_KEY, 1);
    StringBuilder json = new StringBuilder("{\"offsets\": [{\"partition\": {");
    p.getSourcePartition().forEach((k, v) -> json.append('"').append(k).append("\": \"").append(v).append("\", "));
    json.setLength(json.length() - 2);
    json.append("}, \"offset\": {");
    offset.forEach((k, v) -> json.append('"').append(k).append("\": ").append(v instanceof String ? "\"" + v + "\"" : v).append(", "));
    json.setLength(json.length() - 2);
    System.out.println(json.append("}}]}"));
  }
  static byte[] hex(String s) {
    byte[] b = new byte[s.length() / 2];
    for (int i = 0; i < b.length; i++) b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
    return b;
  }
}
"""


@pytest.fixture(scope="module")
def debezium_offsets(tmp_path_factory):
    if not PLUGIN.exists():
        pytest.skip(f"{PLUGIN.name} not in the artifact mirror (make artifacts)")
    if not shutil.which("java"):
        pytest.skip("no java on PATH (scripts/setup-host installs a JDK)")
    work = tmp_path_factory.mktemp("debezium")
    with tarfile.open(PLUGIN) as tar:
        tar.extractall(work, filter="data")
    (work / "Offsets.java").write_text(PROGRAM)
    classpath = str(work / "debezium-connector-sqlserver" / "*")

    def offsets(commit_hex, change_hex):
        out = subprocess.run(["java", "-cp", classpath, str(work / "Offsets.java"), commit_hex, change_hex],
                             capture_output=True, text=True, timeout=120, check=True).stdout
        return json.loads(out)
    return offsets


def test_rotation_reads_debeziums_own_offsets(debezium_offsets):
    body = debezium_offsets("0000003000000A100001", "0000003000000A100002")
    (entry,) = body["offsets"]
    assert entry["partition"] == {"server": "sluice", "database": "sluice_demo"}
    assert entry["offset"]["commit_lsn"] == "00000030:00000a10:0001"
    # The position the rotation compares: the highest of commit_lsn/change_lsn, for the connector's database.
    assert rotation.connector_lsn(body, "sluice_demo") == "00000030:00000a10:0002"
    assert rotation.connector_lsn(body, "other_db") is None
    # ... against the new capture instance's start LSN as mssql_info reports it (0x + 20 hex digits).
    assert rotation.switched(rotation.connector_lsn(body), "0x0000003000000A100002")
    assert not rotation.switched(rotation.connector_lsn(body), "0x0000003000000A100003")
    assert not rotation.switched(rotation.connector_lsn(debezium_offsets("0000002F00000A100001",
                                                                         "0000002F00000A100001")),
                                 "0x0000003000000A100001")
