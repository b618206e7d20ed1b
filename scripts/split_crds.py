"""Moves the CustomResourceDefinitions of a rendered YAML stream into a file of their own.

Usage: split_crds.py RENDERED CRDS   (RENDERED is rewritten without them)
The CRD is validated against newer schemas than the chart's other objects (check-chart.sh).
"""
import sys

import yaml


def main(rendered: str, crds_out: str) -> None:
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
    rest = [d for d in docs if d.get("kind") != "CustomResourceDefinition"]
    with open(rendered, "w") as f:
        yaml.safe_dump_all(rest, f)
    with open(crds_out, "w") as f:
        yaml.safe_dump_all(crds, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
