"""Load-test the portal on a national-scale demo warehouse behind gunicorn, from a second process
(locust), and print the latency distribution against a baseline measured under the same load:

  (1) build (or reuse) a synthetic warehouse and publish its scorecard
      (`<home>/published/scorecard.duckdb`, the only file the portal reads), each step timed;
  (2) pick real codes and URLs through the API (Django's test client in a child process):
      TA pages at ICB, sub-ICB, practice and region level for several TAs, organisation pages
      (ICB, sub-ICB, PCN, practice), search, and the API (scorecard, profile, variation, deciles),
      and pages of practices outside that set, which no worker has rendered (reported apart);
  (3) move the warehouse aside (`<home>/warehouse` -> `<home>/warehouse.aside-portal-bench`,
      restored at the end), so that a page that scanned raw prescribing would fail, and start
      gunicorn (`uptake.web.wsgi:application`, as `uptake serve` does);
  (4) warm it: a gunicorn `post_worker_init` hook has each worker render every URL of the mix
      twice through the WSGI application before it serves (one worker at a time), so the first
      render is the cold one (per-process caches empty) and the second the warm one;
  (5) run `locust --headless -u 50 -r 50 -t 60s` in a second process with a user mixing those
      groups with weights, plus two baselines in the same load: `GET /healthz` (a Django view
      that does no scorecard work) and a static file (whitenoise); while it runs, list the files
      every worker holds open (/proc/<pid>/fd);
  (6) print p50/p95/p99, requests/s and failures (locust's CSV stats), per group p95, the
      server's peak RSS and CPU time, the CPU everything else on the machine took (per 10 s: on a
      shared machine, read the latencies with it), the warm-page p95 as a ratio to the baseline's
      median, and PASS/FAIL against the target: p95 of the portal's requests < 150 ms, no errors.

Workers: 3 sync workers by default on 2 CPUs. Rendering is CPU-bound Python, so threads
(`--worker-class gthread`) add no CPU, and a long cold render holds the GIL against the other
threads of its worker; more processes than CPUs let a short request be served while one worker
is inside a long cold render (a practice-level TA page takes ~1.5 s to render the first time),
at ~0.7 GB of caches per worker at national scale.

Users wait 0.5-1.5 s between requests by default (`--wait 0.5,1.5`): 50 people browsing, about
45 requests/s offered. With no wait (`--wait 0`), 50 users are 50 requests always in flight, and
by Little's law every request then waits about 50 / throughput whatever a page costs: a
saturation test, which prints the server's capacity rather than a user's latency.

    python benchmarks/portal.py --quick                 # tiny NHS, 3 months, 10 s: about a minute
    python benchmarks/portal.py                         # national, 12 months (2021-10..2022-09), 60 s
    python benchmarks/portal.py --home ~/.uptake        # an existing home (its publication is reused)
    python benchmarks/portal.py --wait 0                # saturation
    python benchmarks/portal.py --profile               # cProfile in every worker during the load

The warehouse is built once per scale/months/seed under --workdir and reused by later runs
(`--rebuild` to make it again, `--republish` to publish again). `--build fast` (default) generates
the synthetic NHS with prescribing written straight to canonical Parquet and loads it through
`Warehouse.load`, as benchmarks/engine.py does; `--build demo` runs `uptake demo` itself, which
writes every month as an EPD CSV first (about 5.5 GB a month at national scale).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_WORKDIR = "/tmp/uptake-bench-portal"
DEFAULT_BOUNDARIES = "/work/shared/data/geo/sub_icb_locations_2022_buc.geojson"
TARGET_P95_MS = 150.0
ASIDE = "warehouse.aside-portal-bench"
# TAs a user is likely to look at: register-based ones with an uptake index, rates per 1,000,
# and one whose products are issued in hospitals (headline 'none').
PREFERRED_TAS = ["TA275", "TA249", "TA256", "TA355", "TA773", "TA236", "TA733"]
BASELINES = ("baseline: GET /healthz", "baseline: static file")
COLD = "org page, practice (uncached)"


# --- the warehouse and the publication --------------------------------------------------------


def month_range(end: str, months: int) -> tuple[str, str]:
    y, m = (int(x) for x in end.split("-"))
    k = y * 12 + m - 1 - (months - 1)
    return f"{k // 12:04d}-{k % 12 + 1:02d}", end


def run_timed(cmd: list[str], label: str, env: dict | None = None, log: Path | None = None) -> dict:
    """Run a command to completion; its wall seconds, CPU seconds and peak RSS (MB)."""
    start = time.perf_counter()
    out = open(log, "w") if log else None
    try:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT if out else None)
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if out:
            out.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text()[-3000:] if log and log.exists() else ""
        raise SystemExit(f"{label} failed (exit {code}): {' '.join(cmd)}\n{tail}")
    return {"wall": time.perf_counter() - start, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024}


def uptake_cli() -> list[str]:
    return [sys.executable, "-m", "uptake"]


def prepare_home(args, home: Path) -> dict:
    """Build the warehouse (unless there is one) and publish it (unless published); timings."""
    timings: dict[str, float] = {}
    published = home / "published" / "scorecard.duckdb"
    aside = home / ASIDE
    if aside.exists() and not (home / "warehouse").exists():  # an interrupted run left it aside
        aside.rename(home / "warehouse")
        print(f"restored {home / 'warehouse'} (left aside by an interrupted run)")
    has_warehouse = (home / "warehouse" / "state.json").exists()
    if args.rebuild or not (has_warehouse or published.exists()):
        start, end = month_range(args.end, args.months)
        home.mkdir(parents=True, exist_ok=True)
        print(f"building a {args.scale} warehouse, {start} to {end}, seed {args.seed}, in {home} "
              f"(--build {args.build})", flush=True)
        if args.build == "demo":
            cmd = uptake_cli() + ["demo", "--scale", args.scale, "--seed", str(args.seed), "--start", start,
                                  "--end", end, "--home", str(home), "--no-serve", "--fresh"]
            if args.boundaries:
                cmd += ["--boundaries", args.boundaries]
            r = run_timed(cmd, "uptake demo", log=home / "demo.log")
            timings["uptake demo (generate CSV + load + publish)"] = r["wall"]
            print(f"  uptake demo: {r['wall']:.0f} s, peak {r['peak_mb']:,.0f} MB (log: {home / 'demo.log'})")
            shutil.rmtree(home / "demo-files", ignore_errors=True)  # the warehouse has its own copy
        else:
            r = run_timed([sys.executable, __file__, "--child", "build", "--home", str(home), "--scale", args.scale,
                           "--months", str(args.months), "--end", args.end, "--seed", str(args.seed)], "build")
            ready = json.loads((home / "ready.json").read_text())
            timings["generate"] = ready["generate_seconds"]
            timings["load"] = ready["load_seconds"]
            print(f"  generated in {ready['generate_seconds']:.0f} s, loaded in {ready['load_seconds']:.0f} s, "
                  f"peak {r['peak_mb']:,.0f} MB")
        args.republish = args.republish or args.build != "demo"
    if args.republish or not published.exists():
        cmd = uptake_cli() + ["publish", "--home", str(home), "--json"]
        if args.boundaries:
            cmd += ["--boundaries", args.boundaries]
        print(f"publishing the scorecard of {home / 'warehouse'}", flush=True)
        r = run_timed(cmd, "uptake publish", log=home / "publish.log")
        timings["publish"] = r["wall"]
        print(f"  uptake publish: {r['wall']:.0f} s, CPU {r['cpu']:.0f} s, peak {r['peak_mb']:,.0f} MB")
    if not timings:
        print(f"reusing {published} (published {time.ctime(published.stat().st_mtime)}; --republish or "
              "--rebuild to make it again)")
    return timings


def child_build(args) -> None:
    """Child body: the synthetic NHS, prescribing as Parquet, loaded through Warehouse.load (the
    same build as benchmarks/engine.py's, into <home>/warehouse)."""
    sys.path.insert(0, str(HERE))
    from engine import build_warehouse

    start, end = month_range(args.end, args.months)
    build_warehouse(Path(args.home), args.scale, start, end, args.seed)


# --- the mix: real codes, picked through the API ----------------------------------------------


def child_mix(args) -> None:
    """Child body: choose the URLs of the mix by asking the API (Django's test client, in process)."""
    os.environ["UPTAKE_HOME"] = args.home
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "uptake.web.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", interactive=False, verbosity=0)  # as `uptake serve` does
    client = Client()
    rng = random.Random(args.seed)

    def get(url: str):
        r = client.get(url)
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code}: {r.content[:300]!r}")
        return r.json()

    def orgs(level: str) -> list[dict]:
        return get(f"/api/v1/organisations?level={level}&limit=10000")

    tas = {t["id"] for t in get("/api/v1/tas")}
    chosen_tas = [t for t in PREFERRED_TAS if t in tas][:args.tas]
    icbs = get("/api/v1/organisations?level=icb&limit=50")
    subs, pcns, practices = orgs("sub_icb"), orgs("pcn"), orgs("practice")

    def pick(items: list[dict], n: int) -> list[dict]:
        return rng.sample(items, min(n, len(items)))

    p_icb, p_sub, p_pcn, p_prac = pick(icbs, 8), pick(subs, 10), pick(pcns, 5), pick(practices, 30)
    warm_codes = {o["code"] for o in p_prac}
    cold_pool = [o["code"] for o in practices if o["code"] not in warm_codes]

    def typo(word: str) -> str:
        return word[:2] + word[3:] if len(word) > 5 else word

    queries = ["apixban", "rivaroxaban", "heart failure", "TA275"]
    for o in p_icb[:3] + p_prac[:3]:
        name_words = [w for w in (o["name"] or "").split() if w.upper() not in ("NHS", "ICB", "INTEGRATED", "CARE",
                                                                                "BOARD")]
        if name_words:
            queries.append(" ".join(typo(w.lower()) for w in name_words[:3]))
    queries.append(p_prac[0]["code"])  # an exact code: redirected to the practice's page
    from urllib.parse import quote

    static = "/static/nhsuk/nhsuk-frontend.min.js"
    if client.get(static).status_code != 200:
        static = "/assets/nhsuk-frontend.css"
    groups = [
        # name, weight, urls
        ("TA page, icb", 10, [f"/ta/{t}/?level=icb" for t in chosen_tas]),
        ("TA page, sub_icb", 6, [f"/ta/{t}/?level=sub_icb" for t in chosen_tas]),
        ("TA page, practice", 3, [f"/ta/{t}/?level=practice" for t in chosen_tas]),
        ("TA page, region", 1, [f"/ta/{t}/?level=region" for t in chosen_tas]),
        ("org page, icb", 6, [f"/org/{o['code']}/" for o in p_icb]),
        ("org page, sub_icb", 3, [f"/org/{o['code']}/" for o in p_sub]),
        ("org page, pcn", 1, [f"/org/{o['code']}/" for o in p_pcn]),
        ("org page, practice", 6, [f"/org/{o['code']}/" for o in p_prac]),
        ("home page", 2, ["/"]),
        ("search", 4, [f"/search/?q={quote(q_)}" for q_ in queries]),
        ("API scorecard, sub_icb", 5, [f"/api/v1/scorecard/{t}?level=sub_icb" for t in chosen_tas]),
        ("API profile", 4, [f"/api/v1/organisations/{o['code']}/profile" for o in p_icb[:4] + p_sub[:4] + p_prac[:8]]),
        ("API variation, icb", 3, [f"/api/v1/variation/{t}?level=icb" for t in chosen_tas]),
        ("API deciles, sub_icb", 3, [f"/api/v1/deciles/{t}?level=sub_icb" for t in chosen_tas]),
        (BASELINES[0], 3, ["/healthz"]),
        (BASELINES[1], 1, [static]),
    ]
    mix = {"tas": chosen_tas, "groups": [{"name": n, "weight": w, "urls": u} for n, w, u in groups],
           "cold": {"name": COLD, "weight": args.cold_weight, "pool": cold_pool},
           "counts": {"icb": len(icbs), "sub_icb": len(subs), "pcn": len(pcns), "practice": len(practices)}}
    Path(args.result).write_text(json.dumps(mix, indent=1))


