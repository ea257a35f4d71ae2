#!/usr/bin/env python3
"""Compare two Autobahn client-test results case by case, or trim one to its grades.

    compare_autobahn_clients.py A B [--agent-a NAME] [--agent-b NAME] [--close-codes] [--common]
    compare_autobahn_clients.py --grades INDEX [--agent NAME] [-o OUT]

A and B are each a fuzzingserver report (its index.json, or the directory holding
it: agent -> case id -> behavior, behaviorClose, remoteCloseCode, duration, ...) or
a grades file as --grades writes it (case id -> behavior, behaviorClose,
remoteCloseCode; autobahn/clients/*.json). A report with several agents needs
--agent-a / --agent-b to say which.

The compare prints one line per case whose `behavior` or `behaviorClose` differs
(with --close-codes, whose remoteCloseCode differs too), and per case that only one
side has (with --common those are skipped: a subset run against a full reference),
then a last line 'compare: N cases, N differ'. Exit status: 0 if none
differ, 1 if some do, 2 if an input cannot be read.

--grades writes the trimmed grades of one agent (to OUT, or stdout): cases in the
suite's order (1.1.1, 1.1.2, ..., 13.7.18), one a line, no durations, timestamps
or report file names, so two runs with the same grades give the same file.
"""

import argparse
import json
import os
import sys

FIELDS = ("behavior", "behaviorClose", "remoteCloseCode")


def case_key(case_id):
    """1.1.10 after 1.1.9: the suite's own order."""
    return tuple(int(p) if p.isdigit() else p for p in case_id.split("."))


class InputError(Exception):
    pass


def load(path, agent=None):
    """The grades of one agent in PATH: {case id: {field: value}}."""
    if os.path.isdir(path):
        path = os.path.join(path, "index.json")
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise InputError("cannot read %s: %s" % (path, e))
    if not isinstance(data, dict) or not data:
        raise InputError("%s: no results in it" % path)
    first = next(iter(data.values()))
    if isinstance(first, dict) and "behavior" in first:
        # A grades file: case id -> grades already.
        if agent is not None:
            raise InputError("%s is a grades file (one agent): drop the agent option" % path)
        cases = data
    else:
        # A fuzzingserver index.json: agent -> case id -> results.
        if agent is None:
            if len(data) != 1:
                raise InputError("%s has the agents %s: say which with an agent option"
                                 % (path, ", ".join(sorted(data))))
            agent = next(iter(data))
        if agent not in data:
            raise InputError("%s has no agent %r (it has %s)" % (path, agent, ", ".join(sorted(data))))
        cases = data[agent]
    out = {}
    for case_id, res in cases.items():
        if not isinstance(res, dict) or "behavior" not in res or "behaviorClose" not in res:
            raise InputError("%s: case %s has no behavior/behaviorClose" % (path, case_id))
        out[case_id] = {k: res.get(k) for k in FIELDS}
    return out


def grades(args):
    g = load(args.grades, args.agent)
    # One case a line: a changed grade is a one-line diff.
    lines = ["  %s: %s" % (json.dumps(k), json.dumps(g[k])) for k in sorted(g, key=case_key)]
    text = "{\n" + ",\n".join(lines) + "\n}\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def fmt(res):
    s = "%s / %s" % (res["behavior"], res["behaviorClose"])
    if res.get("remoteCloseCode") is not None:
        s += " (close %s)" % res["remoteCloseCode"]
    return s


def compare(args):
    a = load(args.a, args.agent_a)
    b = load(args.b, args.agent_b)
    fields = FIELDS if args.close_codes else FIELDS[:2]
    differ = 0
    cases = set(a) & set(b) if args.common else set(a) | set(b)
    all_cases = sorted(cases, key=case_key)
    for case_id in all_cases:
        ra, rb = a.get(case_id), b.get(case_id)
        if ra is None or rb is None:
            differ += 1
            side, res = ("B", rb) if ra is None else ("A", ra)
            print("%-8s only in %s: %s" % (case_id, side, fmt(res)))
            continue
        changed = [f for f in fields if ra[f] != rb[f]]
        if changed:
            differ += 1
            print("%-8s %s  ->  %s  [%s]" % (case_id, fmt(ra), fmt(rb), ", ".join(changed)))
    print("compare: %d cases, %d differ" % (len(all_cases), differ))
    return 1 if differ else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", nargs="?", help="index.json, its directory, or a grades file")
    ap.add_argument("b", nargs="?", help="the same, to compare with A")
    ap.add_argument("--agent-a", help="A's agent, when its report has several")
    ap.add_argument("--agent-b", help="B's agent, when its report has several")
    ap.add_argument("--close-codes", action="store_true", help="compare remoteCloseCode too")
    ap.add_argument("--common", action="store_true", help="only the cases both sides have")
    ap.add_argument("--grades", metavar="INDEX", help="write the trimmed grades of one agent")
    ap.add_argument("--agent", help="with --grades: the agent, when the report has several")
    ap.add_argument("-o", "--output", help="with --grades: the file to write (default stdout)")
    args = ap.parse_args()
    try:
        if args.grades:
            if args.a or args.b:
                ap.error("--grades takes no A B")
            return grades(args)
        if not (args.a and args.b):
            ap.error("wants A and B (or --grades INDEX)")
        return compare(args)
    except InputError as e:
        print("compare_autobahn_clients: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
