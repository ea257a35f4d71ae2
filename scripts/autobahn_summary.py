#!/usr/bin/env python3
"""Summarise an Autobahn fuzzingclient run and compare it with the baseline.

Reads the reports' index.json (written by `wstest -m fuzzingclient`), prints
grade counts and a per-group table, writes a markdown table, and compares every
case that ran with autobahn/expected-results.json.

Grading policy (strict): a case passes only if its behavior is OK or
INFORMATIONAL and its behaviorClose is OK or INFORMATIONAL. The gate has two
parts, both needed: every case that ran passes (unless it is on the explicit
--allow-failing list), and the run matches the baseline (same grades; a full
run has exactly the baseline's cases).

Exit status: 0 if the gate passes, 1 if it fails (or --write-expected refuses
a run with failing cases), 2 if the reports are missing or unreadable.

  autobahn_summary.py                        # summary + gate
  autobahn_summary.py --cases '6.*,7.1.1'    # compare only cases of a subset
  autobahn_summary.py --allow-failing '12.*,13.*'
      # e.g. a server run with --no-deflate: these cases may get any failing
      # grade (they must still run); a passing grade is still compared
  autobahn_summary.py --write-expected       # take this run as the baseline
  autobahn_summary.py --via ws://127.0.0.1:8080/
      # the run went through a proxy (run-autobahn.sh --url): same comparison,
      # each differing case explained from its report, verdict line
      # 'autobahn via URL: ...; N differ from wsecho's baseline'
"""

import argparse
import json
import os
import re
import sys
from collections import Counter, defaultdict

