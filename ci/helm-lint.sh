#!/usr/bin/env bash
# Lints and renders the Helm chart (helm/lrs) with the real Helm library, then checks the
# rendered manifests. No cluster and no helm binary are needed: Helm v4's Go SDK comes from
# PyPI as helm-python-sdk (a C ABI over helm.sh/helm/v4, called through ctypes). It is
# installed into a virtualenv kept outside the repository (LRS_CI_CACHE, default
# /var/cache/lrs-ci when writable).
#
# What runs, for the default values and for helm/lrs/ci/all-on-values.yaml (every option on):
#   1. helm lint --strict (warnings fail), against Kubernetes v1.30;
#   2. helm template (offline render, release "ci" in namespace "lrs");
#   3. every rendered object validated, strictly (unknown fields fail), against the Kubernetes
#      OpenAPI schemas of the oldest and newest versions kubernetes-validate ships (PyPI);
#      the ServiceMonitor is a CRD, not in those schemas, and is checked by step 4 only;
#   4. checks of the rendered objects (see check_rendered below);
# then the chart's guards (values.schema.json and the checks in _helpers.tpl): values that
# must be refused are refused; and last, deploy/compose.yaml parses and runs the three roles.
set -euo pipefail
cd "$(dirname "$0")/.."

HELM_PYTHON_SDK_VERSION=0.2.2
PYYAML_VERSION=6.0.4
KUBERNETES_VALIDATE_VERSION=1.37.0

cache=${LRS_CI_CACHE:-/var/cache/lrs-ci}
if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
  cache=${XDG_CACHE_HOME:-$HOME/.cache}/lrs-ci
  mkdir -p "$cache"
fi
venv=$cache/helm-venv

echo "== helm-lint: Python virtualenv at $venv"
if ! { command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; }; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "   installing python3-venv (Debian; brings python3)"
    apt-get update -qq && apt-get install -y -qq python3-venv
  else
    echo "helm-lint: python3-venv is missing; install it (apt-get install python3-venv)" >&2
    exit 1
  fi
fi
want="helm-python-sdk==$HELM_PYTHON_SDK_VERSION pyyaml==$PYYAML_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.lrs-requirements" 2>/dev/null)" != "$want" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q --disable-pip-version-check $want
  echo "$want" > "$venv/.lrs-requirements"
fi
"$venv/bin/python" -c 'import helm_python as h; print("   Helm SDK", h.helm_sdk_version(), "via helm-python-sdk", h.helm_c_version())'

