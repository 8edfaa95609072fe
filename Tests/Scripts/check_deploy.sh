#!/usr/bin/env bash
# Validates deploy/ (Prometheus config, rules and their unit tests, Grafana dashboards and
# provisioning, OpenTelemetry Collector config, docker-compose.yml) without Docker or a network.
#
#   bash Tests/Scripts/check_deploy.sh        (from the repository root)
#
# Needs promtool (Debian: apt-get install prometheus; only the promtool binary is used) and
# python3 with PyYAML (pip install pyyaml). Exits non-zero with a message on the first failing step.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd)

fail() {
  echo "check_deploy: FAILED: $*" >&2
  exit 1
}
step() { echo "== $*"; }

command -v promtool >/dev/null || fail "promtool not found (Debian: apt-get install prometheus; stop the service it may start)"
command -v python3 >/dev/null || fail "python3 not found"
python3 -c 'import yaml' 2>/dev/null || fail "PyYAML not found: pip install pyyaml (Debian: apt-get install python3-yaml)"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

run() { # run DESCRIPTION COMMAND...: show the command's output only when it fails
  local what=$1
  shift
  if ! "$@" >"$TMP/out" 2>&1; then
    cat "$TMP/out" >&2
    fail "$what"
  fi
}

echo "promtool: $(promtool --version 2>&1 | head -n 1)"

