import subprocess

import pytest
from bench import pipeline as bench
from bench import pipeline_profile as prof

# `jfr print --events jdk.ExecutionSample` text, as JDK 17 writes it (shortened)
SAMPLES = """\
jdk.ExecutionSample {
  startTime = 18:05:12.131
  sampledThread = "task-thread-sluice-postgres-sink-0" (javaThreadId = 52)
  state = "STATE_RUNNABLE"
  stackTrace = [
    java.util.HashMap.getNode(int, Object) line: 568
    com.fasterxml.jackson.databind.node.ObjectNode.get(String) line: 120
    org.apache.kafka.connect.json.JsonConverter.convertToConnect(Schema, JsonNode) line: 700
    ...
  ]
}

jdk.ExecutionSample {
  startTime = 18:05:12.141
  sampledThread = "task-thread-sluice-postgres-sink-1" (javaThreadId = 53)
  state = "STATE_RUNNABLE"
  stackTrace = [
    sun.security.ssl.SSLCipher$T13GcmWriteCipherGenerator$GcmWriteCipher.encrypt(byte, ByteBuffer) line: 1900
    org.postgresql.core.PGStream.flush() line: 700
  ]
}

jdk.ExecutionSample {
  startTime = 18:05:12.151
  sampledThread = "task-thread-sluice-postgres-sink-1" (javaThreadId = 53)
  state = "STATE_RUNNABLE"
  stackTrace = [
    java.util.HashMap.getNode(int, Object) line: 568
    io.debezium.connector.jdbc.JdbcChangeEventSink.execute(Collection) line: 90
  ]
}

jdk.ExecutionSample {
  startTime = 18:05:12.161
  sampledThread = "qtp1977189075-39" (javaThreadId = 39)
  state = "STATE_RUNNABLE"
  stackTrace = [
    org.eclipse.jetty.server.HttpChannel.handle() line: 1
  ]
}
"""

GC = """\
jdk.GarbageCollection {
  startTime = 18:06:00.001
  gcId = 12
  name = "G1New"
  sumOfPauses = 5.50 ms
}

jdk.GarbageCollection {
  gcId = 13
  sumOfPauses = 1.25 s
}
"""


def test_categories_pass_over_generic_jdk_frames_but_not_tls():
    assert prof.category(["java.util.HashMap.get", "org.hibernate.engine.Foo.bar"]) == "Hibernate"
    assert prof.category(["sun.security.ssl.SSLSocketImpl.write", "org.postgresql.core.PGStream.flush"]) == "TLS"
    assert prof.category(["jdk.internal.misc.Unsafe.park", "com.example.thing.Work.run"]) == "other: com.example.thing"
    assert prof.category(["java.lang.Thread.run"]) == "JDK only"
    assert prof.category([]) == "JDK only"


def test_summarize_charges_task_samples_and_counts_every_thread():
    out = prof.summarize(SAMPLES.splitlines())
    assert out["samples"] == 4 and out["task_samples"] == 3
    assert out["threads"] == {"sink tasks": 0.75, "other threads": 0.25}
    assert out["task_components"] == {"JSON converter": 0.333, "TLS": 0.333, "JDBC sink (Debezium)": 0.333}
    assert out["task_leaf_methods"]["java.util.HashMap.getNode"] == 0.667
    assert prof.summarize([]) == {"samples": 0, "task_samples": 0, "threads": {}, "task_components": {},
                                  "task_leaf_methods": {}}


def test_gc_pauses_add_up_in_seconds():
    assert prof.gc_pauses(GC.splitlines()) == {"collections": 2, "pause_s": 1.256}


def test_connect_profile_records_fetches_and_summarizes(monkeypatch, tmp_path):
    calls = []

    def run(cmd, **_kwargs):
        calls.append(cmd)
        out = "PID ARGS\n4208 /usr/bin/java -Xms1g org.apache.kafka.connect.cli.ConnectDistributed x\n"
        return subprocess.CompletedProcess(cmd, 0, stdout=out if cmd[:2] == ["docker", "top"] else "")

    monkeypatch.setattr(prof.shutil, "which", lambda tool: "/usr/bin/" + tool)
    monkeypatch.setattr(prof.subprocess, "run", run)
    monkeypatch.setattr(prof.ConnectProfile, "_print",
                        staticmethod(lambda path, event: iter((SAMPLES if "Sample" in event else GC).splitlines())))
    profile = prof.ConnectProfile("sluice-connect")
    profile.start()
    result = profile.stop(str(tmp_path / "x.jfr"))
    assert calls[1] == ["jcmd", "4208", "JFR.start", "name=sluice-bench", "settings=profile",
                        "filename=/var/lib/kafka-connect/sluice-bench.jfr"]
    assert calls[2] == ["jcmd", "4208", "JFR.stop", "name=sluice-bench"]
    assert calls[3] == ["docker", "cp", "sluice-connect:/var/lib/kafka-connect/sluice-bench.jfr",
                        str(tmp_path / "x.jfr")]
    assert result["task_samples"] == 3 and result["gc"]["collections"] == 2

    rows = bench.profile_rows(result)
    text = "\n".join(" ".join(r) for r in rows)
    assert "sink tasks 75.0 %" in text and "TLS 33.3 %" in text and "1.26 s paused" in text


def test_connect_profile_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(prof.shutil, "which", lambda tool: None if tool == "jcmd" else "/usr/bin/" + tool)
    with pytest.raises(SystemExit, match="needs jcmd"):
        prof.ConnectProfile("sluice-connect")
    monkeypatch.setattr(prof.shutil, "which", lambda tool: "/usr/bin/" + tool)
    monkeypatch.setattr(prof.subprocess, "run",
                        lambda cmd, **_: subprocess.CompletedProcess(cmd, 0, stdout="PID ARGS\n1 /sbin/init\n"))
    with pytest.raises(SystemExit, match="no single Connect worker"):
        prof.ConnectProfile("sluice-connect")


def test_parse_args_profile():
    assert bench.parse_args(["--profile"]).profile and not bench.parse_args([]).profile
