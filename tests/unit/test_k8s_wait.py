"""scripts/k8s_wait.py, the chart workflow's wait: done when the deployments are available, at once on a pod
that cannot start."""

import json

from scripts import k8s_wait


def pod(name: str, reason: str | None, init: bool = False) -> dict:
    state = {"waiting": {"reason": reason, "message": "m"}} if reason else {"running": {}}
    key = "initContainerStatuses" if init else "containerStatuses"
    return {"metadata": {"name": name}, "status": {key: [{"name": "c", "state": state}]}}


def test_a_pod_that_cannot_pull_or_crashes_is_a_failure_at_once():
    pods = {"items": [pod("hub-1", "ImagePullBackOff"), pod("proxy-1", None), pod("x", "CrashLoopBackOff", True)]}
    assert k8s_wait.failures(pods) == ["hub-1/c: ImagePullBackOff: m", "x/c: CrashLoopBackOff: m"]


def test_a_pod_still_creating_is_no_failure():
    assert k8s_wait.failures({"items": [pod("hub-1", "ContainerCreating"), pod("hub-2", "PodInitializing")]}) == []


def test_deployments_are_done_when_every_replica_is_available():
    deployments = {
        "items": [
            {"metadata": {"name": "hub"}, "spec": {"replicas": 1}, "status": {"availableReplicas": 1}},
            {"metadata": {"name": "proxy"}, "spec": {"replicas": 1}, "status": {}},
        ]
    }
    assert k8s_wait.unavailable(deployments, ["hub", "proxy", "missing"]) == ["proxy", "missing"]


def test_the_wait_stops_at_the_first_look_when_a_pod_cannot_start(monkeypatch, capsys):
    answers = {
        ("get", "pods"): json.dumps({"items": [pod("hub-1", "ErrImagePull")]}),
        ("get", "deployments"): '{"items": []}',
    }
    calls = []

    def kubectl(*args):
        calls.append(args)
        return answers.get(args[:2], "")

    monkeypatch.setattr(k8s_wait, "kubectl", kubectl)
    monkeypatch.setattr(k8s_wait.time, "sleep", lambda _: (_ for _ in ()).throw(AssertionError("it waited")))
    assert k8s_wait.wait("openhexa", ["hub"], timeout=600) == 1
    assert "hub-1/c: ErrImagePull" in capsys.readouterr().err
    assert ("logs", "hub-1", "--namespace", "openhexa", "--all-containers", "--tail", "200") in calls
