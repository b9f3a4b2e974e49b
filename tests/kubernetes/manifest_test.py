#!/usr/bin/python3
"""The Kubernetes manifests in deploy/kubernetes/, checked without a cluster.

Every field is checked against the Kubernetes API models of Debian's
python3-kubernetes (an unknown field, a wrong type or a missing required
field fails), yamllint checks the YAML, and the Indexed Job is checked for
what sharding needs: the completion index becomes --shard K/N with N equal to
its completions, one common --start-at, results on the volume the merge Job
reads. Exit 0: all hold; 1: a finding (printed); 77: a tool is missing.
"""
import re
import subprocess
import sys
from pathlib import Path

try:
    import yaml
    import kubernetes.client as k8s
except ImportError as e:
    print(f"skipped: {e} (scripts/test.sh installs python3-kubernetes and python3-yaml)")
    sys.exit(77)

FINDINGS = []


def finding(where, what):
    FINDINGS.append(f"{where}: {what}")


def check_model(value, type_name, where):
    """value against the model type named as the generated client names it."""
    if value is None:
        return
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return finding(where, f"expected a list ({type_name})")
        for i, item in enumerate(value):
            check_model(item, type_name[5:-1], f"{where}[{i}]")
        return
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            return finding(where, f"expected a mapping ({type_name})")
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            check_model(item, inner, f"{where}.{key}")
        return
    primitives = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object, "datetime": str}
    if type_name in primitives:
        if type_name == "int" and isinstance(value, bool) or not isinstance(value, primitives[type_name]):
            finding(where, f"expected {type_name}, got {type(value).__name__} {value!r}")
        return
    model = getattr(k8s, type_name, None)
    if model is None:
        return finding(where, f"no model {type_name} in python3-kubernetes")
    if not isinstance(value, dict):
        return finding(where, f"expected a {type_name} mapping")
    by_key = {key: attr for attr, key in model.attribute_map.items()}
    for key, item in value.items():
        if key not in by_key:
            finding(where, f"unknown field {key!r} of {type_name}")
            continue
        check_model(item, model.openapi_types[by_key[key]], f"{where}.{key}")
    # Required fields: the model's constructor refuses None for them.
    try:
        model(**{by_key[k]: v for k, v in value.items() if k in by_key})
    except ValueError as e:
        finding(where, f"{type_name}: {e}")


def load(path):
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for i, d in enumerate(documents):
        kind, version = d.get("kind"), d.get("apiVersion", "")
        model = "V1" + kind if version in ("v1", "batch/v1") else None
        if model is None or not hasattr(k8s, model):
            finding(f"{path.name}[{i}]", f"unknown kind {kind} in {version}")
            continue
        check_model(d, model, f"{path.name}:{kind}/{d.get('metadata', {}).get('name')}")
    return documents


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def check_sharding(job, merge, claim):
    spec = job["spec"]
    pod = spec["template"]["spec"]
    shard = pod["containers"][0]
    where = "shards-job.yaml"
    if spec.get("completionMode") != "Indexed":
        finding(where, "completionMode must be Indexed: JOB_COMPLETION_INDEX is set only then")
    env = env_of(shard)
    if str(spec.get("completions")) != env.get("SHARDS") or spec.get("parallelism") != spec.get("completions"):
        finding(where, f"completions ({spec.get('completions')}), parallelism and SHARDS ({env.get('SHARDS')}) must agree: every shard runs at once")
    script = " ".join(shard["args"])
    for needed in (r'--shard "\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)/\$SHARDS"', r'--start-at "\$START_AT"',
                   r'--out "\$RESULTS_DIR/shard-\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)\.json"'):
        if not re.search(needed, script):
            finding(where, f"the shard's command lacks {needed}")
    if env.get("START_AT") != "${START_AT}":
        finding(where, "START_AT must be the placeholder envsubst fills with the common start")
    mounts = {m["name"]: m["mountPath"] for m in shard.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    merge_pod = merge["spec"]["template"]["spec"]
    merge_mounts = {m["name"]: m["mountPath"] for m in merge_pod["containers"][0].get("volumeMounts", [])}
    merge_volumes = {v["name"]: v for v in merge_pod.get("volumes", [])}
    for name, path in mounts.items():
        if path != env.get("RESULTS_DIR"):
            finding(where, f"volume {name} is mounted at {path}, the results go to {env.get('RESULTS_DIR')}")
        claim_name = volumes.get(name, {}).get("persistentVolumeClaim", {}).get("claimName")
        if claim_name != claim["metadata"]["name"]:
            finding(where, f"volume {name} claims {claim_name}, not {claim['metadata']['name']}")
        merge_claims = {v.get("persistentVolumeClaim", {}).get("claimName") for v in merge_volumes.values()}
        if claim_name not in merge_claims or path not in merge_mounts.values():
            finding("merge-job.yaml", f"the merge does not read {claim_name} at {path}")
    if "ReadWriteMany" not in claim["spec"].get("accessModes", []):
        finding("results-volume.yaml", "the shards' pods may run on several nodes: the volume must be ReadWriteMany")
    if "merge" not in " ".join(merge_pod["containers"][0]["args"]):
        finding("merge-job.yaml", "the merge Job does not run merge")


def main():
    root = Path(sys.argv[1]) / "deploy" / "kubernetes"
    lint = subprocess.run(["yamllint", "-d", "{extends: default, rules: {line-length: {max: 140}, document-start: disable}}",
                           str(root)], capture_output=True, text=True)
    if lint.returncode != 0:
        finding("yamllint", lint.stdout + lint.stderr)
    [job] = load(root / "shards-job.yaml")
    [merge] = load(root / "merge-job.yaml")
    [claim] = load(root / "results-volume.yaml")
    check_sharding(job, merge, claim)
    for f in FINDINGS:
        print(f)
    print(f"{len(FINDINGS)} findings in {root}")
    return 1 if FINDINGS else 0


if __name__ == "__main__":
    sys.exit(main())
