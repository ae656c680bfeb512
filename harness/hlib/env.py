# pylint: disable=except-pass
"""Odoo location, databases, servers and the in-Odoo helper process."""
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.dirname(HERE)
REPO = os.path.dirname(HARNESS)
ADDON = "pos_longpolling"
SOURCE_TEMPLATE = os.environ.get("LP_SOURCE_TEMPLATE", "tmpl_pos")
# databases of a run: LP_DB_PREFIX + "tmpl_..." / "run_..." (shared servers)
DB_PREFIX = os.environ.get("LP_DB_PREFIX", "lp_harness_")
TEMPLATE_PREFIX = DB_PREFIX + "tmpl_"


class HarnessError(Exception):
    pass


def log(msg):
    sys.stderr.write(time.strftime("%H:%M:%S ") + msg + "\n")
    sys.stderr.flush()


def find_odoo():
    odoo_bin = os.environ.get("ODOO_BIN")
    if not odoo_bin:
        raise HarnessError(
            "ODOO_BIN is not set: point it at Odoo 15.0's odoo-bin "
            "(and ODOO_PYTHON at the interpreter that runs it); see harness/README.rst"
        )
    odoo_bin = os.path.abspath(odoo_bin)
    if not os.path.isfile(odoo_bin):
        raise HarnessError("ODOO_BIN=%s: no such file" % odoo_bin)
    py = os.environ.get("ODOO_PYTHON") or sys.executable
    try:
        ver = subprocess.run(
            [
                py,
                "-c",
                "import sys; sys.path.insert(0, %r); import odoo.release as r; print(r.version)"
                % os.path.dirname(odoo_bin),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except OSError as e:
        raise HarnessError("ODOO_PYTHON=%s cannot run: %s" % (py, e))
    if ver.returncode != 0:
        raise HarnessError(
            "ODOO_PYTHON=%s cannot import odoo from %s:\n%s"
            % (py, odoo_bin, ver.stderr[-2000:])
        )
    version = ver.stdout.strip()
    if not version.startswith("15."):
        raise HarnessError(
            "Odoo at %s is %s, the harness needs 15.0" % (odoo_bin, version)
        )
    return odoo_bin, py, version


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def psql(sql, db="postgres"):
    r = subprocess.run(
        ["psql", "-X", "-q", "-t", "-A", "-d", db, "-c", sql],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if r.returncode != 0:
        raise HarnessError("psql %r: %s" % (sql, r.stderr.strip()))
    return r.stdout.strip()


def db_exists(name):
    return psql("SELECT 1 FROM pg_database WHERE datname = '%s'" % name) == "1"


def git_describe():
    """`git describe --always --dirty` of the repository (read only)."""
    try:
        r = subprocess.run(
            ["git", "-C", REPO, "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def addon_hash():
    """Hash of what the addon's install writes in the database."""
    h = hashlib.sha1()
    for root, dirs, files in os.walk(REPO):
        rel = os.path.relpath(root, REPO)
        top = rel.split(os.sep)[0]
        if (
            top in (".git", "harness", "tests", "static", ".ci", "tools")
            or "__pycache__" in rel
        ):
            dirs[:] = []
            continue
        dirs.sort()
        for f in sorted(files):
            if f.endswith((".py", ".xml", ".csv")):
                p = os.path.join(root, f)
                h.update(os.path.relpath(p, REPO).encode())
                with open(p, "rb") as fh:
                    h.update(fh.read())
    return h.hexdigest()[:10]


class Child:
    """A helper process of the harness (floor server, nginx), ready once
    `health_url` answers."""

    def __init__(self, cmd, logpath, health_url, what, timeout=60):
        self.logf = open(logpath, "a")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(health_url, timeout=5):
                    return
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    self.close()
                    raise RuntimeError("%s did not start, log %s" % (what, logpath))
                time.sleep(0.2)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.logf.close()


class Workdir:
    """Temp dir: addons dir with the symlink, data dir, config files, logs."""

    def __init__(self, odoo_bin, python):
        self.odoo_bin, self.python = odoo_bin, python
        self.odoo_root = os.path.dirname(odoo_bin)
        self.path = tempfile.mkdtemp(prefix="lp_harness_")
        self.addons = os.path.join(self.path, "addons")
        os.makedirs(self.addons)
        os.symlink(REPO, os.path.join(self.addons, ADDON))
        self.data_dir = os.path.join(self.path, "data")
        os.makedirs(self.data_dir)
        odoo_addons = os.path.join(self.odoo_root, "addons")
        paths = [self.addons]
        if os.path.isdir(odoo_addons):
            paths.append(odoo_addons)
        base_addons = os.path.join(self.odoo_root, "odoo", "addons")
        if os.path.isdir(base_addons):
            paths.append(base_addons)
        self.addons_path = ",".join(paths)

    def conf(self, name, db, **opts):
        path = os.path.join(self.path, name + ".conf")
        values = {
            "addons_path": self.addons_path,
            "data_dir": self.data_dir,
            "admin_passwd": "harness-admin",
            "db_name": db,
            "dbfilter": "^%s$" % db,
            "list_db": "False",
            "max_cron_threads": "0",
            "http_interface": "127.0.0.1",
            "log_level": "info",
            "logfile": "",
            "without_demo": "False",
        }
        for key in ("db_host", "db_port", "db_user", "db_password"):
            env = os.environ.get("LP_" + key.upper())
            if env:
                values[key] = env
        values.update({k: str(v) for k, v in opts.items()})
        with open(path, "w") as f:
            f.write("[options]\n")
            for k, v in values.items():
                f.write("%s = %s\n" % (k, v))
        return path

    def run_odoo(self, db, args, timeout, logname):
        conf = self.conf("oneshot", db)
        logpath = os.path.join(self.path, logname)
        with open(logpath, "w") as lf:
            r = subprocess.run(
                [self.python, self.odoo_bin, "-c", conf, "-d", db] + args,
                stdout=lf,
                stderr=subprocess.STDOUT,
                timeout=timeout,
            )
        if r.returncode != 0:
            raise HarnessError(
                "odoo %s failed (rc %s), log %s:\n%s"
                % (" ".join(args), r.returncode, logpath, open(logpath).read()[-3000:])
            )
        return logpath

    def run_side(self, db, command, args=None, timeout=1800):
        conf = self.conf("side", db)
        r = subprocess.run(
            [
                self.python,
                os.path.join(HERE, "odoo_side.py"),
                self.odoo_root,
                conf,
                db,
                command,
                json.dumps(args or {}),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if r.returncode != 0:
            raise HarnessError("odoo_side %s failed:\n%s" % (command, r.stderr[-3000:]))
        return json.loads(r.stdout.strip().splitlines()[-1])


def ensure_template(wd, n_pos):
    """Template = source template + pos_longpolling + n_pos bench configs with open sessions."""
    if not db_exists(SOURCE_TEMPLATE):
        raise HarnessError(
            "source template database %r missing (point_of_sale + demo data); "
            "set LP_SOURCE_TEMPLATE" % SOURCE_TEMPLATE
        )
    name = "%s%s_%d" % (TEMPLATE_PREFIX, addon_hash(), n_pos)
    if db_exists(name):
        return name
    forced = os.environ.get("LP_TEMPLATE")
    if forced:
        if not db_exists(forced):
            raise HarnessError("LP_TEMPLATE %r: no such database" % forced)
        log("template %s (LP_TEMPLATE, not rebuilt for this addon version)" % forced)
        return forced
    # other addon versions' templates may serve runs of other checkouts on
    # the same server: dropped only when asked (LP_DROP_STALE_TEMPLATES=1)
    current = "%s%s_" % (TEMPLATE_PREFIX, addon_hash())
    for old in psql(
        "SELECT datname FROM pg_database WHERE datname LIKE '%s%%'" % TEMPLATE_PREFIX
    ).split():
        if old.startswith(current) or old.endswith("_building"):
            continue
        if os.environ.get("LP_DROP_STALE_TEMPLATES") != "1":
            log("template %s of another addon version kept" % old)
            continue
        log("dropping stale template %s" % old)
        subprocess.run(["dropdb", "--if-exists", old], check=False)
    tmp = name + "_building"
    subprocess.run(["dropdb", "--if-exists", tmp], check=False)
    subprocess.run(["createdb", "-T", SOURCE_TEMPLATE, tmp], check=True)
    t0 = time.time()
    log("building template %s: installing %s" % (name, ADDON))
    wd.run_odoo(
        tmp,
        ["-i", ADDON, "--stop-after-init", "--no-http"],
        1800,
        "template_install.log",
    )
    wd.run_side(tmp, "prepare")
    log("template: creating %d POS configs with open sessions" % n_pos)
    res = wd.run_side(tmp, "populate", {"count": n_pos})
    log("template built in %.0f s (%s)" % (time.time() - t0, res))
    psql('ALTER DATABASE "%s" RENAME TO "%s"' % (tmp, name))
    return name


def fresh_db(template, tag):
    name = "%srun_%s_%d" % (DB_PREFIX, tag, os.getpid())
    subprocess.run(["dropdb", "--if-exists", name], check=False)
    subprocess.run(["createdb", "-T", template, name], check=True)
    return name


def drop_db(name):
    subprocess.run(
        ["dropdb", "--if-exists", "--force", name], check=False, capture_output=True
    )


class Server:
    """An Odoo server on db, threaded (workers=0) or prefork (workers>=1)."""

    def __init__(self, wd, db, workers, tag, extra=None, env=None):
        self.wd, self.db, self.workers, self.tag = wd, db, workers, tag
        self.http_port = free_port()
        self.lp_port = free_port() if workers else self.http_port
        self.extra = extra or {}
        self.env = env
        self.logpath = os.path.join(wd.path, "odoo_%s.log" % tag)
        self.proc = None
        self.log_offset = 0

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.http_port

    @property
    def poll_url(self):
        return "http://127.0.0.1:%d" % self.lp_port

    def start(self, timeout=180, wait=True):
        opts = dict(
            http_port=self.http_port,
            longpolling_port=self.lp_port if self.workers else free_port(),
            workers=self.workers,
        )
        opts.update(self.extra)
        conf = self.wd.conf("server_" + self.tag, self.db, **opts)
        env = dict(os.environ)
        env.update(self.env or {})
        self.logf = open(self.logpath, "a")
        self.proc = subprocess.Popen(
            [self.wd.python, self.wd.odoo_bin, "-c", conf, "-d", self.db],
            stdout=self.logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=180):
        deadline = time.time() + timeout
        urls = [self.url + "/web/login"]
        if self.workers:
            urls.append(self.poll_url + "/longpolling/health")
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(
                    "odoo exited rc=%s, log %s:\n%s"
                    % (self.proc.returncode, self.logpath, self.log_tail())
                )
            try:
                for u in urls:
                    with urllib.request.urlopen(u, timeout=30) as r:
                        r.read()
                return
            except Exception:  # noqa: BLE001
                time.sleep(0.5)
        raise HarnessError("odoo not ready after %ds; log %s" % (timeout, self.logpath))

    def log_tail(self, n=3000):
        try:
            with open(self.logpath) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def pids(self):
        import psutil

        if not self.proc or self.proc.poll() is not None:
            return []
        try:
            p = psutil.Process(self.proc.pid)
            return [p] + p.children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def rss(self):
        """{pid: rss bytes} of the server's processes."""
        out = {}
        for p in self.pids():
            try:
                out[p.pid] = p.memory_info().rss
            except Exception:  # noqa: BLE001
                pass
        return out

    def gevent_pid(self):
        for p in self.pids():
            try:
                if "gevent" in p.cmdline():
                    return p.pid
            except Exception:  # noqa: BLE001
                pass
        return None

    def signal_all(self, sig):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
            except ProcessLookupError:
                pass
        if self.proc:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # leftovers in the group
            except (ProcessLookupError, PermissionError):
                pass

    def tracebacks(self, needle=ADDON, since=0):
        """Traceback blocks in the log (from offset `since`) with a frame in
        the addon (a `File` line under the addon) or `needle` in the
        exception line. Interleaved log lines (other threads, gevent) end a
        block without being part of it."""
        import re

        try:
            with open(self.logpath, errors="replace") as f:
                f.seek(since)
                text = f.read()
        except OSError:
            return []
        stamp = re.compile(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")
        blocks, cur = [], None
        for line in text.splitlines():
            if line.startswith("Traceback (most recent call last)"):
                if cur:
                    blocks.append(cur)
                cur = [line]
            elif cur is not None:
                if stamp.match(line):
                    blocks.append(cur)
                    cur = None
                elif line.startswith((" ", "\t")) or not line.strip():
                    cur.append(line)
                else:
                    cur.append(line)  # the exception line (or a chained-exception note)
                    if not line.startswith(("During handling", "The above exception")):
                        blocks.append(cur)
                        cur = None
        if cur:
            blocks.append(cur)
        if not needle:
            return ["\n".join(b) for b in blocks]
        repo = os.path.realpath(REPO) + os.sep
        out = []
        for b in blocks:
            frames = [l for l in b if l.lstrip().startswith("File ")]
            in_addon = any(("/%s/" % ADDON) in l or repo in l for l in frames)
            exc = [
                l for l in b if not l.startswith((" ", "\t", "Traceback")) and l.strip()
            ]
            if in_addon or any(needle in l for l in exc):
                out.append("\n".join(b))
        return out

    def log_size(self):
        try:
            return os.path.getsize(self.logpath)
        except OSError:
            return 0


class Side:
    """Long-running helper process inside Odoo (sends, counts, db edits)."""

    def __init__(self, wd, db):
        conf = wd.conf("daemon", db)
        self.proc = subprocess.Popen(
            [
                wd.python,
                os.path.join(HERE, "odoo_side.py"),
                wd.odoo_root,
                conf,
                db,
                "daemon",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(os.path.join(wd.path, "side.log"), "a"),
            text=True,
            bufsize=1,
        )
        self.lock = threading.Lock()
        first = self._readline(300)
        if not first.get("ready"):
            raise HarnessError("side process did not start: %s" % first)

    def _readline(self, timeout):
        result = {}

        def rd():
            result["line"] = self.proc.stdout.readline()

        t = threading.Thread(target=rd, daemon=True)
        t.start()
        t.join(timeout)
        if "line" not in result:
            raise HarnessError("side process: no answer in %ss" % timeout)
        if not result["line"]:
            raise HarnessError("side process died")
        return json.loads(result["line"])

    def call(self, cmd, timeout=900, **args):
        with self.lock:
            self.proc.stdin.write(json.dumps({"cmd": cmd, "args": args}) + "\n")
            self.proc.stdin.flush()
            res = self._readline(timeout)
        if not res.get("ok"):
            raise HarnessError(
                "side %s: %s\n%s" % (cmd, res.get("error"), res.get("tb", "")[-2000:])
            )
        return res["res"]

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(10)
        except Exception:  # noqa: BLE001
            self.proc.kill()
