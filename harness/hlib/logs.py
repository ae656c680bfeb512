"""Odoo logs for the results: tracebacks without machine paths, log summaries."""
import os

from . import env as henv


def short_paths(text):
    """A traceback without machine paths: each file from its package on
    (site-packages, the addon, Odoo's addons, Odoo)."""
    import re

    def cut(m):
        path = m.group(1)
        for mark, keep in (
            ("/site-packages/", ""),
            ("/%s/" % henv.ADDON, henv.ADDON + "/"),
            (os.path.realpath(henv.REPO) + "/", henv.ADDON + "/"),
            ("/odoo/addons/", "odoo/addons/"),
            ("/addons/", "addons/"),
            ("/odoo/", "odoo/"),
            ("/lib/python", "python"),
        ):
            if mark in path:
                return 'File "%s%s"' % (keep, path.rsplit(mark, 1)[1])
        return 'File "%s"' % os.path.basename(path)

    return re.sub(r'File "([^"]+)"', cut, text)


def save_tracebacks(ctx, tag, tbs, limit=5):
    """The first `limit` tracebacks, whole (paths shortened), for the
    results: the evidence behind a failed traceback check."""
    path = os.path.join(ctx.results, "tracebacks_%s.txt" % tag)
    if not tbs:
        if os.path.exists(path):
            os.remove(path)
        return
    with open(path, "w") as f:
        f.write(
            "# %d traceback(s) with a frame in %s; the first %d\n\n"
            % (len(tbs), henv.ADDON, min(limit, len(tbs)))
        )
        for tb in tbs[:limit]:
            f.write(short_paths(tb) + "\n\n")


def tb_digest(tb):
    """The frames of the addon and the exception lines of a traceback."""
    lines = tb.splitlines()
    keep = [
        henv.ADDON + "/" + ln.split("/%s/" % henv.ADDON, 1)[1].strip()
        for ln in lines
        if ("/%s/" % henv.ADDON) in ln
    ]
    keep += [
        l.strip()
        for l in lines
        if l.strip() and not l.startswith((" ", "\t", "Traceback"))
    ]
    return " | ".join(keep)[:700]


def summarize_log(logpath, out):
    """ERROR/WARNING/CRITICAL lines of an Odoo log by message, with counts and
    the last line of the first traceback after each: evidence that survives
    the temp dir. Messages about missing filestore files (the harness's data
    dir has none of the template's) are left out."""
    import collections
    import re

    counts, first_tb = collections.Counter(), {}
    pending = None
    with open(logpath, errors="replace") as f:
        for line in f:
            m = re.match(
                r"\S+ \S+ \d+ (ERROR|WARNING|CRITICAL) (\S+) (\S+): (.*)", line
            )
            g = re.search(r"\} failed with (\w+)", line)
            if g:
                counts["gevent: request failed with %s" % g.group(1)] += 1
                continue
            if m:
                msg = re.sub(r"\d+", "N", m.group(4))[:160]
                key = "%s %s: %s" % (m.group(1), m.group(3), msg)
                if "_read_file" in key or "filestore" in key:
                    pending = None
                    continue
                counts[key] += 1
                pending = key if key not in first_tb else None
            elif (
                pending
                and line.strip()
                and not line.startswith((" ", "Traceback", "\t"))
            ):
                if (
                    re.match(r"^[\w.]+(Error|Exception|Full|Denied)\b", line.strip())
                    or ": " in line
                ):
                    first_tb[pending] = line.strip()[:200]
                    pending = None
    with open(out, "w") as f:
        f.write(
            "# %s\n# count  level logger: message  [exception of the first occurrence]\n"
            % os.path.basename(logpath)
        )
        for key, n in counts.most_common(30):
            f.write(
                "%6d  %s%s\n"
                % (n, key, ("  [%s]" % first_tb[key]) if key in first_tb else "")
            )
