"""gunicorn's configuration for the portal: `uptake serve` runs with it, and a production
configuration imports it (docs/operations.md) and changes what it must (bind, workers).

- Threads (gthread): a worker answers /healthz and static files (WhiteNoise) on its other threads
  while one renders a page, and a slow page never gets the worker killed by `timeout` (which then
  only catches a worker that stopped answering at all), so it never takes unrelated requests down.
- No report or full download is ever made in a request (reports.builder, services.downloads):
  the report builder runs beside the workers as one low-priority process, started and stopped
  with gunicorn.
- Each worker warms its caches before it takes its first request, and again when a new
  publication appears (web.warm), so no first request after a start or a publication is slow.
"""

import os
import signal
import subprocess
import sys

wsgi_app = "uptake.web.wsgi:application"
bind = os.environ.get("UPTAKE_BIND", "127.0.0.1:8000")
# Rendering is CPU-bound Python: about one worker per CPU, plus one. Each keeps its own caches.
workers = int(os.environ.get("UPTAKE_WORKERS") or 3)
worker_class = "gthread"
threads = int(os.environ.get("UPTAKE_THREADS") or 4)
timeout = 120  # a worker that has not answered its heartbeat for this long is restarted
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = "127.0.0.1"  # nginx, on this machine
control_socket_disable = True  # gunicorn 25+: no shared ~/.gunicorn/gunicorn.ctl

_builder: dict = {}


def when_ready(server):
    """Start the report builder (unless UPTAKE_REPORT_BUILDER=0, e.g. when it runs on its own)."""
    if os.environ.get("UPTAKE_REPORT_BUILDER", "1") == "0":
        return
    _builder["proc"] = subprocess.Popen([sys.executable, "-m", "uptake", "report-builder"])
    server.log.info("report builder started (pid %s)", _builder["proc"].pid)


def post_worker_init(worker):
    from uptake.web import warm

    warm.start(heartbeat=worker.notify)


def on_exit(server):
    proc = _builder.pop("proc", None)
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