# The rendered manifests are kept when something fails, or always when HELM_LINT_OUT is set.
out=${HELM_LINT_OUT:-}
if [ -z "$out" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"

status=0
"$venv/bin/python" - helm/lrs "$out" <<'PY' || status=$?
import base64
import os
import re
import sys
import tomllib

import helm_python as helm
import kubernetes_validate
import yaml

chart_dir, out_dir = sys.argv[1], sys.argv[2]
KUBE_VERSION = "v1.30.0"
ROLES = ("api", "ingest", "query")
# The oldest Kubernetes version kubernetes-validate has schemas for, and the newest.
KUBE_SCHEMA_VERSIONS = ("1.25.0", kubernetes_validate.latest_version())
CRD_KINDS = {"ServiceMonitor"}
CONFIG_SECTIONS = {"server", "storage", "log", "query", "auth", "logging", "cors"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
failures = []


def fail(case, message):
    failures.append(f"{case}: {message}")
    print(f"   FAIL {message}")


def lint(case, values):
    report = helm.lint(chart_dir, values, strict=True, kube_version=KUBE_VERSION)
    names = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}
    for message in report["messages"]:
        print(f"   lint {names.get(message['severity'], message['severity'])}: "
              f"{message['path']}: {message['error']}")
        if message["severity"] >= 2:
            fail(case, f"lint {message['path']}: {message['error']}")
    for error in report["errors"]:
        fail(case, f"lint: {error}")
    print(f"   lint --strict: {report['total_charts_linted']} chart, "
          f"{len(report['errors'])} errors")


def render(values):
    chart = helm.Chart.load(chart_dir)
    return chart.render(values, name="ci", namespace="lrs", is_install=True)


def objects_of(manifests):
    objects = []
    for path in sorted(manifests):
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(manifests[path]):
            if doc is not None:
                objects.append((path, doc))
    return objects


def validate_schemas(case, objects):
    checked = 0
    for path, obj in objects:
        if obj.get("kind") in CRD_KINDS:
            continue
        for version in KUBE_SCHEMA_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as e:
                first = str(e).splitlines()[0]
                fail(case, f"{path}: {obj.get('kind')} {obj['metadata'].get('name')} "
                           f"is not valid Kubernetes {version}: {first}")
            except kubernetes_validate.SchemaNotFoundError:
                fail(case, f"{path}: no Kubernetes {version} schema for {obj.get('apiVersion')} {obj.get('kind')}")
        checked += 1
    print(f"   kubernetes schemas (strict, {' and '.join(KUBE_SCHEMA_VERSIONS)}): {checked} objects")


def env_of(container):
    return {e["name"]: e for e in container.get("env", [])}


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_rendered(case, objects, expect):
    by_kind = {}
    for path, obj in objects:
        for field in ("apiVersion", "kind", "metadata"):
            if field not in obj:
                fail(case, f"{path}: an object without {field}")
        name = obj["metadata"].get("name", "")
        if not DNS_LABEL.match(name) or len(name) > 63:
            fail(case, f"{path}: {obj['kind']} name {name!r} is not a DNS label")
        by_kind.setdefault(obj["kind"], []).append(obj)
    print("   rendered: " + ", ".join(f"{k} {len(v)}" for k, v in sorted(by_kind.items())))

    for kind, count in expect.items():
        if not kind[0].isupper():
            continue
        got = len(by_kind.get(kind, []))
        if got != count:
            fail(case, f"expected {count} {kind}, rendered {got}")

    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    services = {s["metadata"]["name"]: s for s in by_kind.get("Service", [])}
    secrets = {s["metadata"]["name"]: s for s in by_kind.get("Secret", [])}
    configmaps = {c["metadata"]["name"]: c for c in by_kind.get("ConfigMap", [])}
    roles_seen = set()

    for name, dep in deployments.items():
        spec = dep["spec"]
        pod = spec["template"]["spec"]
        pod_labels = spec["template"]["metadata"]["labels"]
        role = pod_labels.get("app.kubernetes.io/component")
        roles_seen.add(role)
        if not labels_match(spec["selector"]["matchLabels"], pod_labels):
            fail(case, f"{name}: selector does not match the pod labels")
        psc = pod.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True:
            fail(case, f"{name}: pod securityContext.runAsNonRoot is not true")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            where = f"{name}/{c['name']}"
            args = c.get("args", [])
            if args[:1] != ["serve"] or "--services" not in args:
                fail(case, f"{where}: args {args} are not `serve … --services ROLE`")
            elif args[args.index("--services") + 1] != role:
                fail(case, f"{where}: --services is not its role {role}")
            if "--config" not in args or args[args.index("--config") + 1] != "/etc/lrs/lrs.toml":
                fail(case, f"{where}: not started with --config /etc/lrs/lrs.toml")
            live = c.get("livenessProbe", {}).get("httpGet", {})
            ready = c.get("readinessProbe", {}).get("httpGet", {})
            if live.get("path") != "/health" or ready.get("path") != "/ready":
                fail(case, f"{where}: probes are not GET /health (liveness) and /ready (readiness)")
            ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
            if "http" not in ports or live.get("port") != "http" or ready.get("port") != "http":
                fail(case, f"{where}: probes do not use the http port")
            resources = c.get("resources", {})
            for section in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(section, {}):
                        fail(case, f"{where}: no resources.{section}.{resource}")
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                fail(case, f"{where}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                fail(case, f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                fail(case, f"{where}: capabilities are not dropped (ALL)")
            env = env_of(c)
            if env.get("LRS__SERVER__LISTEN", {}).get("value") != f"0.0.0.0:{ports.get('http')}":
                fail(case, f"{where}: LRS__SERVER__LISTEN does not listen on the http port")
            if not env.get("LRS__LOG__URI", {}).get("value", "").startswith("kafka://"):
                fail(case, f"{where}: LRS__LOG__URI is not a kafka:// URI")
            ref = env.get("LRS__STORAGE__URI", {}).get("valueFrom", {}).get("secretKeyRef")
            if not ref:
                fail(case, f"{where}: LRS__STORAGE__URI does not come from a Secret")
            elif ref["name"] in secrets and ref["key"] not in secrets[ref["name"]].get("data", {}):
                fail(case, f"{where}: the store Secret has no key {ref['key']}")
            elif ref["name"] not in secrets and ref["name"] not in expect_existing_secrets(case):
                fail(case, f"{where}: LRS__STORAGE__URI names an unknown Secret {ref['name']}")
            ref = env.get("LRS__DASHBOARD__SESSION_SECRET", {}).get("valueFrom", {}).get("secretKeyRef")
            if not ref:
                fail(case, f"{where}: LRS__DASHBOARD__SESSION_SECRET does not come from a Secret")
            elif ref["name"] in secrets:
                key = secrets[ref["name"]].get("data", {}).get(ref["key"])
                if not key or len(base64.b64decode(key)) < 32:
                    fail(case, f"{where}: the dashboard session key {ref['key']} is missing or short")
            elif ref["name"] not in expect_existing_secrets(case):
                fail(case, f"{where}: LRS__DASHBOARD__SESSION_SECRET names an unknown Secret {ref['name']}")
            shutdown = int(env.get("LRS__SERVER__SHUTDOWN_TIMEOUT_SECONDS", {}).get("value", 30))
            if pod.get("terminationGracePeriodSeconds", 30) <= shutdown:
                fail(case, f"{name}: terminationGracePeriodSeconds is not above the shutdown timeout")
            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            for m in mounts.values():
                if m["name"] not in volumes:
                    fail(case, f"{where}: mount {m['mountPath']} names no volume")
            data = mounts.get("/var/lib/lrs")
            if not data or "emptyDir" not in volumes.get(data["name"], {}):
                fail(case, f"{where}: the data dir /var/lib/lrs is not an emptyDir")
            if "/tmp" not in mounts:
                fail(case, f"{where}: no writable /tmp")
            config = mounts.get("/etc/lrs/lrs.toml")
            cm_name = volumes.get(config["name"], {}).get("configMap", {}).get("name") if config else None
            if cm_name not in configmaps:
                fail(case, f"{where}: /etc/lrs/lrs.toml is not mounted from the chart's ConfigMap")
            if expect.get("credentials") and "/var/lib/lrs/credentials.json" not in mounts:
                fail(case, f"{where}: credentials.json is not mounted into the data dir")
            if expect.get("jwt") and "/etc/lrs/jwt" not in mounts:
                fail(case, f"{where}: the JWT keys are not mounted at /etc/lrs/jwt")
        hpa_targets = {h["spec"]["scaleTargetRef"]["name"]
                       for h in by_kind.get("HorizontalPodAutoscaler", [])}
        if name in hpa_targets and "replicas" in spec:
            fail(case, f"{name}: has both an HPA and a fixed replicas count")
    check_migrate_job(case, by_kind, deployments, secrets, configmaps, expect)
    if roles_seen != set(ROLES):
        fail(case, f"Deployments for roles {sorted(r for r in roles_seen if r)}, expected {ROLES}")

    pod_label_sets = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    for name, svc in services.items():
        if not any(labels_match(svc["spec"]["selector"], l) for l in pod_label_sets):
            fail(case, f"Service {name}: selects no Deployment's pods")
        if "http" not in [p.get("name") for p in svc["spec"]["ports"]]:
            fail(case, f"Service {name}: no port named http (the ServiceMonitor scrapes it)")
    for role in ("api", "query"):
        if not any(s["metadata"]["labels"].get("app.kubernetes.io/component") == role
                   for s in services.values()):
            fail(case, f"no Service for {role}")
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        target = hpa["spec"]["scaleTargetRef"]["name"]
        if target not in deployments:
            fail(case, f"HPA {hpa['metadata']['name']}: targets unknown Deployment {target}")
        if hpa["spec"]["minReplicas"] > hpa["spec"]["maxReplicas"]:
            fail(case, f"HPA {hpa['metadata']['name']}: minReplicas > maxReplicas")
        cpu = [m for m in hpa["spec"]["metrics"] if m["resource"]["name"] == "cpu"]
        if not cpu:
            fail(case, f"HPA {hpa['metadata']['name']}: no CPU target")
    for pdb in by_kind.get("PodDisruptionBudget", []):
        if not any(labels_match(pdb["spec"]["selector"]["matchLabels"], l) for l in pod_label_sets):
            fail(case, f"PDB {pdb['metadata']['name']}: selects no Deployment's pods")
        if ("minAvailable" in pdb["spec"]) == ("maxUnavailable" in pdb["spec"]):
            fail(case, f"PDB {pdb['metadata']['name']}: needs exactly one of minAvailable/maxUnavailable")
    for sm in by_kind.get("ServiceMonitor", []):
        endpoints = sm["spec"]["endpoints"]
        if not any(e.get("port") == "http" and e.get("path") == "/metrics" for e in endpoints):
            fail(case, "ServiceMonitor does not scrape /metrics on the http port")
        if not any(labels_match(sm["spec"]["selector"]["matchLabels"], s["metadata"]["labels"])
                   for s in services.values()):
            fail(case, "ServiceMonitor selects no Service")
    for ing in by_kind.get("Ingress", []):
        for rule in ing["spec"]["rules"]:
            for p in rule["http"]["paths"]:
                backend = p["backend"]["service"]["name"]
                if backend not in services:
                    fail(case, f"Ingress: backend Service {backend} is not rendered")
    for cm in configmaps.values():
        text = cm["data"]["lrs.toml"]
        try:
            parsed = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            fail(case, f"lrs.toml does not parse: {e}")
            continue
        unknown = set(parsed) - CONFIG_SECTIONS
        if unknown:
            fail(case, f"lrs.toml has unknown sections {sorted(unknown)}")
        issuers = parsed.get("auth", {}).get("jwt", [])
        if len(issuers) != expect.get("jwt_issuers", 0):
            fail(case, f"lrs.toml has {len(issuers)} [[auth.jwt]], expected {expect.get('jwt_issuers', 0)}")
        for issuer in issuers:
            if not issuer.get("key_file", "").startswith("/etc/lrs/jwt/"):
                fail(case, f"[[auth.jwt]] {issuer.get('issuer')}: key_file is not under /etc/lrs/jwt")


def check_migrate_job(case, by_kind, deployments, secrets, configmaps, expect):
    """The `lrs migrate` Job creates the schema; the roles then only require it."""
    jobs = by_kind.get("Job", [])
    for job in jobs:
        name = job["metadata"]["name"]
        pod = job["spec"]["template"]["spec"]
        if pod.get("restartPolicy") not in ("OnFailure", "Never"):
            fail(case, f"Job {name}: restartPolicy is not OnFailure or Never")
        if pod.get("securityContext", {}).get("runAsNonRoot") is not True:
            fail(case, f"Job {name}: pod securityContext.runAsNonRoot is not true")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            args = c.get("args", [])
            if args != ["migrate", "--config", "/etc/lrs/lrs.toml"]:
                fail(case, f"Job {name}: args {args} are not `migrate --config /etc/lrs/lrs.toml`")
            ref = env_of(c).get("LRS__STORAGE__URI", {}).get("valueFrom", {}).get("secretKeyRef")
            if not ref:
                fail(case, f"Job {name}: LRS__STORAGE__URI does not come from a Secret")
            elif ref["name"] not in secrets and ref["name"] not in expect_existing_secrets(case):
                fail(case, f"Job {name}: LRS__STORAGE__URI names an unknown Secret {ref['name']}")
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True or sc.get("allowPrivilegeEscalation") is not False:
                fail(case, f"Job {name}: the container's securityContext is not locked down")
            for section in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in c.get("resources", {}).get(section, {}):
                        fail(case, f"Job {name}: no resources.{section}.{resource}")
            mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
            config = mounts.get("/etc/lrs/lrs.toml")
            cm_name = volumes.get(config["name"], {}).get("configMap", {}).get("name") if config else None
            if cm_name not in configmaps:
                fail(case, f"Job {name}: /etc/lrs/lrs.toml is not mounted from the chart's ConfigMap")
    for name, dep in deployments.items():
        for c in dep["spec"]["template"]["spec"]["containers"]:
            apply = env_of(c).get("LRS__STORAGE__APPLY_SCHEMA", {}).get("value")
            if jobs and apply != "false":
                fail(case, f"{name}: the migrate Job runs, but the role still applies the schema")
            if not jobs and apply is not None:
                fail(case, f"{name}: no migrate Job, but the role does not apply the schema")


EXISTING = {}


def expect_existing_secrets(case):
    return EXISTING.get(case, set())


def run_case(case, values_file, expect):
    print(f"== helm-lint: {case} ({values_file or 'values.yaml'})")
    values = None
    if values_file:
        with open(values_file) as f:
            values = yaml.safe_load(f)
        EXISTING[case] = {values.get(k, {}).get("existingSecret") for k in ("storage", "credentials", "jwt", "dashboard")} - {None, ""}
    lint(case, values)
    try:
        manifests = render(values)
    except helm.HelmError as e:
        fail(case, f"helm template failed: {e}")
        return
    target = os.path.join(out_dir, f"{case}.yaml")
    with open(target, "w") as f:
        for path in sorted(manifests):
            if not path.endswith("NOTES.txt") and manifests[path].strip():
                f.write(f"---\n# Source: {path}\n{manifests[path].strip()}\n")
    print(f"   helm template: {len(manifests)} templates -> {target}")
    notes = [p for p in manifests if p.endswith("NOTES.txt")]
    if not notes or not manifests[notes[0]].strip():
        fail(case, "NOTES.txt renders empty")
    objects = objects_of(manifests)
    validate_schemas(case, objects)
    check_rendered(case, objects, expect)


def refused(case, values, why):
    try:
        render(values)
    except helm.HelmError as e:
        message = str(e)
        if why in message:
            print(f"   refused as expected: {why}")
            return
        fail(case, f"refused, but not for {why!r}: {message}")
        return
    fail(case, f"rendered although {why!r} should refuse it")


run_case("defaults", None, {
    "Deployment": 3, "Service": 3, "PodDisruptionBudget": 3, "HorizontalPodAutoscaler": 0,
    "ServiceMonitor": 0, "Ingress": 0, "ConfigMap": 1, "Secret": 1, "ServiceAccount": 1,
    "Job": 1,
})
run_case("all-on", os.path.join(chart_dir, "ci", "all-on-values.yaml"), {
    "Deployment": 3, "Service": 3, "PodDisruptionBudget": 3, "HorizontalPodAutoscaler": 2,
    "ServiceMonitor": 1, "Ingress": 1, "ConfigMap": 1, "Secret": 0, "ServiceAccount": 1,
    "Job": 1, "credentials": True, "jwt": True, "jwt_issuers": 2,
})

print("== helm-lint: values the chart must refuse")
refused("guards", {"log": {"uri": "file://"}}, "'/log/uri': 'file://' does not match pattern")
refused("guards", {"apii": {"replicas": 3}}, "additional properties 'apii' not allowed")
refused("guards", {"api": {"replicas": "two"}}, "'/api/replicas': got string, want integer")
refused("guards", {"storage": {"uri": "file://"}}, "storage.uri must be a postgres:// or scylla:// URI")
refused("guards", {"log": {"uri": "kafka://k:9092/t?partitions=2"}, "ingest": {"replicas": 3}},
        "exceeds the topic's partitions")
refused("guards", {"dashboard": {"sessionSecret": "too short"}}, "'/dashboard/sessionSecret'")
refused("guards", {"jwt": {"issuers": [{"issuer": "i", "audience": "a", "keyFile": "k.pem"}]}},
        "jwt.issuers needs the public keys")

print("== helm-lint: migrate.enabled = false (every role applies the schema itself)")
off = objects_of(render({"migrate": {"enabled": False}}))
if any(obj["kind"] == "Job" for _, obj in off):
    fail("migrate-off", "a Job is rendered with migrate.enabled = false")
check_migrate_job("migrate-off", {"Job": []},
                  {obj["metadata"]["name"]: obj for _, obj in off if obj["kind"] == "Deployment"},
                  {}, {}, {})
print(f"   {sum(1 for _, o in off if o['kind'] == 'Deployment')} Deployments, no Job")

print("== helm-lint: deploy/compose.yaml (no container engine here: parsed, not run)")
with open("deploy/compose.yaml") as f:
    compose = yaml.safe_load(f)
services = compose.get("services", {})
for role in ROLES:
    command = services.get(f"lrs-{role}", {}).get("command", [])
    if command[-2:] != ["--services", role]:
        fail("compose", f"service lrs-{role} does not run `serve --services {role}`")
    if not services.get(f"lrs-{role}", {}).get("healthcheck"):
        fail("compose", f"service lrs-{role} has no healthcheck")
print(f"   {len(services)} services: {', '.join(services)}")

if failures:
    print(f"== helm-lint: {len(failures)} failed")
    for f in failures:
        print(f"   {f}")
    sys.exit(1)
print("== helm-lint: all checks passed")
PY
if [ "$status" -ne 0 ]; then
  trap - EXIT
  echo "helm-lint: failed; rendered manifests kept in $out" >&2
fi
exit "$status"
