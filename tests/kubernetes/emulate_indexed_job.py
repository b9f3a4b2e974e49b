#!/usr/bin/python3
"""deploy/kubernetes/ run as the Job controller and kubelet would, without a cluster.

The shards' Indexed Job: `completions` pods at once, each the container's
command and args from the manifest with its env, JOB_COMPLETION_INDEX set to
the pod's index and START_AT filled in as the README says; the volume is a
local folder (RESULTS_DIR, the only value changed). One pod is terminated as
a node drain would (SIGTERM to everything in it) after the common start, and
restarted with the same index (restartPolicy: OnFailure): it starts late.
Then the merge Job. The merged load must hold exactly the books of one
process running the same streams, name the restarted shard's lateness, and
leave no process behind. Usage: emulate_indexed_job.py AIWAY_STRESS SOURCE_ROOT
Exit 0: all hold; 1: a finding (printed); 77: a tool is missing.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import yaml
except ImportError as e:
    print(f"skipped: {e} (scripts/test.sh installs python3-yaml)")
    sys.exit(77)

LEAD_S = 6          # the common start, this far ahead: every "pod" is up by then
RESTART_AFTER_S = 0.7  # the drained pod is ended this long after the common start
FINDINGS = []


def pod(container, env, index, results, binary_dir):
    """Starts one pod's container as the kubelet would: command + args, the env, the index."""
    e = {k: v for k, v in os.environ.items()}
    e.update({v["name"]: str(v.get("value", "")) for v in container.get("env", [])})
    e.update(env)
    e["RESULTS_DIR"] = str(results)
    e["JOB_COMPLETION_INDEX"] = str(index)
    e["PATH"] = f"{binary_dir}:{e['PATH']}"
    argv = container.get("command", []) + container.get("args", [])
    # A session of its own: the pod's processes, ended together as a container's are.
    return subprocess.Popen(argv, env=e, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def stream_books(result):
    """Per stream: how it ended and its tokens' books; and the metrics."""
    rep = result["scenarios"][0]["repetitions"][0]
    columns = rep["streams"]["columns"]
    at = {name: columns.index(name) for name in ("index", "end", "tokens_sent", "delivered", "missing", "corrupted")}
    books = {row[at["index"]]: tuple(row[i] for name, i in at.items() if name != "index") for row in rep["streams"]["rows"]}
    return books, rep["metrics"]


def main():
    binary, root = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    if not shutil.which("nginx") and not Path("/usr/sbin/nginx").exists():
        print("skipped: nginx is not installed (scripts/test.sh installs it)")
        return 77
    manifests = root / "deploy" / "kubernetes"
    start_at = int(time.time()) + LEAD_S
    job_text = (manifests / "shards-job.yaml").read_text().replace("${START_AT}", str(start_at))
    job = yaml.safe_load(job_text)
    merge = yaml.safe_load((manifests / "merge-job.yaml").read_text())
    n = job["spec"]["completions"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    work = Path(tempfile.mkdtemp(prefix="aiway-k8s-"))
    results = work / "results"
    results.mkdir()
    try:
        pods = [pod(container, {}, i, results, binary.parent) for i in range(n)]
        groups = [p.pid for p in pods]
        time.sleep(max(0, start_at + RESTART_AFTER_S - time.time()))
        drained = 1
        os.killpg(pods[drained].pid, signal.SIGTERM)
        first_attempt = pods[drained].wait(timeout=60)
        if first_attempt == 0:
            FINDINGS.append("the drained pod's first attempt exited 0: it was not ended mid-run")
        restarted_at = time.time()
        pods[drained] = pod(container, {}, drained, results, binary.parent)
        groups.append(pods[drained].pid)
        for i, p in enumerate(pods):
            out, _ = p.communicate(timeout=120)
            if p.returncode != 0:
                FINDINGS.append(f"pod {i} exited {p.returncode}: {out[-2000:]}")
        merge_container = merge["spec"]["template"]["spec"]["containers"][0]
        m = pod(merge_container, {}, 0, results, binary.parent)
        merge_out, _ = m.communicate(timeout=60)
        if m.returncode != 0:
            FINDINGS.append(f"the merge Job exited {m.returncode}: {merge_out}")
        print(merge_out.strip())
        if m.returncode == 0 and "latest shard" not in merge_out:
            FINDINGS.append(f"merge does not name the shards' lateness: {merge_out}")
        for g in groups:
            if group_alive(g):
                FINDINGS.append(f"a pod's process group {g} outlived it")
                os.killpg(g, signal.SIGKILL)
        # The same streams from one process, not bound to a start.
        env = {v["name"]: str(v.get("value", "")) for v in container["env"]}
        single = work / "single.json"
        one = subprocess.run([str(binary), "run", "-s", env["SCENARIO"], "-r", env["REPETITIONS"], "-q", "--out", str(single)],
                             capture_output=True, text=True, timeout=120)
        if one.returncode not in (0, 1):  # 1: a threshold missed; the books are what is compared
            FINDINGS.append(f"the single-process run exited {one.returncode}: {one.stderr}")
        if not FINDINGS:
            compare(json.loads((results / "whole.json").read_text()), json.loads(single.read_text()), restarted_at - start_at)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in FINDINGS:
        print(f)
    print(f"{len(FINDINGS)} findings: {n} shards, one restarted")
    return 1 if FINDINGS else 0


def compare(whole, single, restart_late_s):
    merged_books, merged = stream_books(whole)
    single_books, one = stream_books(single)
    if merged_books != single_books:
        differ = [k for k in sorted(set(merged_books) | set(single_books)) if merged_books.get(k) != single_books.get(k)]
        FINDINGS.append(f"the streams' books differ (end, tokens sent, delivered, missing, corrupted) in streams {differ[:10]}: "
                        f"merged {[merged_books.get(k) for k in differ[:3]]}, one process {[single_books.get(k) for k in differ[:3]]}")
    for name in ("streams", "tokens_delivered", "streams_failed", "lost_unaccounted"):
        if merged.get(name) != one.get(name):
            FINDINGS.append(f"{name}: merged {merged.get(name)}, one process {one.get(name)}")
    if merged.get("streams_failed") != 0 or merged.get("lost_unaccounted") != 0:
        FINDINGS.append(f"the merged load lost streams or tokens: {merged}")
    late = merged.get("common_start_late_us", -1) / 1e6
    if not restart_late_s - 0.5 <= late <= restart_late_s + 5:
        FINDINGS.append(f"common_start_late_us {late:.3f} s: the restarted shard started {restart_late_s:.3f} s after the common start")
    if "clock_error_bound_us" not in merged:
        FINDINGS.append("the merged load has no clock_error_bound_us")


if __name__ == "__main__":
    sys.exit(main())
