"""deploy/: the compose file and the Kubernetes manifests pass their published schemas
(check-jsonschema's vendored Compose Specification, kubernetes-validate's bundled
Kubernetes schemas, strict), and they say what docs/deploy.md says: probes on /healthz
and /readyz at the container's port, secrets only from Secrets or deploy/.env, the
services' flags, replicas, non-root pods; and the image's locks are cut from the test
lock. Both validators are local: no network.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
KUBE = DEPLOY / "kubernetes"
MANIFESTS = sorted(KUBE.rglob("*.yaml"))
EXAMPLE_SECRETS = KUBE / "example" / "secrets.yaml"
DOC = ROOT / "docs" / "deploy.md"

#: The oldest Kubernetes docs/deploy.md supports and the newest kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

#: The environment variables that carry secrets, in either deployment.
SECRET_VARS = {"SCSYNC_DB_URL", "SCSYNC_LOCK_URL", "SCSYNC_API_KEY", "SCSYNC_UI_TOKEN",
               "SCSYNC_GIT_WEBHOOK_SECRET", "POSTGRES_PASSWORD"}
EXECUTOR_SECRETS = {"SCSYNC_DB_URL", "SCSYNC_API_KEY"}
CONTROLLER_SECRETS = {"SCSYNC_LOCK_URL", "SCSYNC_API_KEY", "SCSYNC_UI_TOKEN",
                      "SCSYNC_GIT_WEBHOOK_SECRET"}


# ---- the validators -------------------------------------------------------------------

def check_compose(path: Path) -> subprocess.CompletedProcess[str]:
    # --builtin-schema: the schema vendored in check-jsonschema, read from its package.
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(path)],
        capture_output=True, text=True, timeout=120, check=False,
    )


def kubernetes_validate(paths: list[Path], version: str) -> tuple[int, list[str]]:
    """kubernetes-validate's exit code and its problems: every line but a pass, and a
    file whose documents did not all pass.

    It only warns, and exits 0, on a kind or apiVersion it has no schema for (a typo,
    a removed API): here that is a problem too.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "-k", version, "--strict",
         *map(str, paths)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    lines = (proc.stdout + proc.stderr).splitlines()
    problems = [line for line in lines if not line.startswith("INFO ")]
    for path in paths:
        documents = [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d]
        passed = [line for line in lines if line.startswith(f"INFO {path} passed ")]
        if len(passed) != len(documents):
            problems.append(f"{path}: {len(passed)} of {len(documents)} resources passed")
    return proc.returncode, problems


