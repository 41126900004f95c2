"""Where the Connect worker's time goes during the sink phase: a JDK Flight Recorder recording, summed by component.

The worker runs a JRE (no jcmd). The host's JDK tools attach to it through /proc/<pid>/root, as to any JVM in a
container (same kernel, root may attach to any user's JVM): `jcmd <pid> JFR.start` records into the worker's state
directory (the only one its unit may write), `docker cp` fetches the file, `jfr print` reads it. JFR's `profile`
settings sample each running Java thread every 10 ms (about 2 % overhead); GC threads are not sampled, so GC time
comes from the recording's pause events.

summarize() and gc_pauses() are pure (text in, figures out) for tests/unit/bench.
"""
from __future__ import annotations

import collections
import re
import shutil
import subprocess

STATE_DIR = "/var/lib/kafka-connect"   # the worker's ReadWritePaths (roles/kafka_connect)
RECORDING = "sluice-bench"
STACK_DEPTH = 96                       # deep enough to reach the sink task's own frames from a JDK leaf

# A sample belongs to the first frame, from the top of the stack down, whose class starts with one of these.
# JDK classes in general (java., jdk., sun.) are passed over so that a HashMap.get lands on its caller, except the
# ones that are a cost of their own (TLS, compression).
CATEGORIES = (
    ("sun.security.", "TLS"), ("com.sun.crypto.", "TLS"), ("javax.crypto.", "TLS"), ("javax.net.ssl.", "TLS"),
    ("com.github.luben.zstd.", "decompression"), ("org.apache.kafka.common.compress.", "decompression"),
    ("java.util.zip.", "decompression"),
    ("org.apache.kafka.connect.json.", "JSON converter"), ("com.fasterxml.jackson.", "JSON converter"),
    ("io.apicurio.", "Avro converter"), ("org.apache.avro.", "Avro converter"),
    ("io.debezium.connector.jdbc.", "JDBC sink (Debezium)"), ("io.debezium.", "Debezium core"),
    ("org.hibernate.", "Hibernate"), ("org.postgresql.", "PostgreSQL driver"),
    ("com.mchange.", "connection pool (c3p0)"),
    ("org.apache.kafka.connect.", "Connect runtime"), ("org.apache.kafka.", "Kafka client"),
    ("io.prometheus.", "JMX exporter"), ("org.eclipse.jetty.", "REST server"), ("org.glassfish.", "REST server"),
)
GENERIC = ("java.", "jdk.", "sun.", "com.sun.")
FRAME = re.compile(r"^\s+([\w$.]+)\.([\w$<>]+)\(")
THREAD = re.compile(r'^\s+sampledThread = "([^"]*)"')
DURATION = re.compile(r"^\s+sumOfPauses = ([\d.]+) (ns|us|ms|s)\b")
UNIT_S = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def category(frames: list[str]) -> str:
    """The component a sample's stack (top first, ``package.Class.method``) is charged to."""
    for frame in frames:
        for prefix, name in CATEGORIES:
            if frame.startswith(prefix):
                return name
        if not frame.startswith(GENERIC):
            return "other: " + ".".join(frame.split(".")[:3])
    return "JDK only"


def thread_group(name: str) -> str:
    """Sink task threads against the rest (the REST server, the group coordinator, the exporter's scrapes …)."""
    return "sink tasks" if name.startswith("task-thread-") else "other threads"


def parse_samples(lines):
    """(thread name, [frames top first]) of each jdk.ExecutionSample in `jfr print` text output."""
    thread, frames, in_stack = None, [], False
    for line in lines:
        if line.startswith("jdk.ExecutionSample"):
            thread, frames, in_stack = None, [], False
        elif m := THREAD.match(line):
            thread = m.group(1)
        elif "stackTrace = [" in line:
            in_stack = True
        elif in_stack and (m := FRAME.match(line)):
            frames.append(f"{m.group(1)}.{m.group(2)}")
        elif in_stack and line.strip() == "]":
            in_stack = False
            yield thread or "", frames


def summarize(lines, top: int = 12) -> dict:
    """Shares of the samples by component and by thread group, and the sink tasks' hottest leaf methods."""
    by_cat, by_group, leaves = collections.Counter(), collections.Counter(), collections.Counter()
    task_samples = 0
    for thread, frames in parse_samples(lines):
        group = thread_group(thread)
        by_group[group] += 1
        if group == "sink tasks":
            task_samples += 1
            by_cat[category(frames)] += 1
            if frames:
                leaves[frames[0]] += 1
    total = sum(by_group.values())

    def shares(counter, of):
        return {k: round(v / of, 3) for k, v in counter.most_common(top)} if of else {}

    return {"samples": total, "task_samples": task_samples, "threads": shares(by_group, total),
            "task_components": shares(by_cat, task_samples), "task_leaf_methods": shares(leaves, task_samples)}


def gc_pauses(lines) -> dict:
    """Count and total pause time of the jdk.GarbageCollection events in `jfr print` text output."""
    count, seconds = 0, 0.0
    for line in lines:
        if m := DURATION.match(line):
            count += 1
            seconds += float(m.group(1)) * UNIT_S[m.group(2)]
    return {"collections": count, "pause_s": round(seconds, 3)}


class ConnectProfile:
    """A JFR recording of the Connect worker in ``container``, from start() to stop(out)."""

    def __init__(self, container: str):
        missing = [tool for tool in ("jcmd", "jfr", "docker") if not shutil.which(tool)]
        if missing:
            raise SystemExit(f"--profile needs {', '.join(missing)} on the host (a JDK 17 or newer: jcmd and jfr)")
        self.container = container
        self.path = f"{STATE_DIR}/{RECORDING}.jfr"
        self.pid = self._worker_pid()

    def _worker_pid(self) -> str:
        top = subprocess.run(["docker", "top", self.container, "-o", "pid,args"], check=True, text=True,
                             capture_output=True).stdout
        pids = [line.split()[0] for line in top.splitlines()[1:] if "ConnectDistributed" in line]
        if len(pids) != 1:
            raise SystemExit(f"--profile: no single Connect worker JVM in {self.container}")
        return pids[0]

    def _jcmd(self, *args: str) -> None:
        subprocess.run(["jcmd", self.pid, *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._jcmd("JFR.start", f"name={RECORDING}", "settings=profile", f"filename={self.path}")

    def stop(self, out: str) -> dict:
        self._jcmd("JFR.stop", f"name={RECORDING}")
        subprocess.run(["docker", "cp", f"{self.container}:{self.path}", out], check=True, capture_output=True)
        subprocess.run(["docker", "exec", self.container, "rm", "-f", self.path], check=True)
        return {"file": out, **summarize(self._print(out, "jdk.ExecutionSample")),
                "gc": gc_pauses(self._print(out, "jdk.GarbageCollection"))}

    @staticmethod
    def _print(path: str, event: str):
        with subprocess.Popen(["jfr", "print", "--stack-depth", str(STACK_DEPTH), "--events", event, path],
                              stdout=subprocess.PIPE, text=True) as proc:
            yield from proc.stdout
        if proc.returncode:
            raise SystemExit(f"jfr print {event} {path} failed with {proc.returncode}")
