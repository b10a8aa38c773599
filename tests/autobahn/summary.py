#!/usr/bin/env python3
"""Reads Autobahn `index.json` reports and prints one line per role.

Usage: summary.py ROLE=PATH/index.json[,PATH/index.json...] [ROLE=... ...]

A role's reports may come from several wstest processes (shards, each with its own cases):
they are merged, and a case reported twice, or a shard without a report, fails the role.
A case passes only when both `behavior` and `behaviorClose` are OK or INFORMATIONAL (stricter
than the suite, which counts NON-STRICT as a pass). Prints, per role:
    ROLE: N OK, N NON-STRICT, N FAILED, N other
then each case that did not pass. Exits 1 when any case did not pass or a report is missing.
"""
import json
import sys

PASS = {"OK", "INFORMATIONAL"}


def classify(result):
    """OK, NON-STRICT, FAILED or other, from the worse of the two verdicts."""
    verdicts = (result.get("behavior"), result.get("behaviorClose"))
    if all(v in PASS for v in verdicts):
        return "OK"
    if "FAILED" in verdicts:
        return "FAILED"
    if "NON-STRICT" in verdicts:
        return "NON-STRICT"
    return "other"


def case_key(case_id):
    return tuple(int(p) if p.isdigit() else p for p in case_id.split("."))


def load(paths):
    """The cases of every report in `paths`, merged per agent; raises on a missing report
    or on a case two reports both have."""
    merged = {}
    for path in paths:
        with open(path) as f:
            index = json.load(f)
        for agent, cases in index.items():
            into = merged.setdefault(agent, {})
            twice = sorted(set(into) & set(cases), key=case_key)
            if twice:
                raise ValueError(f"{path}: cases reported twice for {agent}: {', '.join(twice)}")
            into.update(cases)
    return merged


def summarize(role, paths):
    try:
        index = load(paths)
    except (OSError, ValueError) as e:
        print(f"{role}: no usable report ({e})")
        return False
    counts = {"OK": 0, "NON-STRICT": 0, "FAILED": 0, "other": 0}
    bad = []
    for agent, cases in sorted(index.items()):
        for case_id in sorted(cases, key=case_key):
            result = cases[case_id]
            kind = classify(result)
            counts[kind] += 1
            if kind != "OK":
                bad.append((agent, case_id, result))
    total = sum(counts.values())
    print(f"{role}: {counts['OK']} OK, {counts['NON-STRICT']} NON-STRICT, "
          f"{counts['FAILED']} FAILED, {counts['other']} other")
    for agent, case_id, result in bad:
        print(f"  {agent} {case_id}: behavior={result.get('behavior')} "
              f"behaviorClose={result.get('behaviorClose')} "
              f"remoteCloseCode={result.get('remoteCloseCode')} "
              f"report={result.get('reportfile')}")
    return total > 0 and not bad


def main(args):
    if not args:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    ok = True
    for arg in args:
        role, _, paths = arg.partition("=")
        ok = summarize(role, [p for p in paths.split(",") if p]) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
