#!/usr/bin/env python3
"""Checks that every gtest name in known_failures.txt exists in its suite.

usage: check_known_failures.py known_failures.txt SUITE=BINARY...

A listed name that the suite does not have (a typo, a renamed test) would silently exclude
nothing, so it is an error. CTest names are checked at configure time (known_failures.cmake).
"""
import re
import subprocess
import sys


def list_tests(binary):
    out = subprocess.run([binary, "--gtest_list_tests"], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    names, suite = set(), None
    for line in out.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            suite = line.split()[0]
        else:
            names.add(suite + line.split()[0])
    return names


def main():
    path, suites = sys.argv[1], dict(a.split("=", 1) for a in sys.argv[2:])
    errors, cache = [], {}
    for lineno, line in enumerate(open(path), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^(\S+)\s+(\S+)\s+#\s*\S", line)
        if not m:
            errors.append(f"{path}:{lineno}: want '<ctest test> <gtest test or *>  # reason'")
            continue
        ctest, name = m.groups()
        if name == "*":
            continue
        suite = ctest.rsplit(".", 1)[0]
        if suite not in suites:
            errors.append(f"{path}:{lineno}: {ctest} is not a conformance suite; use * for other tests")
            continue
        if suite not in cache:
            cache[suite] = list_tests(suites[suite])
        if name not in cache[suite]:
            errors.append(f"{path}:{lineno}: suite {suite} has no test {name}")
    for e in errors:
        print(e, file=sys.stderr)
    print(f"checked {path}: {'FAIL' if errors else 'ok'}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
