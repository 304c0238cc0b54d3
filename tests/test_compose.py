"""docker-compose.yml is a valid Compose file, and the stack's files agree with each other.

No Docker needed: the file is validated against the Compose Specification's JSON schema
(vendored in tests/data/compose-spec.json), and the wiring is checked statically: pinned
images, mounted paths that exist, documented ports, Prometheus targets that are services,
and Grafana datasource uids that the dashboards use and provisioning defines.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"
OPERATIONS = ROOT / "docs" / "operations.md"
GRAFANA = ROOT / "dashboards" / "grafana"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose),
                    key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors)


def test_schema_rejects_a_broken_file() -> None:
    """The validation above is not vacuous."""
    schema = json.loads(SCHEMA.read_text())
    bad = {"services": {"worker": {"image": "tfpulse:0.1.0", "portz": ["9464:9464"]}}}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(bad))


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        assert "image" in svc or "build" in svc, f"{name}: neither image nor build"
        image = svc.get("image")
        if image is None:
            continue
        if "@sha256:" in image:
            continue
        repo, _, tag = image.rpartition(":")
        assert repo and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag != "latest", f"{name}: image {image!r} uses the latest tag"
        assert re.search(r"\d", tag), f"{name}: image {image!r}: tag {tag!r} is not a version"


def _local_sources(svc: dict[str, Any]) -> list[str]:
    out = []
    for vol in svc.get("volumes", []):
        if isinstance(vol, str):
            source = vol.split(":", 1)[0]
            if source.startswith((".", "/", "~")):
                out.append(source)
        elif vol.get("type") == "bind":
            out.append(vol["source"])
    build = svc.get("build")
    if isinstance(build, str):
        out.append(build)
    elif isinstance(build, dict):
        context = build.get("context", ".")
        out.append(context)
        out.append(str(Path(context) / build.get("dockerfile", "Dockerfile")))
    env_file = svc.get("env_file", [])
    out += [env_file] if isinstance(env_file, str) else [
        e if isinstance(e, str) else e["path"] for e in env_file]
    return out


def test_every_mounted_path_exists(compose: dict[str, Any],
                                   services: dict[str, dict[str, Any]]) -> None:
    paths = [(name, src) for name, svc in services.items() for src in _local_sources(svc)]
    paths += [(f"configs.{n}", c["file"]) for n, c in compose.get("configs", {}).items()
              if "file" in c]
    assert paths
    for owner, source in paths:
        assert not source.startswith(("/", "~")), f"{owner}: {source} is outside the repository"
        assert (ROOT / source).exists(), f"{owner}: {source} does not exist in the repository"


def _ports(svc: dict[str, Any]) -> set[str]:
    ports: set[str] = set()
    for port in svc.get("ports", []):
        if isinstance(port, dict):
            ports |= {str(port[k]) for k in ("target", "published") if k in port}
        else:
            spec = str(port).split("/", 1)[0]
            ports |= {p for p in spec.split(":") if re.fullmatch(r"\d+(-\d+)?", p)}
    ports |= {str(p).split("/", 1)[0] for p in svc.get("expose", [])}
    return ports


def test_every_port_is_documented(services: dict[str, dict[str, Any]]) -> None:
    doc = OPERATIONS.read_text()
    ports = {(name, port) for name, svc in services.items() for port in _ports(svc)}
    assert ports
    for name, port in sorted(ports):
        assert re.search(rf"(?<![\d.]){port}(?!\d)", doc), (
            f"{name}: port {port} is not documented in docs/operations.md")


def test_worker_runs_with_the_config_and_exporter(services: dict[str, dict[str, Any]]) -> None:
    worker = services["worker"]
    assert worker["command"] == ["tfpulse", "run", "--config", "/etc/tfpulse/config.yaml"]
    assert worker["environment"]["TFPULSE_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert worker["environment"]["TFPULSE_STORE"].startswith("postgresql+psycopg://")
    assert "9464" in _ports(worker)
    assert any(c["target"] == "/etc/tfpulse/config.yaml" for c in worker["configs"])


def test_prometheus_targets_are_compose_services(services: dict[str, dict[str, Any]]) -> None:
    config = yaml.safe_load((ROOT / "dashboards" / "prometheus" / "prometheus.yml").read_text())
    targets = [t for job in config["scrape_configs"] for sc in job["static_configs"]
               for t in sc["targets"]]
    targets += [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"]
                for t in sc["targets"]]
    assert "worker:9464" in targets
    for target in targets:
        host, port = target.rsplit(":", 1)
        assert host == "localhost" or host in services, f"{target}: no such service"
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert "tfpulse" in jobs  # the alerts use up{job="tfpulse"}


def _dashboard_datasource_uids() -> set[str]:
    uids: set[str] = set()
    for path in GRAFANA.glob("*.json"):
        dash = json.loads(path.read_text())
        items = dash["panels"] + dash["templating"]["list"]
        for item in items:
            for ds in [item.get("datasource")] + [t.get("datasource")
                                                  for t in item.get("targets", [])]:
                if isinstance(ds, dict) and ds.get("type") != "grafana":
                    uids.add(ds["uid"])
    return uids


def test_dashboards_use_provisioned_datasources() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text())
    uids = {ds["uid"] for ds in provisioned["datasources"]}
    assert uids == {"prometheus", "tfpulse-store"}
    used = _dashboard_datasource_uids()
    assert used and used <= uids, f"dashboards use unprovisioned datasources {used - uids}"


def test_dashboards_are_loadable_json() -> None:
    paths = sorted(GRAFANA.glob("*.json"))
    assert {p.stem for p in paths} == {"tfpulse-overview", "tfpulse-permissions-locks"}
    seen_uids = set()
    for path in paths:
        dash = json.loads(path.read_text())
        assert dash["uid"] == path.stem and dash["uid"] not in seen_uids
        seen_uids.add(dash["uid"])
        assert dash["schemaVersion"] >= 39
        ids = [p["id"] for p in dash["panels"]]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate panel ids"
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                assert target.get("expr") or target.get("rawSql"), (path.name, panel["title"])