# --- the server ---------------------------------------------------------------------------------

GUNICORN_CONF = r'''
# Written by benchmarks/portal.py: warm every worker before it serves, optionally profile it.
import fcntl, io, json, os, sys, time
from pathlib import Path

RUN = Path(os.environ["PORTAL_BENCH_RUN"])
_prof = None


def _get(app, url):
    path, _, query = url.partition("?")
    from urllib.parse import unquote
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, dict(headers)

    env = {"REQUEST_METHOD": "GET", "PATH_INFO": unquote(path), "QUERY_STRING": query, "SCRIPT_NAME": "",
           "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1",
           "REMOTE_ADDR": "127.0.0.1", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr,
           "wsgi.url_scheme": "http", "wsgi.version": (1, 0), "wsgi.multithread": False,
           "wsgi.multiprocess": True, "wsgi.run_once": False}
    body = app(env, start_response)
    size = sum(len(b) for b in body)
    if hasattr(body, "close"):
        body.close()
    return int(got["status"].split()[0]), got["headers"], size


def post_worker_init(worker):
    global _prof
    urls = json.loads((RUN / "warm_urls.json").read_text())
    out = {}
    with open(RUN / "warm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker at a time: cold timings without contention
        for url in urls:
            times, status, size = [], None, 0
            for _ in range(2):
                t = time.perf_counter()
                status, headers, size = _get(worker.wsgi, url)
                if status in (301, 302) and headers.get("Location", "").startswith("/"):
                    status, headers, size = _get(worker.wsgi, headers["Location"])
                times.append(time.perf_counter() - t)
                worker.notify()
            out[url] = {"status": status, "bytes": size, "cold": times[0], "warm": times[1]}
        fcntl.flock(lock, fcntl.LOCK_UN)
    (RUN / f"warm-{os.getpid()}.json").write_text(json.dumps(out))
    if os.environ.get("PORTAL_BENCH_PROFILE"):
        import cProfile

        _prof = cProfile.Profile()
        app = worker.wsgi

        def profiled(environ, start_response):
            _prof.enable()
            try:
                return app(environ, start_response)
            finally:
                _prof.disable()

        worker.wsgi = profiled


def worker_exit(server, worker):
    if _prof is not None:
        _prof.dump_stats(str(RUN / f"profile-{os.getpid()}.pstats"))
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def proc_status(pid: int) -> dict:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:")):
                    out[line.split(":")[0]] = int(line.split()[1]) / 1024
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["Pss"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs, /proc/stat) since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, IndexError):
        return 0.0


class FileWatch(threading.Thread):
    """Every `every` s, the regular files each server process holds open or has mapped."""

    def __init__(self, pids: list[int], every: float = 0.5):
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.files: dict[str, int] = {}
        self.samples = 0
        self.cpu: list[tuple[float, float, float]] = []  # (epoch s, machine busy CPU-s, server CPU-s)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.cpu.append((time.time(), machine_busy(), sum(cpu_seconds(p) for p in self.pids)))
            for pid in self.pids:
                seen = set()
                try:
                    for fd in os.listdir(f"/proc/{pid}/fd"):
                        try:
                            target = os.readlink(f"/proc/{pid}/fd/{fd}")
                        except OSError:
                            continue
                        if target.startswith("/"):
                            seen.add(target)
                    with open(f"/proc/{pid}/maps") as f:
                        for line in f:
                            parts = line.split(None, 5)
                            if len(parts) == 6 and parts[5].startswith("/") and "site-packages" not in parts[5] \
                                    and not parts[5].startswith(("/usr/", "/lib", "/etc/")):
                                seen.add(parts[5].strip() + " (mapped)")
                except OSError:
                    continue
                for path in seen:
                    self.files[path] = self.files.get(path, 0) + 1
            self.samples += 1
            self.stop.wait(self.every)


def start_server(args, home: Path, run: Path, port: int) -> subprocess.Popen:
    conf = run / "gunicorn_conf.py"
    conf.write_text(GUNICORN_CONF)
    env = dict(os.environ, UPTAKE_HOME=str(home), PORTAL_BENCH_RUN=str(run),
               DJANGO_SETTINGS_MODULE="uptake.web.settings")
    if args.profile:
        env["PORTAL_BENCH_PROFILE"] = "1"
    cmd = [sys.executable, "-m", "gunicorn", "uptake.web.wsgi:application", "-c", str(conf),
           "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers), "--worker-class", args.worker_class,
           "--access-logfile", str(run / "access.log"), "--error-logfile", str(run / "gunicorn.log"),
           "--log-level", "info", "--timeout", "120",
           # gunicorn 27's control socket is one path (~/.gunicorn/gunicorn.ctl) for every gunicorn
           # on the machine; a benchmark's server must not share it with anyone else's
           "--no-control-socket"]
    if args.worker_class == "gthread":
        cmd += ["--threads", str(args.threads)]
    return subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=open(run / "gunicorn.stderr", "w"))


def wait_warm(server: subprocess.Popen, run: Path, workers: int, port: int, timeout: float) -> list[int]:
    """Wait until every worker has warmed; the worker pids."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited ({server.returncode}): {(run / 'gunicorn.log').read_text()[-3000:]}"
                             f"{(run / 'gunicorn.stderr').read_text()[-3000:]}")
        pids = children_of(server.pid)
        done = [p for p in pids if (run / f"warm-{p}.json").exists()]
        if len(done) >= workers:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                    if r.status == 200:
                        return done
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.5)
    raise SystemExit(f"the workers did not warm within {timeout:.0f} s (see {run})")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    os.kill(server.pid, signal.SIGTERM)  # gunicorn: graceful shutdown of the workers
    try:
        server.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)  # the session we started for it
        server.wait()


# --- the load -----------------------------------------------------------------------------------

LOCUSTFILE = r'''
# Written by benchmarks/portal.py.
import json, os, random
from locust import FastHttpUser, between, constant, events, task

