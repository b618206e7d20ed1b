#!/usr/bin/env python3
"""Exit 0 when kubernetes-validate bundles the strict offline schemas of a Kubernetes version.

Usage: has_k8s_schemas.py 1.20.0
"""
import os
import sys

import kubernetes_validate


def main():
    version = sys.argv[1]
    schemas = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema")
    sys.exit(0 if os.path.isdir(os.path.join(schemas, f"v{version}-local-strict")) else 1)


if __name__ == "__main__":
    main()
