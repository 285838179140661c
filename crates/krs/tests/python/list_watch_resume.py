"""The official Python client (PyPI `kubernetes`) against krs: list, watch from the list's
resourceVersion, and resume a watch from the last resourceVersion it saw.

Usage: list_watch_resume.py KUBECONFIG NAMESPACE
Exits non-zero with a message on the first difference from upstream's behaviour.
"""

import sys

from kubernetes import client, config, watch

WATCH_TIMEOUT = 60  # seconds; the server ends the watch after this, the client gives up later


def configmap(name, data=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)


def collect(v1, namespace, resource_version, count):
    """Watches configmaps from resource_version until `count` events; returns them as
    (type, name, data) tuples and the resourceVersion of the last one."""
    w = watch.Watch()
    events = []
    last_rv = None
    for event in w.stream(
        v1.list_namespaced_config_map,
        namespace,
        resource_version=resource_version,
        timeout_seconds=WATCH_TIMEOUT,
        _request_timeout=WATCH_TIMEOUT + 30,
    ):
        obj = event["object"]
        if event["type"] == "ERROR":
            raise SystemExit(f"watch from {resource_version} failed: {event['raw_object']}")
        events.append((event["type"], obj.metadata.name, obj.data))
        last_rv = obj.metadata.resource_version
        if len(events) == count:
            w.stop()
    if len(events) != count:
        raise SystemExit(f"watch from {resource_version}: {len(events)} events, expected {count}: {events}")
    return events, last_rv


def update_data(v1, namespace, name, data):
    """Read-modify-write (PUT) of a configmap's data."""
    cm = v1.read_namespaced_config_map(name, namespace)
    cm.data = data
    v1.replace_namespaced_config_map(name, namespace, cm)


def expect(what, got, want):
    if got != want:
        raise SystemExit(f"{what}:\n  got  {got!r}\n  want {want!r}")
    print(f"ok: {what}")


def main():
    kubeconfig, namespace = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    v1 = client.CoreV1Api()

    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    for name in ("a", "b", "c"):
        v1.create_namespaced_config_map(namespace, configmap(name, {"n": name}))

    listed = v1.list_namespaced_config_map(namespace)
    expect("list", sorted(cm.metadata.name for cm in listed.items), ["a", "b", "c"])
    list_rv = listed.metadata.resource_version
    if not list_rv:
        raise SystemExit("the list has no resourceVersion")

    # Changes after the list: a watch from the list's resourceVersion sees exactly these.
    v1.create_namespaced_config_map(namespace, configmap("d", {"n": "d"}))
    update_data(v1, namespace, "a", {"n": "a2"})
    v1.delete_namespaced_config_map("b", namespace)
    events, last_rv = collect(v1, namespace, list_rv, 3)
    expect(
        "watch from the list's resourceVersion",
        events,
        [("ADDED", "d", {"n": "d"}), ("MODIFIED", "a", {"n": "a2"}), ("DELETED", "b", {"n": "b"})],
    )

    # Changes while no watch runs: resuming from the last seen resourceVersion sees them, and
    # nothing it saw before.
    update_data(v1, namespace, "c", {"n": "c2"})
    v1.delete_namespaced_config_map("d", namespace)
    v1.create_namespaced_config_map(namespace, configmap("e", {"n": "e"}))
    events, resumed_rv = collect(v1, namespace, last_rv, 3)
    expect(
        "watch resumed from the last seen resourceVersion",
        events,
        [("MODIFIED", "c", {"n": "c2"}), ("DELETED", "d", {"n": "d"}), ("ADDED", "e", {"n": "e"})],
    )
    if int(resumed_rv) <= int(last_rv):
        raise SystemExit(f"resourceVersion went from {last_rv} to {resumed_rv}")

    final = v1.list_namespaced_config_map(namespace)
    expect("final list", sorted(cm.metadata.name for cm in final.items), ["a", "c", "e"])
    print("python client: list, watch and resume ok")


if __name__ == "__main__":
    main()