def test_the_compose_file_passes_the_compose_specification() -> None:
    proc = check_compose(COMPOSE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok -- validation done" in proc.stdout


def test_a_compose_file_with_a_misspelt_key_fails_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken-compose.yaml"
    text = COMPOSE.read_text("utf-8")
    assert "    healthcheck:\n" in text
    broken.write_text(text.replace("    healthcheck:\n", "    healthchek:\n", 1), "utf-8")
    proc = check_compose(broken)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "broken-compose.yaml" in proc.stdout
    assert "'healthchek' was unexpected" in proc.stdout


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_passes_strict_validation(version: str) -> None:
    assert len(MANIFESTS) >= 4, MANIFESTS
    code, problems = kubernetes_validate(MANIFESTS, version)
    assert (code, problems) == (0, [])


def test_an_unknown_field_fails_strict_validation_naming_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken-deployment.yaml"
    text = (KUBE / "20-controller.yaml").read_text("utf-8")
    broken.write_text(text.replace("readinessProbe:", "readinessProbes:", 1), "utf-8")
    code, problems = kubernetes_validate([broken], KUBERNETES_VERSIONS[0])
    assert code == 1
    assert any(p.startswith(f"ERROR {broken} did not validate") and "'readinessProbes'" in p
               for p in problems), problems


def test_a_kind_without_a_schema_does_not_pass_silently(tmp_path: Path) -> None:
    stale = tmp_path / "removed-api.yaml"
    text = (KUBE / "10-executor.yaml").read_text("utf-8")
    stale.write_text(text.replace("apiVersion: policy/v1", "apiVersion: policy/v1beta1"),
                     "utf-8")
    code, problems = kubernetes_validate([stale], KUBERNETES_VERSIONS[-1])
    assert code == 0  # kubernetes-validate only warns
    assert any(p.startswith(f"WARN {stale}") for p in problems), problems
    assert f"{stale}: 2 of 3 resources passed" in problems


# ---- what the manifests say ------------------------------------------------------------

def resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS
            for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [r for r in resources() if r["kind"] == kind]


def deployment(name: str) -> dict[str, Any]:
    (found,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == name]
    result: dict[str, Any] = found
    return result


def only_container(deploy: dict[str, Any]) -> dict[str, Any]:
    (container,) = deploy["spec"]["template"]["spec"]["containers"]
    result: dict[str, Any] = container
    return result


def container_port(container: dict[str, Any], port: int | str) -> int:
    for declared in container["ports"]:
        if port in (declared["containerPort"], declared.get("name")):
            return int(declared["containerPort"])
    raise AssertionError(f"{container['name']} declares no port {port!r}")


def flags(argv: list[str], words: int) -> dict[str, str]:
    """`--flag value` pairs after the first `words` words, each flag once."""
    rest = argv[words:]
    assert len(rest) % 2 == 0 and all(f.startswith("--") for f in rest[::2]), argv
    pairs = dict(zip(rest[::2], rest[1::2], strict=True))
    assert len(pairs) == len(rest) // 2, f"a flag given twice: {argv}"
    return pairs


def assert_executor_command(argv: list[str], port: int) -> None:
    assert argv[:3] == ["scsync", "executor", "serve"], argv
    given = flags(argv, 3)
    assert given["--host"] == "0.0.0.0"  # noqa: S104 (a container listens on its own interface)
    assert given["--port"] == str(port)
    assert given["--repo"] == "/app"
    assert int(given["--lease"]) >= 1
    assert "--db" not in given, "the database URL comes from SCSYNC_DB_URL, not argv"
    assert not [a for a in argv if "postgresql://" in a], argv


def assert_controller_command(argv: list[str], port: int, executor_url: str) -> dict[str, str]:
    assert argv[:2] == ["scsync", "controller"], argv
    given = flags(argv, 2)
    assert given["--listen"] == f"0.0.0.0:{port}"
    assert given["--branch"] == "main"
    assert given["--executor"] == executor_url
    assert given["--data-dir"] == "/data"
    assert "--lock" not in given, "the lock's URL comes from SCSYNC_LOCK_URL, not argv"
    assert not [a for a in argv if "postgresql://" in a], argv
    repo = urlsplit(given["--repo"])
    assert repo.password is None and repo.username is None, "no credentials in --repo"
    return given


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def test_probes_ask_healthz_for_liveness_and_readyz_for_readiness_on_the_container_port(
) -> None:
    for deploy in of_kind("Deployment"):
        container = only_container(deploy)
        probes = {kind: container[kind]
                  for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
        for kind, probe in probes.items():
            get = probe["httpGet"]
            assert get["path"] == ("/readyz" if kind == "readinessProbe" else "/healthz"), kind
            container_port(container, get["port"])
            assert "httpHeaders" not in get, "the probes need no credentials"
        ports = {container_port(container, p["httpGet"]["port"]) for p in probes.values()}
        assert len(ports) == 1


def test_every_secret_comes_from_a_secret_and_the_documented_command_creates_it() -> None:
    expected = {"scsync-executor": EXECUTOR_SECRETS, "scsync-controller": CONTROLLER_SECRETS}
    referenced: set[tuple[str, str]] = set()
    for deploy in of_kind("Deployment"):
        container = only_container(deploy)
        assert "envFrom" not in container
        env = env_of(container)
        assert expected[deploy["metadata"]["name"]] <= set(env)
        for name, var in env.items():
            assert "value" not in var or not re.search(r"://|KEY|TOKEN|SECRET|PASSWORD", name
                                                       + str(var["value"])), var
            if name in SECRET_VARS:
                ref = var["valueFrom"]["secretKeyRef"]
                assert "optional" not in ref, name
                referenced.add((ref["name"], ref["key"]))
    # The example Secret holds exactly those keys, and placeholders only.
    example = {(s["metadata"]["name"], key): value
               for s in yaml.safe_load_all(EXAMPLE_SECRETS.read_text("utf-8"))
               for key, value in s["stringData"].items()}
    assert set(example) == referenced
    assert all("REPLACE-ME" in value for value in example.values()), example
    # docs/deploy.md's `kubectl create secret` commands create the same keys.
    created: set[tuple[str, str]] = set()
    for command in re.findall(r"^kubectl -n scsync create secret generic .*?(?<!\\)$",
                              DOC.read_text("utf-8"), flags=re.M | re.S):
        words = shlex.split(command.replace("\\\n", " "))
        secret = words[words.index("generic") + 1]
        for word in words:
            if m := re.match(r"--from-(?:literal|file)=([\w-]+)=", word):
                created.add((secret, m.group(1)))
    assert created == referenced


def test_the_command_lines_use_the_documented_flags() -> None:
    executor = only_container(deployment("scsync-executor"))
    controller = only_container(deployment("scsync-controller"))
    for container in (executor, controller):
        assert "command" not in container, "args only: the image's entrypoint (tini) stays"
    assert_executor_command(executor["args"], container_port(executor, "http"))
    (service,) = [s for s in of_kind("Service") if s["metadata"]["name"] == "scsync-executor"]
    (port,) = service["spec"]["ports"]
    given = assert_controller_command(controller["args"], container_port(controller, "http"),
                                      f"http://scsync-executor:{port['port']}")
    assert urlsplit(given["--repo"]).scheme in ("https", "ssh")


def test_each_service_reaches_its_pods_on_the_container_port() -> None:
    services = of_kind("Service")
    assert {s["metadata"]["name"] for s in services} == {"scsync-executor",
                                                         "scsync-controller"}
    for service in services:
        deploy = deployment(service["metadata"]["name"])
        labels = deploy["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()
        assert deploy["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert not service["spec"].get("publishNotReadyAddresses"), (
            "only ready pods: the controller Service must reach the leader alone")
        for port in service["spec"]["ports"]:
            container_port(only_container(deploy), port["targetPort"])


def test_three_executor_replicas_roll_one_at_a_time_and_two_controllers_recreate() -> None:
    executor = deployment("scsync-executor")["spec"]
    assert executor["replicas"] >= 2
    assert executor["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    controller = deployment("scsync-controller")["spec"]
    assert controller["replicas"] == 2
    assert controller["strategy"] == {"type": "Recreate"}
    # The standby is never ready: a budget over the controllers would block every drain.
    (budget,) = of_kind("PodDisruptionBudget")
    assert budget["spec"]["selector"] == deployment("scsync-executor")["spec"]["selector"]


def test_pods_run_as_the_images_user_with_read_only_roots_and_mounted_writable_paths(
) -> None:
    (user,) = re.findall(r"^USER (\d+):(\d+)$", (DEPLOY / "Dockerfile").read_text("utf-8"),
                         flags=re.M)
    writable = {"scsync-executor": {"/tmp", "/app/.scsync"},
                "scsync-controller": {"/tmp", "/data"}}
    for deploy in of_kind("Deployment"):
        pod = deploy["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert (str(pod["securityContext"]["runAsUser"]),
                str(pod["securityContext"]["runAsGroup"])) == user
        assert int(user[0]) != 0
        assert pod["automountServiceAccountToken"] is False
        container = only_container(deploy)
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
        assert set(mounts) == writable[deploy["metadata"]["name"]]
        assert all("emptyDir" in v for v in mounts.values())
    images = {only_container(d)["image"] for d in of_kind("Deployment")}
    assert len(images) == 1, images


# ---- what the compose file says -------------------------------------------------------

def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text("utf-8"))
    return loaded


def services_running(word: str) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items()
            if s.get("command", [None, None])[:2] == ["scsync", word]}


def test_compose_runs_replicated_executors_and_two_controllers() -> None:
    (executors,) = services_running("executor").items()
    name, executor = executors
    assert executor["deploy"]["replicas"] >= 2
    assert_executor_command(executor["command"], 8765)
    controllers = services_running("controller")
    assert len(controllers) == 2
    data = set()
    for controller in controllers.values():
        assert_controller_command(controller["command"], 9090, f"http://{name}:8765")
        (volume,) = [v for v in controller["volumes"] if v.endswith(":/data")]
        data.add(volume)
        assert controller["depends_on"][name]["condition"] == "service_healthy"
    assert len(data) == 2, "each controller has its own git mirror"
    postgres = compose()["services"]["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert executor["depends_on"]["postgres"]["condition"] == "service_healthy"
    # The executor's health is its readiness; a controller's is liveness (the standby
    # answers 503 on /readyz).
    assert "/readyz" in executor["healthcheck"]["test"][-1]
    assert all("/healthz" in c["healthcheck"]["test"][-1] for c in controllers.values())


def interpolations(value: str) -> Iterator[str]:
    yield from re.findall(r"\$\{([A-Z_]+):\?[^}]*\}", value)


def test_compose_takes_every_secret_from_deploy_env() -> None:
    example = dict(line.split("=", 1)
                   for line in (DEPLOY / "example.env").read_text("utf-8").splitlines()
                   if line and not line.startswith("#"))
    wanted = {"executor": EXECUTOR_SECRETS, "controller": CONTROLLER_SECRETS}
    used: set[str] = set()
    for name, service in compose()["services"].items():
        env = service.get("environment", {})
        role = (service.get("command") or ["", name])[1]
        assert wanted.get(role, set()) <= set(env), name
        for var, value in env.items():
            if var in SECRET_VARS:
                names = set(interpolations(value))
                assert names, f"{name}: {var} is written in compose.yaml"
                if "://" in value:
                    assert re.search(r"://scsync:\$\{POSTGRES_PASSWORD:\?[^}]*\}@", value)
                else:
                    assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", value), value
            used.update(interpolations(str(value)))
        for word in service.get("command", []):
            used.update(interpolations(word))
    assert used == set(example)
    assert all(value.startswith(("replace-with-", "https://github.com/your-org/"))
               for value in example.values()), example
    # deploy/.env is kept out of git and out of the image's build context.
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=ROOT,
                             check=False)
    assert ignored.returncode == 0, "deploy/.env is not git-ignored"
    assert not allowed_in_context("deploy/.env")


def test_compose_publishes_only_the_controllers_ui_on_loopback() -> None:
    published = {name: s["ports"] for name, s in compose()["services"].items() if "ports" in s}
    assert set(published) == set(services_running("controller"))
    host_ports = set()
    for ports in published.values():
        (port,) = ports
        host, host_port, container = port.split(":")
        assert (host, container) == ("127.0.0.1", "9090")
        host_ports.add(host_port)
    assert host_ports == {"9090", "9091"}


# ---- the image ------------------------------------------------------------------------

def allowed_in_context(path: str) -> bool:
    """Whether deploy/Dockerfile.dockerignore lets `path` into the build context.

    Docker's rules, as far as that file uses them: the last matching line decides, a
    line matches a path or a folder above it, `**/` any depth, `!` lets back in.
    """
    parts = path.split("/")
    allowed = True
    for line in (DEPLOY / "Dockerfile.dockerignore").read_text("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        pattern = line.removeprefix("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts)
        else:
            words = pattern.split("/")
            hit = len(parts) >= len(words) and all(
                fnmatch.fnmatchcase(part, word) for part, word in zip(parts, words, strict=False))
        if hit:
            allowed = line.startswith("!")
    return allowed


def test_the_image_installs_the_locks_by_hash_and_copies_only_what_its_context_has() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text("utf-8")
    installs = re.findall(r"pip install (--require-hashes --only-binary :all: --no-deps)\s*"
                          r"\\?\s*-r (deploy/\S+\.lock)", dockerfile)
    assert {lock for _, lock in installs} == {"deploy/build.lock", "deploy/requirements.lock"}
    assert "--no-build-isolation" in dockerfile and "pip check" in dockerfile
    assert re.search(r"apt-get install [^&]*\bgit\b", dockerfile)
    sources = [word for line in re.findall(r"^COPY (?!--from)(.*)$", dockerfile, flags=re.M)
               for word in line.split()[:-1]]
    assert sources
    for source in sources:
        assert allowed_in_context(source.rstrip("/")), f"{source} is not in the context"
    for path in ("src/scsync/cli/__init__.py", "deploy/requirements.lock"):
        assert allowed_in_context(path)
    for path in ("deploy/.env", ".scsync/api-key", "src/scsync/__pycache__/x.pyc", ".git"):
        assert not allowed_in_context(path), path


def test_the_image_locks_are_cut_from_the_test_lock() -> None:
    proc = subprocess.run([sys.executable, str(DEPLOY / "lock.py"), "--check"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    test_lock = (ROOT / "requirements" / "test.lock").read_text("utf-8")
    runtime = (DEPLOY / "requirements.lock").read_text("utf-8")
    names = set(re.findall(r"^([a-z0-9-]+)==", runtime, flags=re.M))
    assert {"psycopg", "psycopg-binary", "psycopg-pool", "fastapi", "gitpython"} <= names
    assert not names & {"pytest", "playwright", "mypy", "hatchling"}, "test tools in the image"
    for block in re.split(r"\n(?=[a-z])", runtime.split("\n", 2)[2].strip()):
        assert block in test_lock, block.splitlines()[0]


def lock_script_in(tmp_path: Path, test_lock: str) -> Path:
    """deploy/lock.py in a copy of the files it reads, with the test lock given."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "requirements").mkdir()
    for name in ("deploy/lock.py", "deploy/requirements.lock", "deploy/build.lock",
                 "pyproject.toml"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / "requirements" / "test.lock").write_text(test_lock, "utf-8")
    return tmp_path / "deploy" / "lock.py"


def run_lock(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(script), *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_a_stale_image_lock_is_named_and_rewritten(tmp_path: Path) -> None:
    test_lock = (ROOT / "requirements" / "test.lock").read_text("utf-8")
    # A refresh that changed one hash of a package the image installs (smmap).
    start = test_lock.index("\nsmmap==")
    hash_at = test_lock.index("--hash=sha256:", start) + len("--hash=sha256:")
    changed = "1" if test_lock[hash_at] == "0" else "0"
    script = lock_script_in(tmp_path, test_lock[:hash_at] + changed + test_lock[hash_at + 1:])
    stale = run_lock(script, "--check")
    assert (stale.returncode, stale.stderr.splitlines()) == (
        1, ["deploy/requirements.lock is stale: run python deploy/lock.py"])
    rewritten = run_lock(script)
    assert (rewritten.returncode, rewritten.stdout) == (0, "wrote deploy/requirements.lock\n")
    assert run_lock(script, "--check").returncode == 0


def test_an_environment_not_installed_from_the_lock_stops_the_cut(tmp_path: Path) -> None:
    test_lock = (ROOT / "requirements" / "test.lock").read_text("utf-8")
    assert "\nsmmap==5.0.3 \\\n" in test_lock
    script = lock_script_in(tmp_path, test_lock.replace("\nsmmap==5.0.3 \\\n",
                                                        "\nsmmap==5.0.2 \\\n"))
    proc = run_lock(script, "--check")
    assert (proc.returncode, proc.stderr) == (
        2, "deploy/lock.py: smmap is 5.0.3 here but 5.0.2 in requirements/test.lock: "
           "install the lock first (bash .ci/run)\n")


def test_the_deployment_guide_is_linked_and_names_every_file_under_deploy() -> None:
    assert "](docs/deploy.md)" in (ROOT / "README.md").read_text("utf-8")
    assert "](deploy.md)" in (ROOT / "docs" / "architecture.md").read_text("utf-8")
    guide = DOC.read_text("utf-8")
    for path in sorted(DEPLOY.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            name = path.relative_to(DEPLOY).as_posix()
            assert name in guide or path.name in guide, f"docs/deploy.md does not name {name}"
