"""Prints the case ids of one shard of an Autobahn config, comma-separated, one line.

Usage: WSTEST_PYTHON cases.py CONFIG.json SHARD SHARDS

Runs under wstest's own Python 2 (the `python` beside `wstest`), so the config's `cases` and
`exclude-cases` patterns are resolved by the suite's own matcher, in its order. Shard SHARD
(1-based) of SHARDS takes every SHARDS-th case from the SHARD-th: each size of each subcategory
goes to the shards in turn, which spreads the long cases (131072-byte messages) evenly.
"""
import json
import sys


def main(args):
    if len(args) != 3:
        sys.stderr.write(__doc__.strip() + "\n")
        return 2
    path, shard, shards = args[0], int(args[1]), int(args[2])
    if not 1 <= shard <= shards:
        sys.stderr.write("shard %d is not in 1..%d\n" % (shard, shards))
        return 2
    from autobahntestsuite.case import (Cases, CaseBasename, CaseCategories, CaseSetname,
                                        CaseSubCategories)
    from autobahntestsuite.caseset import CaseSet
    with open(path) as f:
        spec = json.load(f)
    case_set = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories)
    ids = case_set.parseSpecCases(spec)
    mine = ids[shard - 1::shards]
    if not mine:
        sys.stderr.write("shard %d of %d has no case\n" % (shard, shards))
        return 1
    sys.stdout.write(",".join(mine) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
