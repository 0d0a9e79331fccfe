"""Clean-up after the stack-up test: what a compose project left in the engine (test-only, not in the wheel)."""

from __future__ import annotations

from obsgen.check.containers import connect


def remove_compose_project(project: str) -> list[str]:
    """Remove whatever a compose project left behind (containers, volumes, networks); returns what was removed.

    `compose down -v` against podman's socket sometimes leaves the project's network in place
    (observed with podman 4.3 and compose 2.40); this is the safety net after it.
    """
    engine, _ = connect()  # the check's own engine connection: the Docker SDK keeps one home in the package
    if engine is None:
        return []
    client = engine.client
    label = f"com.docker.compose.project={project}"
    removed: list[str] = []
    try:
        for c in client.containers.list(all=True, filters={"label": label}):
            c.remove(v=True, force=True)
            removed.append(f"container {c.name}")
        for v in client.volumes.list(filters={"label": label}):
            v.remove(force=True)
            removed.append(f"volume {v.name}")
        for n in client.networks.list(filters={"label": label}):
            n.remove()
            removed.append(f"network {n.name}")
    finally:
        engine.close()
    return removed