# ---- Prometheus --------------------------------------------------------------------------------
rule_files=(deploy/prometheus/rules/*.yml)
test_files=(deploy/prometheus/tests/*.yml)
[ -e "${rule_files[0]}" ] || fail "no rule files in deploy/prometheus/rules/"
[ -e "${test_files[0]}" ] || fail "no rule tests in deploy/prometheus/tests/"

step "promtool check config deploy/prometheus/prometheus.yml"
run "promtool check config deploy/prometheus/prometheus.yml" promtool check config deploy/prometheus/prometheus.yml
grep -q "SUCCESS: ${#rule_files[@]} rule files found" "$TMP/out" ||
  { cat "$TMP/out" >&2; fail "prometheus.yml's rule_files do not find the ${#rule_files[@]} files of deploy/prometheus/rules/"; }

step "promtool check rules ${rule_files[*]}"
run "promtool check rules" promtool check rules "${rule_files[@]}"

step "promtool test rules ${test_files[*]}"
run "promtool test rules (unit tests of the alerts and recording rules)" promtool test rules "${test_files[@]}"

# ---- Static checks of every file, and the PromQL of dashboards and rules -------------------------
step "dashboards, rule coverage, metric names, docker-compose, OpenTelemetry Collector, Grafana provisioning"
python3 Tests/Scripts/dashboard_expressions.py --with-source >"$TMP/expressions.json" ||
  fail "Tests/Scripts/dashboard_expressions.py failed"

python3 - "$ROOT" "$TMP" <<'PY' || fail "static checks (see the messages above)"
import glob, json, os, re, sys
import yaml

root, tmp = sys.argv[1], sys.argv[2]
os.chdir(root)
errors = []
def error(message):
    errors.append(message)

def load_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except (OSError, yaml.YAMLError) as e:
        error(f"{path}: not valid YAML: {e}")
        return None

# -- the metric contract: names in the table of docs/metrics.md ----------------------------------
documented = set()
with open("docs/metrics.md", encoding="utf-8") as f:
    for line in f:
        m = re.match(r"\|\s*`([a-z_:][a-z0-9_:]*)`\s*\|", line)
        if m:
            documented.add(m.group(1))
if not documented:
    error("docs/metrics.md: found no metric table")

# -- rules: names, and unit-test coverage ---------------------------------------------------------
records, alerts = set(), set()
for path in sorted(glob.glob("deploy/prometheus/rules/*.yml")):
    doc = load_yaml(path) or {}
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            if "record" in rule:
                name = rule["record"]
                records.add(name)
                if not re.fullmatch(r"dalston:[a-z0-9_]+:[a-z0-9_]+", name):
                    error(f"{path}: recording rule {name} is not named dalston:<what>:<operation><window>")
            if "alert" in rule:
                alerts.add(rule["alert"])
                labels, annotations = rule.get("labels") or {}, rule.get("annotations") or {}
                if labels.get("severity") not in ("critical", "warning", "info"):
                    error(f"{path}: alert {rule['alert']} has no severity label (critical, warning or info)")
                for key in ("summary", "description", "runbook"):
                    if not annotations.get(key):
                        error(f"{path}: alert {rule['alert']} has no {key} annotation")
                if "engine_id" in rule["expr"] and "by (engine_id)" in rule["expr"]:
                    if "$labels.engine_id" not in annotations.get("summary", "") + annotations.get("description", ""):
                        error(f"{path}: alert {rule['alert']} is per engine but its summary/description do not name {{{{ $labels.engine_id }}}}")

fires, quiet, tested_exprs = set(), set(), []
for path in sorted(glob.glob("deploy/prometheus/tests/*.yml")):
    doc = load_yaml(path) or {}
    for test in doc.get("tests") or []:
        for case in test.get("alert_rule_test") or []:
            (fires if case.get("exp_alerts") else quiet).add(case.get("alertname"))
        for case in test.get("promql_expr_test") or []:
            tested_exprs.append(case.get("expr", ""))
for alert in sorted(alerts):
    if alert not in fires:
        error(f"deploy/prometheus/tests: no test where alert {alert} fires")
    if alert not in quiet:
        error(f"deploy/prometheus/tests: no test where alert {alert} does not fire")
for record in sorted(records):
    if not any(re.search(re.escape(record) + r"(?![a-z0-9_:])", e) for e in tested_exprs):
        error(f"deploy/prometheus/tests: recording rule {record} has no promql_expr_test")

# -- dashboards ----------------------------------------------------------------------------------
def panels_of(panels):
    for p in panels or []:
        yield p
        yield from panels_of(p.get("panels"))

BUILTIN_VARIABLES = {"__interval", "__interval_ms", "__rate_interval", "__range", "__range_s", "__range_ms",
                     "__from", "__to", "__name", "__dashboard", "__org", "__user", "__all"}
dashboards, uids, variable_queries = {}, {}, []
for path in sorted(glob.glob("deploy/grafana/dashboards/*.json")):
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        error(f"{path}: not valid JSON: {e}")
        continue
    dashboards[os.path.basename(path)] = d
    uid = d.get("uid")
    if not uid or not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid):
        error(f"{path}: missing or invalid uid {uid!r}")
    elif uid in uids:
        error(f"{path}: uid {uid} is also the uid of {uids[uid]}")
    else:
        uids[uid] = path
    if not d.get("title"):
        error(f"{path}: no title")
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
        error(f"{path}: schemaVersion {d.get('schemaVersion')!r}, expected 36 or later")
    variables = {v.get("name"): v for v in (d.get("templating") or {}).get("list") or []}
    ds_var = variables.get("datasource")
    if not ds_var or ds_var.get("type") != "datasource" or ds_var.get("query") != "prometheus":
        error(f"{path}: no Prometheus data source variable named `datasource`")
    for v in variables.values():
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            variable_queries.append((f"{path}: variable ${v.get('name')}", q or ""))
    ids = {}
    for p in panels_of(d.get("panels")):
        pid, title = p.get("id"), p.get("title", "")
        if not isinstance(pid, int):
            error(f"{path}: panel {title!r} has no integer id")
        elif pid in ids:
            error(f"{path}: panel id {pid} used by {ids[pid]!r} and {title!r}")
        else:
            ids[pid] = title
        if p.get("type") == "row":
            continue
        if not p.get("targets"):
            error(f"{path}: panel {pid} {title!r} has no targets")
        for obj, what in [(p, "panel")] + [(t, f"target {t.get('refId')}") for t in p.get("targets") or []]:
            ds = obj.get("datasource") or {}
            if ds.get("uid") != "${datasource}":
                error(f"{path}: panel {pid} {title!r} {what}: datasource uid is {ds.get('uid')!r}, not ${{datasource}}")
        for t in p.get("targets") or []:
            for m in re.finditer(r"\$\{?([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)\]\]", t.get("expr", "")):
                name = m.group(1) or m.group(2)
                if name not in variables and name not in BUILTIN_VARIABLES:
                    error(f"{path}: panel {pid} {title!r} uses ${name}, which is no variable of the dashboard")

overview = dashboards.get("dalston-overview.json")
if overview is None:
    error("deploy/grafana/dashboards/dalston-overview.json is missing")
else:
    if overview.get("title") != "Dalston Overview":
        error("dalston-overview.json: title is not \"Dalston Overview\"")
    rows = [p.get("title") for p in overview.get("panels") or [] if p.get("type") == "row"]
    for row in ("Request overview", "Batch pipeline", "Engine performance", "System health"):
        if row not in rows:
            error(f"dalston-overview.json: no row {row!r} (rows: {rows})")
    names = {v.get("name") for v in (overview.get("templating") or {}).get("list") or []}
    for name in ("datasource", "service", "engine_id", "interval"):
        if name not in names:
            error(f"dalston-overview.json: no template variable ${name}")
for name in ("dalston-engines-queues.json", "dalston-gateway.json"):
    if name not in dashboards:
        error(f"deploy/grafana/dashboards/{name} is missing")

# -- metric names and recording rules used ------------------------------------------------------
with open(os.path.join(tmp, "expressions.json"), encoding="utf-8") as f:
    expressions = json.load(f)
if not expressions:
    error("dashboard_expressions.py found no expressions")
METRIC = re.compile(r"(?<![A-Za-z0-9_:])((?:dalston|process)_[a-z0-9_]+)")
RECORDED = re.compile(r"(?<![A-Za-z0-9_:])(dalston:[a-z0-9_]+:[a-z0-9_]+)")
for source, expr in [(e["source"], e["expr"]) for e in expressions] + variable_queries:
    for name in METRIC.findall(expr):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in documented and base not in documented:
            error(f"{source}: metric {name} is not in docs/metrics.md")
    for name in RECORDED.findall(expr):
        if name not in records:
            error(f"{source}: {name} is no recording rule of deploy/prometheus/rules/")
for e in expressions:
    if "$" in e["expr"] or "[[" in e["expr"]:
        error(f"{e['source']}: template variable left in the expression: {e['expr']}")

# Every expression as a recording rule, for `promtool check rules` to parse.
with open(os.path.join(tmp, "parse.yml"), "w", encoding="utf-8") as f:
    yaml.safe_dump({"groups": [{"name": "parse-check", "rules": [
        {"record": f"check:expr_{i}", "expr": e["expr"]} for i, e in enumerate(expressions)]}]}, f, sort_keys=False)
with open(os.path.join(tmp, "sources.json"), "w", encoding="utf-8") as f:
    json.dump(expressions, f)

# -- docker-compose.yml ---------------------------------------------------------------------------
compose_path = "deploy/docker-compose.yml"
compose = load_yaml(compose_path) or {}
services = compose.get("services") or {}
DALSTON = {
    "gateway": ["gateway"],
    "orchestrator": ["orchestrator"],
    "engine-audio-prepare": ["engine", "audio-prepare"],
    "engine-faster-whisper": ["engine", "faster-whisper"],
    "engine-transcribe": ["engine", "transcribe"],
    "engine-diarize": ["engine", "diarize"],
    "engine-merge": ["engine", "merge"],
    "realtime-worker": ["realtime-worker"],
}
OTHERS = {"redis": "redis:", "otel-collector": "otel/opentelemetry-collector-contrib", "jaeger": "jaegertracing/all-in-one",
          "prometheus": "prom/prometheus", "grafana": "grafana/grafana", "minio": "minio/minio", "minio-bucket": "minio/mc"}
for name in list(DALSTON) + list(OTHERS):
    if name not in services:
        error(f"{compose_path}: no service {name}")
for name, image in OTHERS.items():
    if name in services and not str(services[name].get("image", "")).startswith(image):
        error(f"{compose_path}: service {name} should run {image}…, not {services[name].get('image')!r}")
declared_volumes = set((compose.get("volumes") or {}).keys())
mounts = {}  # service -> {container path: host path}
deploy_dir = os.path.realpath("deploy")
for name, service in services.items():
    service = service or {}
    depends = service.get("depends_on") or []
    for dep in (depends if isinstance(depends, list) else list(depends)):
        if dep not in services:
            error(f"{compose_path}: {name} depends on unknown service {dep}")
    build = service.get("build")
    if build:
        context = build if isinstance(build, str) else build.get("context", ".")
        context_dir = os.path.normpath(os.path.join("deploy", context))
        dockerfile = os.path.join(context_dir, "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
        if not os.path.isdir(context_dir):
            error(f"{compose_path}: {name}: build context {context} does not exist")
        if not os.path.isfile(dockerfile):
            error(f"{compose_path}: {name}: Dockerfile {dockerfile} does not exist")
    mounts[name] = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            source, target = volume.get("source", ""), volume.get("target", "")
        else:
            parts = str(volume).split(":")
            source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
        if source.startswith((".", "/")):
            host = os.path.realpath(os.path.join("deploy", source))
            if not (host == deploy_dir or host.startswith(deploy_dir + os.sep)):
                error(f"{compose_path}: {name} mounts {source}, which is outside deploy/")
            elif not os.path.exists(host):
                error(f"{compose_path}: {name} mounts {source}, which does not exist in deploy/")
            mounts[name][target] = os.path.relpath(host, root)
        elif source and source not in declared_volumes:
            error(f"{compose_path}: {name} uses volume {source}, which is not declared under volumes:")

def env_of(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}

ports = {}
for name, command in DALSTON.items():
    service = services.get(name) or {}
    if not service:
        continue
    if service.get("command") != command:
        error(f"{compose_path}: {name} should run `dalston {' '.join(command)}`, its command is {service.get('command')!r}")
    if not service.get("build") and not service.get("image"):
        error(f"{compose_path}: {name} has neither build nor image")
    # No shared disk: artifacts are objects in the bucket; /data is each container's own scratch.
    if any(":/data" in str(v) for v in service.get("volumes") or []):
        error(f"{compose_path}: {name} mounts a volume at /data; artifacts belong in the object store, not a shared disk")
    env = env_of(service)
    expected = {"DALSTON_DATA_DIR": "/data", "REDIS_URL": "redis://redis:6379/0", "LOG_FORMAT": "json",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318", "DALSTON_S3_ENDPOINT": "http://minio:9000"}
    if not env.get("DALSTON_ARTIFACTS_URL", "").startswith("s3://dalston"):
        error(f"{compose_path}: {name}: DALSTON_ARTIFACTS_URL should name the bucket minio-bucket makes (s3://dalston/...)")
    if not env.get("AWS_ACCESS_KEY_ID") or not env.get("AWS_SECRET_ACCESS_KEY"):
        error(f"{compose_path}: {name}: the store's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) are missing")
    dependencies = service.get("depends_on") or {}
    if "minio-bucket" not in dependencies:
        error(f"{compose_path}: {name} should wait for minio-bucket (the bucket must exist before it starts)")
    for key, value in expected.items():
        if env.get(key) != value:
            error(f"{compose_path}: {name}: {key} is {env.get(key)!r}, expected {value!r}")
    if not env.get("OTEL_SERVICE_NAME", "").startswith("dalston-"):
        error(f"{compose_path}: {name}: OTEL_SERVICE_NAME should be dalston-…")
    if name == "gateway":
        ports[name] = env.get("DALSTON_PORT", "8000")
        if env.get("DALSTON_HOST") not in ("0.0.0.0", "::"):
            error(f"{compose_path}: gateway must listen on all interfaces (DALSTON_HOST=0.0.0.0) to be reached")
    else:
        ports[name] = env.get("METRICS_PORT", "9400" if name == "orchestrator" else "9401")
    if env.get("METRICS_ENABLED", "true").lower() in ("false", "0", "no", "off"):
        error(f"{compose_path}: {name} turns metrics off")

# -- prometheus.yml targets against compose ------------------------------------------------------
prom = load_yaml("deploy/prometheus/prometheus.yml") or {}
if (prom.get("global") or {}).get("scrape_interval") != "15s":
    error("deploy/prometheus/prometheus.yml: global scrape_interval is not 15s")
scraped = set()
for job in prom.get("scrape_configs") or []:
    for sc in job.get("static_configs") or []:
        for target in sc.get("targets") or []:
            host, _, port = str(target).rpartition(":")
            scraped.add(host)
            if host not in services:
                error(f"prometheus.yml: job {job.get('job_name')} scrapes {target}, which is no docker-compose service")
            elif host in ports and ports[host] != port:
                error(f"prometheus.yml: job {job.get('job_name')} scrapes {target}, but {host} serves metrics on port {ports[host]}")
for name in DALSTON:
    if name in services and name not in scraped:
        error(f"prometheus.yml: {name} is not scraped")
pm = mounts.get("prometheus", {})
config_target = next((t for t, h in pm.items() if h == "deploy/prometheus/prometheus.yml"), None)
rules_target = next((t for t, h in pm.items() if h == "deploy/prometheus/rules"), None)
if not config_target or not rules_target:
    error(f"{compose_path}: prometheus should mount ./prometheus/prometheus.yml and ./prometheus/rules")
else:
    for pattern in prom.get("rule_files") or []:
        if os.path.dirname(os.path.join(os.path.dirname(config_target), pattern)) != rules_target.rstrip("/"):
            error(f"prometheus.yml: rule_files {pattern} does not resolve to {rules_target} inside the container")
    command = " ".join(map(str, (services.get("prometheus") or {}).get("command") or []))
    if command and f"--config.file={config_target}" not in command:
        error(f"{compose_path}: prometheus --config.file is not {config_target}")

# -- Grafana provisioning ------------------------------------------------------------------------
gm = mounts.get("grafana", {})
dash_target = next((t for t, h in gm.items() if h == "deploy/grafana/dashboards"), None)
prov_target = next((t for t, h in gm.items() if h == "deploy/grafana/provisioning"), None)
if prov_target != "/etc/grafana/provisioning":
    error(f"{compose_path}: grafana should mount ./grafana/provisioning at /etc/grafana/provisioning")
providers = (load_yaml("deploy/grafana/provisioning/dashboards/dalston.yml") or {}).get("providers") or []
paths = [(p.get("options") or {}).get("path") for p in providers]
if not dash_target or dash_target not in paths:
    error(f"grafana dashboard provider path(s) {paths} do not match the compose mount of ./grafana/dashboards ({dash_target})")
datasources = (load_yaml("deploy/grafana/provisioning/datasources/prometheus.yml") or {}).get("datasources") or []
if not any(d.get("type") == "prometheus" and "prometheus:9090" in str(d.get("url")) for d in datasources):
    error("grafana datasource provisioning: no Prometheus data source at http://prometheus:9090")

# -- OpenTelemetry Collector ---------------------------------------------------------------------
otel_path = "deploy/otel-collector/config.yaml"
otel = load_yaml(otel_path) or {}
pipelines = ((otel.get("service") or {}).get("pipelines") or {})
if "traces" not in pipelines:
    error(f"{otel_path}: no traces pipeline")
for pname, pipeline in pipelines.items():
    for kind in ("receivers", "processors", "exporters"):
        for component in (pipeline or {}).get(kind) or []:
            if component not in (otel.get(kind) or {}):
                error(f"{otel_path}: pipeline {pname} uses {kind[:-1]} {component}, which is not defined under {kind}:")
    for kind in ("receivers", "exporters"):
        if not (pipeline or {}).get(kind):
            error(f"{otel_path}: pipeline {pname} has no {kind}")
protocols = ((otel.get("receivers") or {}).get("otlp") or {}).get("protocols") or {}
if not str((protocols.get("http") or {}).get("endpoint", "")).endswith(":4318") or \
   not str((protocols.get("grpc") or {}).get("endpoint", "")).endswith(":4317"):
    error(f"{otel_path}: the otlp receiver should listen on 4318 (http) and 4317 (grpc)")
jaeger = (otel.get("exporters") or {}).get("otlp/jaeger") or {}
if str(jaeger.get("endpoint", "")).split(":")[0] not in services:
    error(f"{otel_path}: exporter otlp/jaeger points at {jaeger.get('endpoint')!r}, no docker-compose service")
om = mounts.get("otel-collector", {})
otel_target = next((t for t, h in om.items() if h == otel_path), None)
if not otel_target:
    error(f"{compose_path}: otel-collector does not mount ./otel-collector/config.yaml")
elif f"--config={otel_target}" not in " ".join(map(str, (services.get("otel-collector") or {}).get("command") or [])):
    error(f"{compose_path}: otel-collector is not started with --config={otel_target}")

for message in errors:
    print("  " + message, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"  {len(dashboards)} dashboards, {len(expressions)} expressions, {len(records)} recording rules, "
      f"{len(alerts)} alerts, {len(services)} compose services: OK")
PY

step "promtool check rules: every PromQL expression of the dashboards and rules parses"
if ! promtool check rules "$TMP/parse.yml" >"$TMP/out" 2>&1; then
  # Find which expressions fail, one at a time.
  python3 - "$TMP" <<'PY' >&2
import json, os, subprocess, sys, yaml
tmp = sys.argv[1]
for item in json.load(open(os.path.join(tmp, "sources.json"))):
    path = os.path.join(tmp, "one.yml")
    with open(path, "w") as f:
        yaml.safe_dump({"groups": [{"name": "one", "rules": [{"record": "check:expr", "expr": item["expr"]}]}]}, f)
    result = subprocess.run(["promtool", "check", "rules", path], capture_output=True, text=True)
    if result.returncode != 0:
        print(f"  {item['source']}:\n    {item['expr']}\n    {(result.stdout + result.stderr).strip().splitlines()[-1]}")
PY
  fail "PromQL that does not parse (above)"
fi

echo "check_deploy: OK"
