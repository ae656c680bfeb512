#!/usr/bin/env python3
"""Checks the translations of pos_longpolling (i18n/), with no dependency.

* i18n/pos_longpolling.pot and every i18n/*.po parse as gettext PO files;
* every .po translates every message of the .pot: an entry with the same
  msgid (and msgctxt), a non-empty msgstr (every form for plurals), not fuzzy;
* python-format messages keep the placeholders of the msgid, in order.

Entries of a .po that the .pot no longer has are only reported. Prints one
line per file; exits 1 if anything is wrong.

    python3 tools/check_i18n.py [I18N_DIR]
"""
# pylint: disable=print-used
import ast
import os
import re
import sys

PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]"
)


class PoError(Exception):
    pass


KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*)$")


class PoParser:
    """Entries of a PO file: dicts with msgctxt, msgid, msgid_plural,
    msgstr (a list of forms), flags and line. Raises PoError on bad syntax."""

    def __init__(self, path):
        self.path = path
        self.entries = []
        self.entry = None
        self.key = None

    def parse(self):
        with open(self.path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#~"):
                continue  # blank line, obsolete entry
            if line.startswith("#"):
                self.comment(line, number)
            elif KEYWORD.match(line):
                self.keyword(KEYWORD.match(line).groups(), number)
            elif line.startswith('"'):
                self.continuation(line, number)
            else:
                self.fail(number, "cannot parse %r" % raw)
        self.finish()
        for entry in self.entries:
            if not entry["msgstr"]:
                self.fail(entry["line"], "entry without msgstr")
        return self.entries

    def fail(self, number, message):
        raise PoError("%s:%d: %s" % (self.path, number, message))

    def start(self, number):
        if self.entry is None:
            self.entry = {"flags": set(), "line": number, "msgstr": []}

    def finish(self):
        if self.entry is not None and "msgid" in self.entry:
            self.entries.append(self.entry)
        elif self.entry is not None and "msgctxt" in self.entry:
            self.fail(self.entry["line"], "entry without msgid")
        self.entry = None

    def comment(self, line, number):
        if self.entry is not None and "msgid" in self.entry:
            self.finish()
        self.start(number)
        self.key = "comment"
        if line.startswith("#,"):
            self.entry["flags"].update(f.strip() for f in line[2:].split(","))

    def keyword(self, groups, number):
        keyword, index, rest = groups
        if keyword in ("msgctxt", "msgid") and self.entry and "msgid" in self.entry:
            self.finish()
        self.start(number)
        value = self.string(rest, number)
        if keyword.startswith("msgstr"):
            position = int(index) if index is not None else 0
            if "msgid" not in self.entry:
                self.fail(number, "msgstr before msgid")
            if position != len(self.entry["msgstr"]):
                self.fail(number, "msgstr[%d] out of order" % position)
            self.entry["msgstr"].append(value)
            self.key = position
        else:
            if keyword in self.entry:
                self.fail(number, "%s twice in one entry" % keyword)
            self.entry[keyword] = value
            self.key = keyword

    def continuation(self, line, number):
        if self.entry is None or self.key in (None, "comment"):
            self.fail(number, "string outside an entry")
        value = self.string(line, number)
        if isinstance(self.key, int):
            self.entry["msgstr"][self.key] += value
        else:
            self.entry[self.key] += value

    def string(self, text, number):
        return _string(text, self.path, number)


def parse_po(path):
    return PoParser(path).parse()


def _string(text, path, number):
    text = text.strip()
    if len(text) < 2 or not (text.startswith('"') and text.endswith('"')):
        raise PoError("%s:%d: not a quoted string: %s" % (path, number, text))
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        raise PoError("%s:%d: bad string: %s" % (path, number, text)) from None
    if not isinstance(value, str):
        raise PoError("%s:%d: bad string: %s" % (path, number, text))
    return value


def placeholders(text):
    return [p for p in PLACEHOLDER.findall(text) if p != "%%"]


def check_po(path, wanted):
    """Problems of one .po file against the .pot's messages, and how many of
    its messages the .pot no longer has."""
    entries = parse_po(path)
    problems = []
    if not [e for e in entries if not e["msgid"]]:
        problems.append("no header entry")
    found = {}
    for entry in entries:
        ident = (entry.get("msgctxt"), entry["msgid"])
        if entry["msgid"] and ident in found:
            problems.append(
                "line %d: msgid %r twice" % (entry["line"], entry["msgid"][:60])
            )
        found[ident] = entry
    for ident, source in wanted.items():
        problems += check_entry(found.get(ident), source)
    stale = [i for i in found if i[1] and i not in wanted]
    return problems, len(stale)


def check_entry(entry, source):
    label = "%r" % (source["msgid"][:60],)
    if entry is None:
        return ["missing: %s" % label]
    if not all(form.strip() for form in entry["msgstr"]):
        return ["line %d: empty msgstr for %s" % (entry["line"], label)]
    if "fuzzy" in entry["flags"]:
        return ["line %d: fuzzy translation of %s" % (entry["line"], label)]
    problems = []
    if "python-format" in source["flags"] | entry["flags"]:
        expected = placeholders(source["msgid"])
        for form in entry["msgstr"]:
            if placeholders(form) != expected:
                problems.append(
                    "line %d: placeholders %s in the translation of %s, not %s"
                    % (entry["line"], placeholders(form), label, expected)
                )
    return problems


def main(i18n_dir):
    pot_path = os.path.join(i18n_dir, "pos_longpolling.pot")
    try:
        template = parse_po(pot_path)
    except (OSError, PoError) as error:
        print("FAILED: %s" % error)
        return 1
    wanted = {(e.get("msgctxt"), e["msgid"]): e for e in template if e["msgid"]}
    print("ok: %s (%d messages)" % (os.path.relpath(pot_path), len(wanted)))
    po_files = sorted(f for f in os.listdir(i18n_dir) if f.endswith(".po"))
    if not po_files:
        print("FAILED: no .po file in %s" % i18n_dir)
        return 1
    errors = 0
    for name in po_files:
        path = os.path.relpath(os.path.join(i18n_dir, name))
        try:
            problems, stale = check_po(path, wanted)
        except PoError as error:
            problems, stale = [str(error)], 0
        if problems:
            errors += 1
            print("FAILED: %s" % path)
            for problem in problems:
                print("    %s: %s" % (path, problem))
        else:
            more = ", %d not in the .pot any more" % stale if stale else ""
            print(
                "ok: %s (%d/%d translated%s)" % (path, len(wanted), len(wanted), more)
            )
    return 1 if errors else 0


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    sys.exit(
        main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "i18n"))
    )