MIX = json.loads(open(os.environ["PORTAL_BENCH_MIX"]).read())
LOG = os.environ["PORTAL_BENCH_LOG"]
WAIT = [float(x) for x in os.environ["PORTAL_BENCH_WAIT"].split(",")]
GROUPS = [(g["name"], g["urls"]) for g in MIX["groups"]]
WEIGHTS = [g["weight"] for g in MIX["groups"]]
if MIX["cold"]["weight"] and MIX["cold"]["pool"]:
    COLD = list(MIX["cold"]["pool"])
    random.Random(1).shuffle(COLD)
    GROUPS.append((MIX["cold"]["name"], None))
    WEIGHTS.append(MIX["cold"]["weight"])
_rows = []


@events.request.add_listener
def record(request_type, name, response_time, response_length, exception=None, response=None, start_time=None,
           **kw):
    status = getattr(response, "status_code", 0) if response is not None else 0
    _rows.append((start_time or 0.0, name, response_time, response_length or 0, status, repr(exception)[:200]
                  if exception else ""))


@events.quitting.add_listener
def dump(environment, **kw):
    with open(LOG, "w") as f:
        f.write(json.dumps(_rows))


class Visitor(FastHttpUser):
    wait_time = between(WAIT[0], WAIT[-1]) if WAIT[-1] > 0 else constant(0)

    @task
    def visit(self):
        name, urls = random.choices(GROUPS, WEIGHTS)[0]
        if urls is None:  # a practice no user has asked for yet (COLD is shared by the users)
            url = f"/org/{COLD.pop()}/" if COLD else "/org/" + random.choice(MIX["cold"]["pool"]) + "/"
        else:
            url = random.choice(urls)
        with self.client.get(url, name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
'''


def run_locust(args, run: Path, mix_file: Path, port: int) -> dict:
    lf = run / "locustfile.py"
    lf.write_text(LOCUSTFILE)
    env = dict(os.environ, PORTAL_BENCH_MIX=str(mix_file), PORTAL_BENCH_LOG=str(run / "requests.json"),
               PORTAL_BENCH_WAIT=args.wait)
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    cmd = [locust, "-f", str(lf), "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
           "-t", f"{args.duration}s", "--host", f"http://127.0.0.1:{port}", "--csv", str(run / "locust"),
           "--only-summary", "--exit-code-on-error", "0", "--loglevel", "WARNING"]
    r = run_timed(cmd, "locust", env=env, log=run / "locust.log")
    return r


def read_stats(path: Path) -> dict[str, dict]:
    with open(path, newline="") as f:
        return {row["Name"]: row for row in csv.DictReader(f)}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * p / 100
    lo = int(k)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (k - lo)


# --- the report -------------------------------------------------------------------------------


def print_warm(run: Path, pids: list[int], mix: dict) -> None:
    per_worker = [json.loads((run / f"warm-{p}.json").read_text()) for p in pids]
    first_url = next(iter(per_worker[0]))
    print(f"warm-up: every worker rendered each of the {len(per_worker[0])} URLs twice through the WSGI app "
          "before serving (one worker at a time)")
    print(f"  first request in a fresh worker ({first_url}: Django, URLs, templates, publication opened): "
          + ", ".join(f"{w[first_url]['cold'] * 1000:.0f} ms" for w in per_worker))
    bad = {u: w[u]["status"] for w in per_worker for u in w if w[u]["status"] != 200}
    if bad:
        print(f"  NOT 200 during warm-up: {bad}")
    print(f"  {'group':<32}{'cold median':>12}{'cold max':>10}{'warm median':>13}{'warm max':>10}{'page size':>11}")
    for g in mix["groups"]:
        cold = [w[u]["cold"] * 1000 for w in per_worker for u in g["urls"] if u != first_url]
        warm = [w[u]["warm"] * 1000 for w in per_worker for u in g["urls"]]
        size = statistics.median(w[u]["bytes"] for w in per_worker for u in g["urls"])
        if cold:
            print(f"  {g['name']:<32}{statistics.median(cold):>10.1f}ms{max(cold):>8.0f}ms"
                  f"{statistics.median(warm):>11.1f}ms{max(warm):>8.0f}ms{size / 1024:>9.0f}kB")
    print("  cold: the first render in that worker (its caches empty; the publication read); warm: the second. "
          "The first URL's cold time is left out (process start-up).")


def report_files(watch: FileWatch, home: Path) -> bool:
    """Print the files the server held open (and files under the home it mapped); False if any
    of them is under the warehouse."""
    libs = (sys.prefix, sys.base_prefix, "/usr/", "/lib", "/dev/", "/proc/")
    shown = sorted(p for p in watch.files if (str(home) in p) or not (p.endswith("(mapped)") or p.startswith(libs)))
    print(f"files the server's processes held open ({watch.samples} samples of /proc/<pid>/fd and maps, every "
          f"{watch.every:g} s during the load; Python, libraries and devices left out):")
    for path in shown:
        print(f"  {path}")
    raw = [p for p in watch.files if str(home / "warehouse") in p or ASIDE in p]
    print(f"  under {home}/warehouse (raw prescribing and the rest of the warehouse): "
          f"{'none' if not raw else ', '.join(raw)}")
    return not raw


def print_profile(run: Path, top: int = 20) -> None:
    """The workers' cProfile during the load, summed over workers: the functions with the most own
    time, and uptake's own functions by cumulative time (where a request's time goes)."""
    import pstats

    files = sorted(run.glob("profile-*.pstats"))
    if not files:
        print("profile: no worker wrote a profile")
        return
    st = pstats.Stats(str(files[0]))
    for f in files[1:]:
        st.add(str(f))
    rows = [(fn, cc, nc, tt, ct) for fn, (cc, nc, tt, ct, _) in st.stats.items()]
    wsgi = max((r[4] for r in rows if r[0][2] == "__call__" and "handlers/wsgi.py" in r[0][0]), default=0.0)

    def where(fn) -> str:
        path, line, name = fn
        for marker in ("/src/uptake/", "/site-packages/", f"/python{sys.version_info[0]}.{sys.version_info[1]}/"):
            if marker in path:
                path = path.split(marker, 1)[1]
                break
        return f"{path}:{line}({name})" if line else name

    print(f"\nprofile of the {len(files)} workers during the load (cProfile inflates times; "
          f"{wsgi:.1f} s inside the WSGI application in all)")
    print(f"  by own time, top {top}:")
    print(f"  {'own s':>8}{'cum s':>8}{'calls':>11}  function")
    for fn, _cc, nc, tt, ct in sorted(rows, key=lambda r: -r[3])[:top]:
        print(f"  {tt:8.2f}{ct:8.2f}{nc:>11,}  {where(fn)}")
    print(f"  uptake's functions by cumulative time, top {top}:")
    print(f"  {'cum s':>8}{'share':>7}{'calls':>9}  function")
    ours = [r for r in rows if "/src/uptake/" in r[0][0] or "/uptake/" in r[0][0] and "site-packages" not in r[0][0]]
    for fn, cc, _nc, _tt, ct in sorted(ours, key=lambda r: -r[4])[:top]:
        print(f"  {ct:8.2f}{ct / wsgi if wsgi else 0:7.0%}{cc:>9,}  {where(fn)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="national", choices=("tiny", "small", "national"))
    parser.add_argument("--months", type=int, default=12, help="months of prescribing (default 12)")
    parser.add_argument("--end", default="2022-09", help="last month, YYYY-MM (default 2022-09)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--home", help="an uptake home to use (its warehouse and publication are reused); "
                                       "default: one per scale/months/seed under --workdir")
    parser.add_argument("--workdir", default=DEFAULT_WORKDIR)
    parser.add_argument("--build", default="fast", choices=("fast", "demo"),
                        help="fast: prescribing as Parquet through Warehouse.load (default); demo: `uptake demo`")
    parser.add_argument("--boundaries", default=DEFAULT_BOUNDARIES if Path(DEFAULT_BOUNDARIES).exists() else None,
                        help="GeoJSON for the maps (default: the shared sub-ICB boundaries when present)")
    parser.add_argument("--rebuild", action="store_true",
                        help="build the warehouse again (replacing the one in --home, if given)")
    parser.add_argument("--republish", action="store_true", help="publish again")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread"))
    parser.add_argument("--threads", type=int, default=2, help="threads per gthread worker")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
    parser.add_argument("--wait", default="0.5,1.5",
                        help="seconds each user waits between requests, MIN,MAX (default 0.5,1.5); 0: none")
    parser.add_argument("--tas", type=int, default=6, help="TAs in the mix (default 6)")
    parser.add_argument("--cold-weight", type=int, default=2,
                        help="weight of org pages of practices outside the warmed set (default 2; 0: none)")
    parser.add_argument("--weight", action="append", default=[], metavar="GROUP=W",
                        help='change a group\'s weight, e.g. --weight "TA page, practice=0" (repeatable)')
    parser.add_argument("--keep-warehouse", action="store_true",
                        help="leave the warehouse in place during the load (default: moved aside)")
    parser.add_argument("--profile", action="store_true", help="cProfile every worker during the load")
    parser.add_argument("--quick", action="store_true", help="tiny scale, 3 months, 10 s of load")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "build":
        return child_build(args)
    if args.child == "mix":
        return child_mix(args)
    if args.quick:
        args.scale, args.months, args.duration = "tiny", 3, 10
    if args.wait.strip() in ("0", "0,0"):
        args.wait = "0"

    start, end = month_range(args.end, args.months)
    home = Path(args.home).expanduser().resolve() if args.home else \
        Path(args.workdir) / f"{args.scale}-{start}-{end}-seed{args.seed}"
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, {os.cpu_count()} CPUs, "
          f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2 ** 30:.0f} GiB")
    print(f"code: {code_version()}")
    timings = prepare_home(args, home)
    published = home / "published" / "scorecard.duckdb"
    meta = inspect_publication(published)
    print(f"publication {published}: {published.stat().st_size / 1e6:,.0f} MB, {meta['months']} months "
          f"({meta['first']} to {meta['last']}), {meta['ta_rows']:,} TA rows, {meta['orgs']:,} organisations")

    run = Path(tempfile.mkdtemp(prefix="portal-bench-", dir=args.workdir if Path(args.workdir).exists() else None))
    t = time.perf_counter()
    mix_file = run / "mix.json"
    run_timed([sys.executable, __file__, "--child", "mix", "--home", str(home), "--seed", str(args.seed),
               "--tas", str(args.tas), "--cold-weight", str(args.cold_weight), "--result", str(mix_file)], "mix",
              log=run / "mix.log")
    mix = json.loads(mix_file.read_text())
    for change in args.weight:
        name, _, w = change.rpartition("=")
        group = next((g for g in mix["groups"] + [mix["cold"]] if g["name"] == name.strip()), None)
        if group is None:
            raise SystemExit(f"--weight {change!r}: no group {name!r}; groups: "
                             + "; ".join(g["name"] for g in mix["groups"] + [mix["cold"]]))
        group["weight"] = int(w)
    mix["groups"] = [g for g in mix["groups"] if g["weight"] > 0]
    mix_file.write_text(json.dumps(mix, indent=1))
    urls = [u for g in mix["groups"] for u in g["urls"]]
    (run / "warm_urls.json").write_text(json.dumps(urls))
    print(f"mix ({time.perf_counter() - t:.1f} s, through the API): TAs {', '.join(mix['tas'])}; "
          f"{len(urls)} URLs; organisations in the publication: "
          + ", ".join(f"{v:,} {k}" for k, v in mix["counts"].items()))
    total_w = sum(g["weight"] for g in mix["groups"]) + (mix["cold"]["weight"] if mix["cold"]["pool"] else 0)
    for g in mix["groups"] + ([mix["cold"]] if mix["cold"]["weight"] and mix["cold"]["pool"] else []):
        example = g["urls"][0] if "urls" in g else f"/org/<any of {len(g['pool']):,} practices>/"
        print(f"  {g['weight'] / total_w:5.1%}  {g['name']:<32} {len(g.get('urls', g.get('pool', []))):>5} URLs, "
              f"e.g. {example}")

    warehouse, aside = home / "warehouse", home / ASIDE
    moved = False
    server = None
    locust_res: dict = {}
    try:
        if not args.keep_warehouse and warehouse.exists():
            warehouse.rename(aside)
            moved = True
            print(f"moved {warehouse} aside to {aside} for the run: the portal must not need it")
        port = free_port()
        t = time.perf_counter()
        server = start_server(args, home, run, port)
        pids = wait_warm(server, run, args.workers, port, timeout=1800)
        threads = f", {args.threads} threads each" if args.worker_class == "gthread" else ""
        print(f"gunicorn on 127.0.0.1:{port}: {args.workers} {args.worker_class} workers{threads} (pids "
              f"{', '.join(map(str, pids))}), started and warmed in {time.perf_counter() - t:.1f} s")
        print_warm(run, pids, mix)

        procs = [server.pid, *pids]
        cpu0 = {p: cpu_seconds(p) for p in procs}
        busy0 = machine_busy()
        watch = FileWatch(procs)
        watch.start()
        wait = "none" if args.wait == "0" else f"{args.wait.replace(',', '-')} s"
        print(f"\nlocust: {args.users} users (spawn rate {args.spawn_rate}/s), {args.duration} s, wait between "
              f"requests {wait}, FastHttpUser (load average {os.getloadavg()[0]:.2f})", flush=True)
        locust_res = run_locust(args, run, mix_file, port)
        watch.stop.set()
        watch.join()
        server_cpu = sum(cpu_seconds(p) - cpu0[p] for p in procs)
        locust_res["machine_busy"] = machine_busy() - busy0
        locust_res["load_after"] = os.getloadavg()[0]
        mem = {p: proc_status(p) for p in procs}
        files_ok = report_files(watch, home)
    finally:
        if server is not None:
            stop_server(server)
        if moved:
            aside.rename(warehouse)
            print(f"restored {warehouse}")

    report(args, run, mix, locust_res, server_cpu, mem, pids, server.pid, files_ok, moved, timings, watch.cpu)
    if args.profile:
        print_profile(run)
    print(f"\nrun files (locust CSV, access log, warm-up timings): {run}")


def code_version() -> str:
    """The commit the portal's code is at, and whether src/ has changes not committed."""
    try:
        root = HERE.parent
        head = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %s"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "src"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return f"{head[:100]}{' (src/ has uncommitted changes)' if dirty else ''}" if head else "not a git checkout"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def inspect_publication(path: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        months = json.loads(con.execute("SELECT value FROM meta WHERE key = 'months'").fetchone()[0])
        return {"months": len(months), "first": months[0], "last": months[-1],
                "ta_rows": con.execute("SELECT count(*) FROM ta_scorecard").fetchone()[0],
                "orgs": con.execute("SELECT count(*) FROM organisations").fetchone()[0]}
    finally:
        con.close()


def timeline(rows: list, portal_rows: list, cpu: list[tuple[float, float, float]], step: float = 10.0) -> None:
    """Per `step` s of the load: the portal's requests and p50/p95, and the CPU the server and
    everything else on the machine (locust included) used, in CPUs: on a shared machine a slow
    interval is often one where other work took the CPUs."""
    if not rows or len(cpu) < 2:
        return
    t0 = min(r[0] for r in rows)
    end = max(r[0] for r in rows)
    print(f"  {'seconds':<10}{'requests':>9}{'p50':>8}{'p95':>8}{'server CPUs':>13}{'other CPUs':>12}")
    k = 0
    while t0 + k * step <= end:
        a, b = t0 + k * step, t0 + (k + 1) * step
        t = [r[2] for r in portal_rows if a <= r[0] < b]
        inside = [c for c in cpu if a <= c[0] <= b]
        if len(inside) >= 2 and t:
            dt = inside[-1][0] - inside[0][0]
            busy = (inside[-1][1] - inside[0][1]) / dt
            server = (inside[-1][2] - inside[0][2]) / dt
            print(f"  {k * step:4.0f}-{(k + 1) * step:<5.0f}{len(t):>9,}{pct(t, 50):>8.0f}{pct(t, 95):>8.0f}"
                  f"{server:>13.2f}{max(busy - server, 0.0):>12.2f}")
        k += 1
    print("  (ms; CPUs: CPU-seconds a second, of the machine's {}; other: every other process, locust "
          "included)".format(os.cpu_count()))


def report(args, run: Path, mix: dict, locust_res: dict, server_cpu: float, mem: dict, pids: list[int],
           master: int, files_ok: bool, moved: bool, timings: dict, cpu_samples: list) -> None:
    stats = read_stats(run / "locust_stats.csv")
    rows = json.loads((run / "requests.json").read_text()) if (run / "requests.json").exists() else []
    # rows: start (s since epoch), name, response time (ms), bytes, status, exception
    portal = [r for r in rows if r[1] not in BASELINES]
    warm = [r for r in portal if r[1] != COLD]
    failures = [r for r in rows if r[5] or r[4] != 200]
    span = (max(r[0] + r[2] / 1000 for r in rows) - min(r[0] for r in rows)) if rows else float("nan")
    agg = stats.get("Aggregated", {})

    print(f"\n{'group':<32}{'requests':>9}{'fail':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'req/s':>8}{'kB':>7}")
    names = [g["name"] for g in mix["groups"]] + [COLD]
    for name in names:
        s = stats.get(name)
        if not s:
            continue
        print(f"{name:<32}{int(s['Request Count']):>9,}{int(s['Failure Count']):>6}{float(s['50%']):>8.0f}"
              f"{float(s['95%']):>8.0f}{float(s['99%']):>8.0f}{float(s['Max Response Time']):>8.0f}"
              f"{float(s['Requests/s']):>8.1f}{float(s['Average Content Size']) / 1024:>7.0f}")
    if agg:
        print(f"{'all (locust Aggregated)':<32}{int(agg['Request Count']):>9,}{int(agg['Failure Count']):>6}"
              f"{float(agg['50%']):>8.0f}{float(agg['95%']):>8.0f}{float(agg['99%']):>8.0f}"
              f"{float(agg['Max Response Time']):>8.0f}{float(agg['Requests/s']):>8.1f}")
    print("  milliseconds, locust's CSV (its percentiles are rounded to 2 significant figures above 100 ms)")

    def line(label: str, rs: list) -> tuple[float, float, float]:
        t = [r[2] for r in rs]
        p = (pct(t, 50), pct(t, 95), pct(t, 99))
        print(f"  {label:<46} {len(t):>7,} requests  p50 {p[0]:6.1f}  p95 {p[1]:6.1f}  p99 {p[2]:6.1f} ms")
        return p

    print(f"\nexact percentiles from every request's time (locust's request events), over {span:.1f} s:")
    p_warm = line("portal: pages, search and API (warm set)", warm)
    line("portal incl. uncached practice pages", portal)
    base = {name: [r[2] for r in rows if r[1] == name] for name in BASELINES}
    for name in base:
        line(name, [r for r in rows if r[1] == name])
    timeline(rows, portal_rows=warm, cpu=cpu_samples, step=max(2.0, round(args.duration / 6)))
    print(f"throughput: {len(rows) / span:.1f} requests/s in all, {len(portal) / span:.1f} of the portal's "
          f"(locust: {float(agg.get('Requests/s', 'nan')):.1f})")
    n_fail = len(failures)
    print(f"failures: {n_fail}" + (": " + "; ".join(sorted({f'{r[1]}: {r[4]} {r[5]}' for r in failures})[:8])
                                   if failures else ""))
    workers_hwm = [mem[p].get("VmHWM", 0.0) for p in pids]
    print(f"server memory: workers' peak RSS {', '.join(f'{m:,.0f}' for m in workers_hwm)} MB (sum "
          f"{sum(workers_hwm):,.0f} MB, master {mem[master].get('VmHWM', 0.0):,.0f} MB; proportional set size "
          f"now {sum(m.get('Pss', 0.0) for m in mem.values()):,.0f} MB in all)")
    other = locust_res.get("machine_busy", 0.0) - server_cpu - locust_res.get("cpu", 0.0)
    print(f"CPU: server {server_cpu:.1f} s ({server_cpu * 1000 / max(len(rows), 1):.1f} ms a request), locust "
          f"{locust_res.get('cpu', float('nan')):.1f} s, other processes on the machine {max(other, 0.0):.1f} s, of "
          f"{locust_res.get('wall', span) * os.cpu_count():.0f} CPU-s ({os.cpu_count()} CPUs x "
          f"{locust_res.get('wall', span):.0f} s); load average after {locust_res.get('load_after', 0.0):.2f}")
    base_median = statistics.median(base[BASELINES[0]]) if base[BASELINES[0]] else float("nan")
    print(f"\nbaseline, median GET /healthz under the same load: {base_median:.1f} ms")
    print(f"portal p95 / baseline median:  {p_warm[1] / base_median:6.1f}x   (p50 {p_warm[0] / base_median:.1f}x, "
          f"p99 {p_warm[2] / base_median:.1f}x)")
    print(f"raw prescribing: {'moved aside during the whole run, and ' if moved else ''}"
          f"{'no file under the warehouse held open by the server' if files_ok else 'FILES OF THE WAREHOUSE OPEN'}")
    ok = p_warm[1] < TARGET_P95_MS and n_fail == 0
    print(f"target: p95 < {TARGET_P95_MS:.0f} ms and no errors: p95 {p_warm[1]:.0f} ms, {n_fail} errors -> "
          f"{'PASS' if ok else 'FAIL'}")
    if timings:
        print("build: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))


if __name__ == "__main__":
    def _term(signum, frame):
        raise SystemExit(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, _term)
    main()
