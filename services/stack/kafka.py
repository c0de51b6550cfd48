"""A single-node Apache Kafka 4.x broker in KRaft mode (broker + controller) on 127.0.0.1.

Runs the Maven-resolved jars (``.jars/kafka``) with ``java``; formats its storage on first start.
``transaction.max.timeout.ms`` stays at Kafka's 15 min default: exactly-once sinks must set their
transaction timeout below it.
"""
from __future__ import annotations

import base64
import shutil
import uuid
from pathlib import Path

from services.stack.config import StackConfig
from services.stack.proc import StackError, port_open, read_pid, spawn, stop, wait_ready

LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""


def server_properties(cfg: StackConfig) -> str:
    d = cfg.kafka_dir
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{cfg.controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{cfg.kafka_port},CONTROLLER://127.0.0.1:{cfg.controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{cfg.kafka_port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        f"log.dirs={d / 'data'}",
        f"num.partitions={cfg.partitions}",
        "auto.create.topics.enable=false",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=4",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        # Time retention reads the record timestamps, which are event time here: history replayed
        # from months ago would go at the next check. The broker keeps records by size instead.
        "log.retention.ms=-1",
        f"log.retention.bytes={cfg.kafka_retention_bytes}",
        f"log.retention.check.interval.ms={cfg.kafka_retention_check_ms}",
        f"log.initial.task.delay.ms={min(30_000, cfg.kafka_retention_check_ms)}",
        "",
    ])


def _classpath(cfg: StackConfig) -> str:
    jars = Path(cfg.jars_dir) / "kafka"
    if not any(jars.glob("kafka_2.13-*.jar")):
        raise StackError(f"Kafka jars not found in {jars}: run scripts/setup.sh (mvn dependency:copy-dependencies)")
    return str(jars / "*")


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise StackError("java not found on PATH: Kafka needs Java 17")
    return java


def _java_argv(cfg: StackConfig, main: str, *args: str) -> list[str]:
    d = cfg.kafka_dir
    return [
        _java(), f"-Xmx{cfg.kafka_heap}", "-Xms128m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={d / 'log4j2.properties'}", "-cp", _classpath(cfg), main, *args,
    ]


def _format(cfg: StackConfig) -> None:
    import subprocess

    d = cfg.kafka_dir
    if (d / "data" / "meta.properties").exists():
        return
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    # "--cluster-id=<id>": a random id may start with "-", which a separate argument would make an option
    argv = _java_argv(cfg, "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                      "-c", str(d / "server.properties"), "--ignore-formatted")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise StackError(f"formatting Kafka storage failed:\n{done.stdout}\n{done.stderr}")


def ready(cfg: StackConfig) -> bool:
    if not port_open(cfg.kafka_port):
        return False
    from kafka import KafkaAdminClient

    try:
        admin = KafkaAdminClient(bootstrap_servers=cfg.bootstrap, request_timeout_ms=3000)
    except Exception:
        return False
    try:
        admin.list_topics()
        return True
    except Exception:
        return False
    finally:
        admin.close()


def start(cfg: StackConfig) -> str:
    """Start the broker unless it already runs; returns a one-line status."""
    d = cfg.kafka_dir
    pid_file = d / "kafka.pid"
    if read_pid(pid_file) is not None and ready(cfg):
        return f"Kafka already running on {cfg.bootstrap}"
    if port_open(cfg.kafka_port) or port_open(cfg.controller_port):
        raise StackError(f"port {cfg.kafka_port} or {cfg.controller_port} is taken by another process; "
                         "set SP_STACK_KAFKA_PORT / SP_STACK_CONTROLLER_PORT")
    d.mkdir(parents=True, exist_ok=True)
    (d / "server.properties").write_text(server_properties(cfg))
    (d / "log4j2.properties").write_text(LOG4J2.format(log=d / "server.log"))
    _format(cfg)
    log = d / "stdout.log"
    pid = spawn(_java_argv(cfg, "kafka.Kafka", str(d / "server.properties")), log, pid_file, d)
    wait_ready("Kafka", pid, lambda: ready(cfg), cfg.start_timeout_s, d / "server.log")
    return f"Kafka {cfg.bootstrap} (pid {pid}, data {d / 'data'})"


def shutdown(cfg: StackConfig) -> bool:
    return stop("Kafka", cfg.kafka_dir / "kafka.pid", grace_s=30.0)
