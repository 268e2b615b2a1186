"""Apache Spark as an engine: one SparkContext per process, one child session per engine, the
warehouse's Parquet files read directly; Java and log4j set up so that Spark starts quietly."""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import ibis
import pyarrow as pa

from ...errors import UptakeError
from ...schemas import DATASETS
from ...warehouse import Warehouse
from .base import Engine, conform, plain_arrow

SPARK_MASTER_ENV = "UPTAKE_SPARK_MASTER"
DEFAULT_SPARK_MASTER = "local[2]"
LOCAL_SHUFFLE_PARTITIONS = 4
MIN_JAVA = 17
SPARK_EXTRA = "install the [spark] extra: pip install 'uptake[spark]'"

_session_lock = threading.Lock()
_log_config: Path | None = None


def connect_spark(wh: Warehouse, master: str | None, conf: dict[str, str]) -> Engine:
    root = spark_session(master, conf)
    session = root.newSession()  # own temporary views and SQL settings, shared SparkContext
    for key, value in _sql_conf(root.sparkContext.master).items():
        session.conf.set(key, value)
    backend = _spark_backend_class()().connect(session)
    state = wh.state()  # the files current now: the engine is a snapshot, like Warehouse.connect()
    files = {name: wh.files(name, state) for name in DATASETS}

    def register(name: str) -> None:
        ds = DATASETS[name]
        if files[name]:
            # the canonical schema, given rather than inferred: no footer reads, same types always
            df = session.read.schema(_spark_schema(ds.schema)).parquet(*(_hadoop_path(f) for f in files[name]))
        else:
            df = session.createDataFrame(ds.schema.empty_table())
        df.createOrReplaceTempView(name)

    return Engine("spark", backend, wh, session=session, register=register, files=files)


def _sql_conf(master: str) -> dict[str, str]:
    conf = {
        "spark.sql.session.timeZone": "UTC",
        # toPandas()/Ibis `execute` through Arrow rather than row by row
        "spark.sql.execution.arrow.pyspark.enabled": "true",
    }
    if master.startswith("local"):
        conf["spark.sql.shuffle.partitions"] = str(LOCAL_SHUFFLE_PARTITIONS)
    return conf


def spark_session(master: str | None = None, conf: dict[str, str] | None = None):
    """The process's SparkSession (created on first use, then reused: start-up takes seconds).

    `conf` (extra Spark settings) applies only when the session starts. Raises `UptakeError` when
    pyspark is not installed, or Java 17+ is missing, or a session is already running on another
    master than the one asked for explicitly."""
    wanted = master or os.environ.get(SPARK_MASTER_ENV) or None
    _require_pyspark()
    from pyspark.sql import SparkSession

    with _session_lock:
        active = SparkSession.getActiveSession()
        if active is None:
            # a session created on another thread is not "active" here, but is still the default
            active = getattr(SparkSession, "_instantiatedSession", None)
        if active is not None:
            running = active.sparkContext.master
            if wanted and wanted != running:
                raise UptakeError(
                    f"a Spark session on {running!r} is already running in this process; cannot start "
                    f"another on {wanted!r} (one SparkContext per process): stop it first "
                    "(uptake.engine.backends.stop_spark())")
            return active
        url = wanted or DEFAULT_SPARK_MASTER
        if url.startswith("sc://"):
            raise UptakeError(f"spark master {url!r}: Spark Connect is not supported yet; use a "
                              "local[...] or spark://host:port master")
        _require_java()
        local = url.startswith("local")
        if local:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no hostname/loopback warning
        settings = {
            "spark.app.name": "uptake",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            **_sql_conf(url),
        }
        if local:
            settings["spark.driver.host"] = "127.0.0.1"
            settings["spark.driver.bindAddress"] = "127.0.0.1"
        if "spark.driver.extraJavaOptions" not in (conf or {}):
            settings["spark.driver.extraJavaOptions"] = f"-Dlog4j2.configurationFile={_quiet_log_config()}"
        settings.update(conf or {})
        builder = SparkSession.builder.master(url)
        for key, value in settings.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # noqa: BLE001 - the JVM failed to start: say so in one line
            raise UptakeError(f"Spark did not start on {url!r}: {str(exc).strip().splitlines()[0]}") from exc
        session.sparkContext.setLogLevel("ERROR")
        _quiet_python_loggers()
        return session


def _quiet_python_loggers() -> None:
    """PySpark 4 logs every failed query as a page of JSON on stderr before raising it; the
    exception says the same in one line, so the log is turned off."""
    try:
        from pyspark.logger import PySparkLogger
    except ImportError:
        return
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)