PASSING = ("OK", "INFORMATIONAL")
# Order of grade columns in tables; any other grade seen is appended.
GRADE_ORDER = [
    "OK",
    "INFORMATIONAL",
    "NON-STRICT",
    "UNIMPLEMENTED",
    "WRONG CODE",
    "UNCLEAN",
    "FAILED BY CLIENT",
    "FAILED",
]
# Autobahn's case categories (autobahntestsuite/case/__init__.py).
GROUP_NAMES = {
    "1": "Framing",
    "2": "Pings/Pongs",
    "3": "Reserved Bits",
    "4": "Opcodes",
    "5": "Fragmentation",
    "6": "UTF-8 Handling",
    "7": "Close Handling",
    "9": "Limits/Performance",
    "10": "Misc",
    "12": "WebSocket Compression (different payloads)",
    "13": "WebSocket Compression (different parameters)",
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def case_key(case_id):
    """'12.1.10' -> (12, 1, 10), for numeric sorting."""
    return tuple(int(x) for x in case_id.split("."))


def group_of(case_id):
    return case_id.split(".", 1)[0]


def matcher(patterns):
    """A predicate for comma-separated case patterns, with wstest's semantics:
    a pattern with '*' is a regex prefix match ('.' literal, '*' = '.*'),
    any other pattern must equal the case id."""
    pats = [p.strip() for p in patterns.split(",") if p.strip()]
    regexes = []
    exact = set()
    for p in pats:
        if "*" in p:
            regexes.append(re.compile(re.escape(p).replace(r"\*", ".*")))
        else:
            exact.add(p)
    return lambda cid: cid in exact or any(r.match(cid) for r in regexes)


def grade_list(counter):
    known = [g for g in GRADE_ORDER if counter.get(g)]
    extra = sorted(g for g in counter if g not in GRADE_ORDER and counter[g])
    return known + extra


def fmt_counts(counter):
    return ", ".join(f"{g} {counter[g]}" for g in grade_list(counter)) or "none"


def condense(ids, all_ids):
    """Shorten a list of case ids: more than 6 ids that are every case of their
    group that ran become 'G.* (count)'."""
    by_group = defaultdict(list)
    for cid in ids:
        by_group[group_of(cid)].append(cid)
    run_per_group = Counter(group_of(c) for c in all_ids)
    out = []
    for g in sorted(by_group, key=int):
        if len(by_group[g]) == run_per_group[g] and len(by_group[g]) > 6:
            out.append(f"{g}.* ({len(by_group[g])})")
        else:
            out.extend(sorted(by_group[g], key=case_key))
    return ", ".join(out)


def load_run(index_path, agent):
    """Return {case id: {"behavior", "behaviorClose"}} for the agent.
    Raises OSError or ValueError (bad JSON, or not wstest's layout): the caller
    exits 2 for either, never 1, so a broken report is not taken for a verdict."""
    with open(index_path, encoding="utf-8") as f:
        index = json.load(f)
    if not isinstance(index, dict) or agent not in index:
        agents = ", ".join(sorted(index)) if isinstance(index, dict) else ""
        raise ValueError(f"agent {agent!r} not in it (agents: {agents or 'none'}); "
                         "did the server accept connections?")
    try:
        return {
            cid: {"behavior": r["behavior"], "behaviorClose": r["behaviorClose"]}
            for cid, r in index[agent].items()
        }
    except (AttributeError, KeyError, TypeError) as e:
        raise ValueError(f"not wstest's index layout ({e!r})") from e


def is_passing(r):
    return r["behavior"] in PASSING and r["behaviorClose"] in PASSING


def per_group_table(run):
    """Rows of (group, name, total, Counter of behavior, close-not-passing)."""
    groups = defaultdict(list)
    for cid, r in run.items():
        groups[group_of(cid)].append(r)
    rows = []
    for g in sorted(groups, key=int):
        rs = groups[g]
        beh = Counter(r["behavior"] for r in rs)
        bad_close = sum(1 for r in rs if r["behaviorClose"] not in PASSING)
        rows.append((g, GROUP_NAMES.get(g, ""), len(rs), beh, bad_close))
    return rows


def print_summary(run):
    ids = sorted(run, key=case_key)
    beh = Counter(r["behavior"] for r in run.values())
    close = Counter(r["behaviorClose"] for r in run.values())
    print(f"behavior:      {fmt_counts(beh)}")
    print(f"behaviorClose: {fmt_counts(close)}")
    print()

    rows = per_group_table(run)
    cols = grade_list(beh)
    head = ["group", "cases"] + cols + ["close not passing"]
    table = [head]
    for g, _name, n, c, bad in rows:
        table.append([g, str(n)] + [str(c.get(x, 0)) for x in cols] + [str(bad)])
    table.append(["all", str(len(run))] + [str(beh.get(x, 0)) for x in cols]
                 + [str(sum(r[4] for r in rows))])
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        print("  ".join(cell.rjust(w) if j else cell.ljust(w)
                        for j, (cell, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()

    passing = [c for c in ids if is_passing(run[c])]
    failing = [c for c in ids if not is_passing(run[c])]
    print(f"strict grading: {len(passing)} passing, {len(failing)} not passing "
          "(passing = behavior and behaviorClose both OK or INFORMATIONAL)")
    combos = defaultdict(list)
    for c in failing:
        combos[(run[c]["behavior"], run[c]["behaviorClose"])].append(c)
    for (b, bc), cs in sorted(combos.items()):
        print(f"  not passing: behavior {b} / behaviorClose {bc}: {condense(cs, ids)}")
    print()


def write_markdown(run, path, verdict):
    beh = Counter(r["behavior"] for r in run.values())
    cols = grade_list(beh)
    rows = per_group_table(run)
    n_pass = sum(1 for r in run.values() if is_passing(r))
    lines = [
        "| group | cases | " + " | ".join(cols) + " | close not passing |",
        "|---|---:|" + "---:|" * len(cols) + "---:|",
    ]
    for g, name, n, c, bad in rows:
        label = f"{g} {name}".strip()
        lines.append(f"| {label} | {n} | " + " | ".join(str(c.get(x, 0)) for x in cols)
                     + f" | {bad} |")
    lines.append(f"| **all** | **{len(run)}** | "
                 + " | ".join(f"**{beh.get(x, 0)}**" for x in cols)
                 + f" | **{sum(r[4] for r in rows)}** |")
    text = (
        f"Autobahn fuzzingclient: {len(run)} cases, {n_pass} passing "
        f"(OK or INFORMATIONAL in behavior and behaviorClose), "
        f"{len(run) - n_pass} not passing; {verdict}.\n\n"
        + "\n".join(lines) + "\n"
    )
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def compare(run, expected, selected, allowed):
    """Mismatches as (case, expected, got) strings, numerically sorted. A case
    that ran with a failing grade and is `allowed` to fail is not held to its
    baseline grades; missing and extra cases always count."""
    out = []
    want_ids = {c for c in expected if selected(c)}
    for cid in sorted(want_ids | set(run), key=case_key):
        exp = expected.get(cid)
        got = run.get(cid)
        if exp is None:
            out.append((cid, "(not in baseline)", f"{got['behavior']} / {got['behaviorClose']}"))
        elif got is None:
            out.append((cid, f"{exp['behavior']} / {exp['behaviorClose']}", "(did not run)"))
        elif allowed(cid) and not is_passing(got):
            continue
        elif (exp["behavior"], exp["behaviorClose"]) != (got["behavior"], got["behaviorClose"]):
            out.append((cid, f"{exp['behavior']} / {exp['behaviorClose']}",
                        f"{got['behavior']} / {got['behaviorClose']}"))
    return out


def case_report(index_dir, agent, cid):
    """The case's own report (wstest's <agent>_case_<id>.json), or {}."""
    path = os.path.join(index_dir, f"{agent}_case_{cid.replace('.', '_')}.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def explain(cid, exp, got, report):
    """Lines saying how a case differs: each grade expected vs got, then what
    the report says happened (result, close result, close codes)."""
    def half(name, e, g):
        return f"{name} expected {e}, got {g}" if e != g else f"{name} {g} as expected"
    if exp is None:
        head = f"DIFFERS {cid}: not in the baseline, got {got['behavior']} / {got['behaviorClose']}"
    elif got is None:
        head = f"DIFFERS {cid}: did not run (baseline {exp['behavior']} / {exp['behaviorClose']})"
    else:
        head = (f"DIFFERS {cid}: " + half("behavior", exp["behavior"], got["behavior"]) + ", "
                + half("behaviorClose", exp["behaviorClose"], got["behaviorClose"]))
    lines = [head]
    if report:
        # (wstest's descriptions carry HTML markup: <b>, <br>)
        desc = re.sub(r"<[^>]*>", "", report.get("description", "?"))
        lines.append(f"    case: {desc}")
        lines.append(f"    result: {report.get('result', '?')}")
        close = report.get("resultClose", "?")
        codes = (f"close codes: ours {report.get('localCloseCode')}, "
                 f"theirs {report.get('remoteCloseCode')}")
        if report.get("wasNotCleanReason"):
            codes += f"; not clean: {report['wasNotCleanReason']}"
        lines.append(f"    close: {close} ({codes})")
    return lines


def write_expected(run, path, old, selected):
    """Write the baseline: the old one's cases outside the selection (none for a
    full run) plus this run's selected cases, with the grades they really got."""
    data = {cid: g for cid, g in old.items() if not selected(cid)}
    data.update((cid, r) for cid, r in run.items() if selected(cid))
    ordered = {cid: data[cid] for cid in sorted(data, key=case_key)}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(ordered, f, indent=2)
        f.write("\n")
    return len(ordered)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--index", default=os.path.join(ROOT, "autobahn/reports/servers/index.json"),
                    help="wstest's index.json (default: %(default)s)")
    ap.add_argument("--agent", default="wsecho", help="agent name in the spec (default: %(default)s)")
    ap.add_argument("--expected", default=os.path.join(ROOT, "autobahn/expected-results.json"),
                    help="baseline file (default: %(default)s)")
    ap.add_argument("--cases", default="*",
                    help="comma-separated case patterns that were run; baseline cases "
                         "matching them must have run (default: all)")
    ap.add_argument("--markdown", default=os.path.join(ROOT, "autobahn/reports/summary.md"),
                    help="markdown table output (default: %(default)s)")
    ap.add_argument("--allow-failing", default="",
                    help="comma-separated case patterns that may get failing grades, "
                         "e.g. '12.*,13.*' for a server without permessage-deflate "
                         "(default: none)")
    ap.add_argument("--via", default="", metavar="URL",
                    help="the run went through a proxy at URL: explain each differing "
                         "case from its report and end with 'autobahn via URL: ...'")
    ap.add_argument("--write-expected", action="store_true",
                    help="rewrite the baseline from this run (merged for a subset run); "
                         "refused if any case is not passing or a baseline case did not run")
    args = ap.parse_args()

    if not os.path.exists(args.index):
        print(f"autobahn: ERROR: {args.index} not found: wstest wrote no reports "
              "(it writes them only when the whole run ends)", file=sys.stderr)
        return 2
    try:
        run = load_run(args.index, args.agent)
    except (OSError, ValueError) as e:
        print(f"autobahn: ERROR: cannot read {args.index}: {e}", file=sys.stderr)
        return 2
    if not run:
        print(f"autobahn: ERROR: no cases in {args.index}", file=sys.stderr)
        return 2

    print_summary(run)
    selected = matcher(args.cases)
    allowed = matcher(args.allow_failing)
    base = os.path.basename(args.expected)
    ids = sorted(run, key=case_key)

    # Strict grading on its own, whatever the baseline says: a failing grade
    # fails the run unless the case is explicitly allowed to fail.
    failing = [c for c in ids if not is_passing(run[c]) and not allowed(c)]
    allowed_failing = [c for c in ids if not is_passing(run[c]) and allowed(c)]

    expected = None
    if os.path.exists(args.expected):
        with open(args.expected, encoding="utf-8") as f:
            expected = json.load(f)
        mismatches = compare(run, expected, selected, allowed)
        n_mis = len(mismatches)
        verdict = (f"matches {base}" if not n_mis
                   else f"{n_mis} mismatch{'es' if n_mis != 1 else ''} with {base}")
    elif args.write_expected:
        mismatches, verdict = [], f"no {base} yet"
    else:
        print(f"autobahn: ERROR: baseline {args.expected} not found "
              "(create it with run-autobahn.sh --update-expected)", file=sys.stderr)
        mismatches = [("*", f"{base} to exist", "no baseline")]
        verdict = f"no {base}"

    # Cases of the baseline that should have run and did not: a server that died
    # mid-run makes wstest skip the rest, which must not shrink the baseline.
    missing = sorted((c for c in (expected or {}) if selected(c) and c not in run),
                     key=case_key)
    not_passing = failing + allowed_failing
    refused = bool(args.write_expected and (not_passing or missing))
    if refused:
        # Never record a failing grade (allowed to fail in this run or not: a
        # baseline holding one could never be met by a strict run) or a lost case
        # as the new expectation; the gate's verdict on this run (against the old
        # baseline) stands. (After a testsuite upgrade that drops cases, delete the
        # baseline and write it anew.)
        why = []
        if not_passing:
            why.append(f"{len(not_passing)} case(s) not passing: "
                       f"{condense(sorted(not_passing, key=case_key), ids)}")
        if missing:
            why.append(f"{len(missing)} baseline case(s) did not run: {', '.join(missing[:20])}")
        print(f"autobahn: ERROR: not writing {args.expected}: {'; '.join(why)}",
              file=sys.stderr)
        verdict += f"; {base} not written"
    elif args.write_expected:
        # List what changes (all grades, the allow-list aside), then the run is
        # the baseline: nothing left to compare.
        for cid, exp, got in compare(run, expected or {}, selected, matcher("")):
            print(f"UPDATE {cid}: was {exp}, now {got}")
        n = write_expected(run, args.expected, expected or {}, selected)
        print(f"autobahn: wrote {args.expected} ({n} cases)")
        mismatches, verdict = [], f"wrote {base}"

    if args.via and expected is not None:
        index_dir = os.path.dirname(os.path.abspath(args.index))
        for cid, _exp, _got in mismatches:
            for line in explain(cid, expected.get(cid), run.get(cid),
                                case_report(index_dir, args.agent, cid) if cid in run else {}):
                print(line)
    else:
        for cid, exp, got in mismatches:
            print(f"MISMATCH {cid}: expected {exp}, got {got}")
    if allowed_failing:
        print(f"ALLOWED (--allow-failing) {len(allowed_failing)} not passing: "
              f"{condense(allowed_failing, ids)}")
    if failing:
        print(f"NOT PASSING {len(failing)}: {condense(failing, ids)}")
        verdict += f", {len(failing)} not passing"

    ok = sum(1 for r in run.values() if is_passing(r) and r["behavior"] == "OK")
    info = sum(1 for r in run.values() if is_passing(r) and r["behavior"] == "INFORMATIONAL")
    other = Counter(r["behavior"] if r["behavior"] not in PASSING
                    else f"close {r['behaviorClose']}"
                    for r in run.values() if not is_passing(r))
    other_txt = f"{sum(other.values())} other"
    if other:
        other_txt += " (" + ", ".join(f"{g} {other[g]}" for g in sorted(other)) + ")"
    write_markdown(run, args.markdown, verdict)
    # Machine-readable counts beside summary.md (run-autobahn.sh prints a tally
    # from it). failed = cases failing the gate: mismatched (incl. missing and
    # extra ones) or not passing outside the allow-list; matching = cases that
    # ran and are not among them.
    failed = {m[0] for m in mismatches} | set(failing)
    result = {
        "cases": len(run),
        "matching": len(run) - len(failed & set(run)),
        "mismatches": len(mismatches),
        "failed": len(failed),
        "passing": ok + info,
        "not_passing": len(run) - ok - info,
        "ok": ok,
        "informational": info,
        "differing": [m[0] for m in mismatches],
    }
    if args.via:
        n_diff = len(mismatches) if expected is not None else 0
        verdict = f"{n_diff} differ from wsecho's baseline"
        if expected is None:
            verdict = f"no {base} to compare with"
        elif failing:
            verdict += f", {len(failing)} not passing"
        line = (f"autobahn via {args.via}: {len(run)} cases, {ok} OK, {info} INFORMATIONAL, "
                f"{other_txt}; {verdict}")
    else:
        line = f"autobahn: {len(run)} cases, {ok} OK, {info} INFORMATIONAL, {other_txt}; {verdict}"
    result["verdict"] = line
    with open(os.path.join(os.path.dirname(os.path.abspath(args.markdown)), "summary.json"),
              "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(line)
    return 1 if failed or refused else 0


if __name__ == "__main__":
    sys.exit(main())
