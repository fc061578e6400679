"""Wait for a Helm release's deployments to be available, and fail at once when a pod cannot start.

    python scripts/k8s_wait.py --namespace openhexa --timeout 600 hub proxy

`helm --wait` waits out its whole timeout when an image cannot be pulled or a container
crashes at start. This asks `kubectl get pods,deployments -o json` every few seconds and
stops as soon as a container waits for a reason that will not pass by itself (ErrImagePull,
ImagePullBackOff, CrashLoopBackOff, ...), printing the pods, the events, and the logs of the
pods that failed; it passes once every named deployment has all its replicas available.
Needs only the standard library and kubectl.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

# Container waiting reasons that do not pass by waiting.
FATAL = {
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def kubectl(*args: str) -> str:
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, check=False).stdout


def failures(pods: dict) -> list[str]:
    """Each container of ``pods`` (kubectl's JSON list) that waits for a reason in FATAL."""
    found = []
    for pod in pods.get("items", []):
        name = pod["metadata"]["name"]
        status = pod.get("status", {})
        for container in status.get("initContainerStatuses", []) + status.get("containerStatuses", []):
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in FATAL:
                found.append(f"{name}/{container['name']}: {waiting['reason']}: {waiting.get('message', '')[:300]}")
    return found


def unavailable(deployments: dict, names: list[str]) -> list[str]:
    """The named deployments that do not have every replica available yet (or do not exist)."""
    ready = {
        d["metadata"]["name"]
        for d in deployments.get("items", [])
        if d.get("status", {}).get("availableReplicas", 0) >= d.get("spec", {}).get("replicas", 1)
    }
    return [name for name in names if name not in ready]


def diagnose(namespace: str, pods: list[str]) -> None:
    print(kubectl("get", "pods,events", "--namespace", namespace, "--output", "wide"))
    for pod in pods:
        print(kubectl("describe", "pod", pod, "--namespace", namespace)[-3000:])
        print(kubectl("logs", pod, "--namespace", namespace, "--all-containers", "--tail", "200"))


def wait(namespace: str, names: list[str], timeout: float, interval: float = 3.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        pods = json.loads(kubectl("get", "pods", "--namespace", namespace, "--output", "json") or "{}")
        failed = failures(pods)
        if failed:
            print("pods that cannot start:\n  " + "\n  ".join(failed), file=sys.stderr)
            diagnose(namespace, sorted({line.split("/", 1)[0] for line in failed}))
            return 1
        deployments = json.loads(kubectl("get", "deployments", "--namespace", namespace, "--output", "json") or "{}")
        missing = unavailable(deployments, names)
        if not missing:
            print(f"available: {', '.join(names)}")
            return 0
        if time.monotonic() > deadline:
            print(f"timed out after {timeout:.0f}s waiting for {', '.join(missing)}", file=sys.stderr)
            diagnose(namespace, [pod["metadata"]["name"] for pod in pods.get("items", [])])
            return 1
        time.sleep(interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for every deployment to be available")
    parser.add_argument("deployments", nargs="+", help="the deployments to wait for")
    args = parser.parse_args(argv)
    return wait(args.namespace, args.deployments, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
