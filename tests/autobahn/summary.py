#!/usr/bin/env python3
"""Reads Autobahn `index.json` reports and prints one line per role.

Usage: summary.py ROLE=PATH/index.json [ROLE=PATH/index.json ...]

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


def summarize(role, path):
    try:
        with open(path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{role}: no report ({e})")
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
        role, _, path = arg.partition("=")
        ok = summarize(role, path) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