def stop_spark() -> None:
    """Stop the process's SparkContext (the next Spark engine starts a new one)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return
    with _session_lock:
        active = SparkSession.getActiveSession() or getattr(SparkSession, "_instantiatedSession", None)
        if active is not None:
            active.stop()


def _require_pyspark() -> None:
    try:
        import pyspark
    except ImportError:
        raise UptakeError(f"the Spark engine needs pyspark: {SPARK_EXTRA}") from None
    major = int(pyspark.__version__.split(".")[0])
    if major < 4:
        raise UptakeError(f"the Spark engine needs pyspark 4 or later (found {pyspark.__version__}): "
                          f"{SPARK_EXTRA} --upgrade")
    try:
        import ibis.backends.pyspark  # noqa: F401
    except ImportError as exc:
        raise UptakeError(f"the Spark engine needs Ibis's pyspark backend ({exc}): {SPARK_EXTRA}") from None


def java_executable() -> str | None:
    """The `java` Spark will launch: $JAVA_HOME/bin/java, else the first on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def java_version(java: str) -> int | None:
    """The major version `java -version` reports (8 for "1.8.0_392", 17 for "17.0.15")."""
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def _require_java() -> None:
    how = ("install a JDK 17 or later (e.g. `apt-get install openjdk-17-jre-headless`, "
           "`brew install openjdk@17`) and put its java on PATH or set JAVA_HOME")
    java = java_executable()
    if java is None:
        where = f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java" if os.environ.get("JAVA_HOME") \
            else "no java on PATH and JAVA_HOME is not set"
        raise UptakeError(f"Spark needs Java {MIN_JAVA}: {where}; {how}")
    version = java_version(java)
    if version is None:
        raise UptakeError(f"Spark needs Java {MIN_JAVA}: `{java} -version` did not run or say its version; {how}")
    if version < MIN_JAVA:
        raise UptakeError(f"Spark needs Java {MIN_JAVA}: {java} is Java {version}; {how}")


def _quiet_log_config() -> Path:
    """A log4j2 configuration that lets only errors through (Spark's default prints INFO/WARN
    lines at start-up and on every stage)."""
    global _log_config
    if _log_config is None or not _log_config.exists():
        fd, name = tempfile.mkstemp(prefix="uptake-log4j2-", suffix=".properties")
        with os.fdopen(fd, "w") as f:
            # A Python driver is an "interpreter" to Spark: at start-up Spark prints "Setting
            # default log level to WARN" and lowers the root logger to WARN, unless the logger
            # of its first logging class (org.apache.spark...) has a level of its own equal to
            # the root's. Hence the explicit `org` logger.
            f.write("rootLogger.level = error\n"
                    "rootLogger.appenderRef.stderr.ref = console\n"
                    "appender.console.type = Console\n"
                    "appender.console.name = console\n"
                    "appender.console.target = SYSTEM_ERR\n"
                    "appender.console.layout.type = PatternLayout\n"
                    "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex\n"
                    "logger.org.name = org\n"
                    "logger.org.level = error\n"
                    # a failed query raises in Python with Spark's message; the executor's
                    # and scheduler's copies of it, with stack traces, are noise
                    "logger.executor.name = org.apache.spark.executor.Executor\n"
                    "logger.executor.level = fatal\n"
                    "logger.tasks.name = org.apache.spark.scheduler.TaskSetManager\n"
                    "logger.tasks.level = fatal\n")
        _log_config = Path(name)
        atexit.register(_log_config.unlink, missing_ok=True)
    return _log_config


def _spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


_GLOB = re.compile(r"([\\*?\[\]{}])")


def _hadoop_path(path: Path) -> str:
    """A local file as Spark reads it: absolute, with the glob characters Hadoop would expand
    escaped, and with an explicit file: scheme so that a cluster's default file system (HDFS)
    is not assumed."""
    return "file://" + _GLOB.sub(r"\\\1", str(Path(path).resolve()))


_backend_class = None


def _spark_backend_class():
    """Ibis's pyspark backend with Arrow in and out: in-memory tables are registered from Arrow
    (Ibis goes through pandas, which fails on a null decimal) and results are collected with
    `DataFrame.toArrow()` (Ibis goes through pandas, which turns NaN into null)."""
    global _backend_class
    if _backend_class is not None:
        return _backend_class
    from ibis.backends.pyspark import Backend as PySparkBackend

    ibis.pyspark  # noqa: B018 - loading the backend through Ibis registers its options (compilers read them)

    class ArrowPySparkBackend(PySparkBackend):
        def _register_in_memory_table(self, op) -> None:
            data = plain_arrow(op.data.to_pyarrow(op.schema))
            self._session.createDataFrame(data).createOrReplaceTempView(op.name)

        def to_pyarrow(self, expr, /, *, params=None, limit=None, **kwargs) -> pa.Table:
            if self.mode == "streaming":
                return super().to_pyarrow(expr, params=params, limit=limit, **kwargs)
            self._run_pre_execute_hooks(expr)
            table_expr = expr.as_table()
            sql = self.compile(table_expr, params=params, limit=limit, **kwargs)
            result = conform(self._session.sql(sql).toArrow(), table_expr.schema())
            return expr.__pyarrow_result__(result)

    _backend_class = ArrowPySparkBackend
    return _backend_class


def spark_unavailable() -> str | None:
    """Why the Spark engine cannot start here (pyspark or Java missing), or None if it can.
    Starts nothing."""
    try:
        _require_pyspark()
        from pyspark.sql import SparkSession

        if SparkSession.getActiveSession() is None:
            _require_java()
    except UptakeError as exc:
        return str(exc)
    return None
