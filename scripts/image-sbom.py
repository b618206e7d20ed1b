#!/usr/bin/env python3
"""CycloneDX 1.5 SBOM of the operator image (called by scripts/build-image.sh).

Components:
  * the crates linked into the binary: the normal (not dev, not build) dependency graph of
    exposure-operator from `cargo metadata` (= Cargo.lock), proc-macro crates left out (they run
    in the compiler, nothing of them is linked); versions, licenses, the Cargo.lock checksum;
  * the Debian packages the image's files come from, with the .deb's SHA-256 and the paths
    taken from it.
Deterministic: the serial number derives from the image digest, the timestamp is the image's.
"""
import argparse
import hashlib
import json
import sys
import tomllib
import urllib.parse
import uuid


def crate_components(metadata, lock):
    packages = {p["id"]: p for p in metadata["packages"]}
    nodes = {n["id"]: n for n in metadata["resolve"]["nodes"]}
    checksums = {(p["name"], p["version"]): p.get("checksum") for p in lock["package"]}
    root = next(i for i, p in packages.items() if p["name"] == "exposure-operator")

    def is_proc_macro(pid):
        return any("proc-macro" in t["kind"] for t in packages[pid]["targets"])

    def normal_deps(pid):
        for d in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in d["dep_kinds"]) and not is_proc_macro(d["pkg"]):
                yield d["pkg"]

    seen, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        stack.extend(normal_deps(pid))

    def ref(pid):
        p = packages[pid]
        return f"pkg:cargo/{p['name']}@{p['version']}"

    components, dependencies = [], []
    for pid in sorted(seen, key=lambda i: (packages[i]["name"], packages[i]["version"])):
        p = packages[pid]
        c = {
            "type": "application" if pid == root else "library",
            "bom-ref": ref(pid),
            "name": p["name"],
            "version": p["version"],
            "purl": ref(pid),
        }
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"].replace("/", " OR ")}]
        checksum = checksums.get((p["name"], p["version"]))
        if checksum:
            c["hashes"] = [{"alg": "SHA-256", "content": checksum}]
        components.append(c)
        dependencies.append(
            {"ref": ref(pid), "dependsOn": sorted({ref(d) for d in normal_deps(pid)})}
        )
    return ref(root), components, dependencies


def deb_components(debs_tsv):
    """Lines `<path of .deb>\\t<space-separated paths taken from it>`."""
    components = []
    for line in open(debs_tsv):
        deb, files = line.rstrip("\n").split("\t")
        name, version, arch = deb.rsplit("/", 1)[1].removesuffix(".deb").split("_")
        version = urllib.parse.unquote(version)
        sha = hashlib.sha256(open(deb, "rb").read()).hexdigest()
        purl = (
            f"pkg:deb/debian/{name}@{urllib.parse.quote(version, safe='')}"
            f"?arch={arch}&distro=debian-12"
        )
        components.append(
            {
                "type": "library",
                "bom-ref": purl,
                "name": name,
                "version": version,
                "purl": purl,
                "hashes": [{"alg": "SHA-256", "content": sha}],
                "properties": [
                    {"name": "exposure:image:path", "value": f}
                    for f in sorted(files.split())
                ]
                + [{"name": "exposure:image:copyright", "value": f"/usr/share/doc/{name}/copyright"}],
            }
        )
    return sorted(components, key=lambda c: c["name"])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    for arg in ("metadata", "debs", "digest", "version", "revision", "created", "source"):
        ap.add_argument(f"--{arg}", required=True)
    ap.add_argument("--lock", default="Cargo.lock")
    a = ap.parse_args()

    metadata = json.load(open(a.metadata))
    with open(a.lock, "rb") as f:
        lock = tomllib.load(f)
    binary_ref, crates, crate_deps = crate_components(metadata, lock)
    debs = deb_components(a.debs)
    image_purl = (
        f"pkg:oci/exposure-operator@{urllib.parse.quote(a.digest, safe='')}?tag={a.version}"
    )
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, image_purl)}",
        "version": 1,
        "metadata": {
            "timestamp": a.created,
            "tools": {"components": [{"type": "application", "name": "scripts/build-image.sh"}]},
            "component": {
                "type": "container",
                "bom-ref": image_purl,
                "name": "exposure-operator",
                "version": a.version,
                "purl": image_purl,
                "hashes": [{"alg": "SHA-256", "content": a.digest.removeprefix("sha256:")}],
                "licenses": [{"expression": "Apache-2.0"}],
                "externalReferences": [{"type": "vcs", "url": a.source}],
                "properties": [
                    {"name": "org.opencontainers.image.revision", "value": a.revision},
                    {"name": "org.opencontainers.image.version", "value": a.version},
                ],
            },
        },
        "components": crates + debs,
        "dependencies": [
            {
                "ref": image_purl,
                "dependsOn": sorted([binary_ref] + [d["bom-ref"] for d in debs]),
            }
        ]
        + crate_deps,
    }
    json.dump(bom, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
