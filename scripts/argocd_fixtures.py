#!/usr/bin/env python3
"""Helpers of scripts/test-argocd-health.sh for the Argo CD health fixtures
(charts/exposure-operator/argocd/fixtures/*.json and their expected.json).

  argocd_fixtures.py check DIR       every fixture has an expectation and every expectation a fixture
  argocd_fixtures.py compare DIR     stdin: argocd-health's JSON lines for DIR's fixtures; checks
                                     status and message against expected.json, prints one line each
  argocd_fixtures.py expectations DIR  prints "<file>\\t<argocd status>\\t<message substring>" lines
  argocd_fixtures.py to-lua          stdin: one JSON object; prints `obj = <Lua 5.1 table literal>`
                                     (JSON null becomes nil, i.e. absent, as in Argo CD)
"""
import json
import os
import sys


def load(d):
    with open(os.path.join(d, "expected.json")) as f:
        return json.load(f)


def fixture_files(d):
    return {f for f in os.listdir(d) if f.endswith(".json") and f != "expected.json"}


def check(d):
    exp = load(d)
    files = fixture_files(d)
    missing, extra = files - exp.keys(), exp.keys() - files
    for f in sorted(missing):
        print(f"no expectation for {f}", file=sys.stderr)
    for f in sorted(extra):
        print(f"expectation without fixture: {f}", file=sys.stderr)
    return 1 if missing or extra else 0


def compare(d):
    exp = load(d)
    seen, failed = set(), 0
    for line in sys.stdin:
        r = json.loads(line)
        f = os.path.basename(r["source"])
        seen.add(f)
        want = exp[f]
        if r["status"] != want["argocd"]:
            print(f"FAIL {f}: status {r['status']}, want {want['argocd']} (message: {r['message']})")
            failed += 1
        elif want.get("message", "") not in r["message"]:
            print(f"FAIL {f}: message {r['message']!r} does not contain {want['message']!r}")
            failed += 1
        else:
            print(f"ok   {f} -> {r['status']}: {r['message']}")
    for f in sorted(exp.keys() - seen):
        print(f"FAIL {f}: no result")
        failed += 1
    return 1 if failed or not seen else 0


def expectations(d):
    for f, e in sorted(load(d).items()):
        print(f + "\t" + e["argocd"] + "\t" + e.get("message", ""))
    return 0


def lua(v):
    if v is None:
        return "nil"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return lua_str(v)
    if isinstance(v, list):
        return "{" + ", ".join(lua(x) for x in v if x is not None) + "}"
    return "{" + ", ".join("[%s] = %s" % (lua_str(k), lua(x)) for k, x in v.items() if x is not None) + "}"


def lua_str(s):
    # Lua 5.1 string literal: escape backslash, quote and every byte outside printable ASCII.
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        if c in "\\\"":
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\%03d" % b)
    return "\"" + "".join(out) + "\""


def to_lua():
    print("obj = " + lua(json.load(sys.stdin)))
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] in ("check", "compare", "expectations"):
        return {"check": check, "compare": compare, "expectations": expectations}[argv[1]](argv[2])
    if len(argv) == 2 and argv[1] == "to-lua":
        return to_lua()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
