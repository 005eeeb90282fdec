#!/usr/bin/env bash
# Checks the Helm chart (deploy/helm/mailhook) with helm itself and against the daemon:
# `helm lint --strict` and `helm template` with the default values and with
# deploy/helm/values-production.yaml, then assertions on what they render (the workloads,
# Services, HPA, PDBs, the NetworkPolicy around the admin port, probes, security
# contexts, secrets mounted and never inlined, the optional monitoring objects only when
# enabled), and the rendered configuration is fed to `mailhook config check` with each
# pod's environment, as the pod would start.
#
#   tests/deploy/check_helm_chart.sh SOURCE_DIR MAILHOOK_BINARY
# helm comes from MAILHOOK_HELM, else from the cache scripts/setup builds it into.
set -euo pipefail
source_dir=$1
binary=$2
source "$source_dir/scripts/lib/common.sh"
helm=${MAILHOOK_HELM:-$HELM}
[ -x "$helm" ] || die "no helm at $helm: run scripts/setup (it builds helm $HELM_VERSION)"
chart=$source_dir/deploy/helm/mailhook
production=$source_dir/deploy/helm/values-production.yaml
python=python3
"$python" -c 'import yaml' 2>/dev/null || python=/usr/bin/python3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

# The Kubernetes version is fixed so that the output does not depend on helm's build.
kube=(--kube-version 1.31.0)
# helm warns on stderr that files/alerts.yml is a link (to deploy/prometheus/alerts.yml).
quiet() { grep -v 'found symbolic link in path' >&2 || true; }

helm_lint() {
  "$helm" lint --strict "${kube[@]}" "$chart" "$@" >"$work/lint.log" 2> >(quiet) ||
    { cat "$work/lint.log" >&2; return 1; }
}
helm_lint || fail "helm lint --strict (default values)"
helm_lint -f "$production" || fail "helm lint --strict (values-production.yaml)"

"$helm" template mailhook "$chart" --namespace mail "${kube[@]}" >"$work/default.yaml" 2> >(quiet) ||
  fail "helm template (default values)"
"$helm" template mailhook "$chart" --namespace mail "${kube[@]}" -f "$production" \
  >"$work/production.yaml" 2> >(quiet) || fail "helm template (values-production.yaml)"

"$python" - "$source_dir" "$binary" "$work" <<'PY' || fail "rendered chart"
import base64, os, pathlib, re, subprocess, sys, tomllib
import yaml

root, binary, work = pathlib.Path(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
problems = []
def check(ok, what):
    if not ok:
        problems.append(what)
    return ok

chart = yaml.safe_load((root / "deploy/helm/mailhook/Chart.yaml").read_text())
version = re.search(r"project\(mailhook VERSION ([0-9.]+)", (root / "CMakeLists.txt").read_text()).group(1)
check(chart["appVersion"] == version, f"Chart.yaml appVersion {chart['appVersion']} is not the daemon's {version}")
stop_timeout = int(re.search(r"^TimeoutStopSec=(\d+)", (root / "deploy/systemd/mailhook.service").read_text(), re.M).group(1))
alerts = yaml.safe_load((root / "deploy/prometheus/alerts.yml").read_text())

def port_of(address):
    return int(address.rsplit(":", 1)[1])

def load(name):
    docs = [d for d in yaml.safe_load_all((work / f"{name}.yaml").read_text()) if d]
    by = {}
    for d in docs:
        by.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    return by

def byte_size(text):
    # Kubernetes quantities (2Gi) and mailhook's sizes (1536MiB), in bytes.
    number, unit = re.fullmatch(r"([0-9]+)([A-Za-z]*)", str(text)).groups()
    units = {"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40,
             "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
    return int(number) * units[unit]

def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())

def check_render(name, production):
    objs = load(name)
    where = f"{name}:"
    full = "mailhook-mailhook" if "mailhook-mailhook" in objs.get("ConfigMap", {}) else "mailhook"
    check(not objs.get("Secret"), f"{where} the chart renders a Secret; secrets must come from existing ones")
    cm = objs.get("ConfigMap", {}).get(full)
    if not check(cm is not None, f"{where} no ConfigMap {full}"):
        return
    text = cm["data"]["mailhook.toml"]
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        check(False, f"{where} mailhook.toml is not TOML: {e}")
        return
    for secret_key in ("sasl.password", "api_key ", "bearer_tokens", "basic_auth", "secret"):
        check(secret_key not in text, f"{where} mailhook.toml holds '{secret_key.strip()}': secrets go in Secrets")
    admin_port = port_of(config["admin"]["listen"])
    monitoring_port = port_of(config["admin"]["monitoring"]["listen"])
    webhook_port = port_of(config["ingest"]["listen"])
    check(config["index"]["dir"].startswith("/var/lib/mailhook/"), f"{where} index.dir {config['index']['dir']} is not on the index volume")

    deployments = objs.get("Deployment", {})
    roles = {"ingest": {"ingest"}, "policy": {"policy"}, "sender": {"sender", "index"}}
    pods = {}
    for role, expected_roles in roles.items():
        d = deployments.get(f"{full}-{role}")
        if not check(d is not None, f"{where} no Deployment {full}-{role}"):
            continue
        w = f"{where} {role}:"
        spec = d["spec"]["template"]["spec"]
        labels = d["spec"]["template"]["metadata"]["labels"]
        check(matches(d["spec"]["selector"]["matchLabels"], labels), f"{w} selector does not match its pods")
        pods[role] = (labels, spec)
        (c,) = spec["containers"]
        check(c["image"] == f"mailhook:{chart['appVersion']}", f"{w} image {c['image']}")
        env = {e["name"]: e for e in c.get("env", [])}
        got = set(env.get("MAILHOOK_ROLES", {}).get("value", "").split(","))
        check(got == expected_roles, f"{w} MAILHOOK_ROLES {sorted(got)}, expected {sorted(expected_roles)}")
        for e in c.get("env", []):
            if re.search(r"PASSWORD|KEY|TOKEN|BASIC_AUTH|SECRET", e["name"]):
                check("value" not in e and "secretKeyRef" in e.get("valueFrom", {}),
                      f"{w} {e['name']} is not taken from a Secret")
        # Security context: non-root, read-only root, no escalation, no capabilities.
        psc, sc = spec.get("securityContext", {}), c.get("securityContext", {})
        check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) != 0, f"{w} pod may run as root")
        check(sc.get("readOnlyRootFilesystem") is True, f"{w} root file system is writable")
        check(sc.get("allowPrivilegeEscalation") is False, f"{w} privilege escalation allowed")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{w} capabilities not all dropped")
        check(sc.get("privileged") in (None, False), f"{w} privileged")
        check(spec.get("automountServiceAccountToken") is False, f"{w} mounts a service account token")
        # The drain: as long as the systemd unit gives it.
        check(spec.get("terminationGracePeriodSeconds", 30) >= stop_timeout,
              f"{w} terminationGracePeriodSeconds {spec.get('terminationGracePeriodSeconds')} < {stop_timeout} (TimeoutStopSec)")
        # Probes on the monitoring listener.
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        check(ports.get("admin") == admin_port, f"{w} admin containerPort {ports.get('admin')} != admin.listen {admin_port}")
        check(ports.get("monitoring") == monitoring_port, f"{w} monitoring containerPort != admin.monitoring.listen")
        if role == "ingest":
            check(ports.get("webhook") == webhook_port, f"{w} webhook containerPort != ingest.listen")
        for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = c.get(probe, {}).get("httpGet", {})
            port = get.get("port")
            port = ports.get(port, port)
            check(get.get("path") == path and port == monitoring_port,
                  f"{w} {probe} is {get.get('path')} on {port}, expected {path} on {monitoring_port}")
        # Volumes: the configuration from the ConfigMap; the index on its own volume;
        # secrets from Secrets only.
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        config_mount = c["args"][c["args"].index("--config") + 1]
        cm_volume = volumes.get(mounts.get(os.path.dirname(config_mount), ""), {})
        check(cm_volume.get("configMap", {}).get("name") == full, f"{w} --config {config_mount} is not the ConfigMap")
        if role != "ingest":
            volume = volumes.get(mounts.get("/var/lib/mailhook", ""), {})
            check("emptyDir" in volume or "persistentVolumeClaim" in volume, f"{w} no volume for the index at /var/lib/mailhook")
        if role in ("policy", "sender"):
            # The replica stops writing (index.max_disk) before its emptyDir's sizeLimit
            # gets the pod evicted.
            limit = volume.get("emptyDir", {}).get("sizeLimit")
            max_disk = env.get("MAILHOOK_INDEX__MAX_DISK", {}).get("value")
            if limit is not None and check(max_disk is not None, f"{w} no index.max_disk under sizeLimit {limit}"):
                check(byte_size(max_disk) < byte_size(limit),
                      f"{w} index.max_disk {max_disk} is not under the volume's sizeLimit {limit}")
        for v in volumes.values():
            check(not set(v) & {"hostPath"}, f"{w} volume {v['name']} is a hostPath")
        has_api_keys = any("projected" in v for v in volumes.values())
        check(has_api_keys == (role == "sender" and bool(config["integrations"])),
              f"{w} SendGrid API keys mounted: {has_api_keys}")
        pods[role] = (labels, spec, env, volumes, mounts)

    # Services: the webhook to ingest, the admin API to the pods with an index.
    services = objs.get("Service", {})
    for svc, role, port in ((f"{full}-ingest", "ingest", "webhook"), (f"{full}-admin", "sender", "admin")):
        s = services.get(svc)
        if check(s is not None, f"{where} no Service {svc}") and role in pods:
            check(matches(s["spec"]["selector"], pods[role][0]), f"{where} Service {svc} does not select the {role} pods")
            check([p["targetPort"] for p in s["spec"]["ports"]] == [port], f"{where} Service {svc} targets {s['spec']['ports']}")
            others = [r for r in pods if r != role and matches(s["spec"]["selector"], pods[r][0])]
            check(not others, f"{where} Service {svc} also selects {others}")

    # The report (production values enable it): a StatefulSet whose store is on a volume
    # of its own that outlives the pod, behind a Service of its own for /v1/reports.
    report = objs.get("StatefulSet", {}).get(f"{full}-report")
    if production and check(report is not None, f"{where} no StatefulSet {full}-report"):
        w = f"{where} report:"
        spec = report["spec"]["template"]["spec"]
        labels = report["spec"]["template"]["metadata"]["labels"]
        (c,) = spec["containers"]
        env = {e["name"]: e for e in c.get("env", [])}
        check(env.get("MAILHOOK_ROLES", {}).get("value") == "report", f"{w} MAILHOOK_ROLES {env.get('MAILHOOK_ROLES')}")
        check(config["report"]["dir"].startswith("/var/lib/mailhook/"), f"{w} report.dir {config['report']['dir']} is not on its volume")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        claims = [t["metadata"]["name"] for t in report["spec"].get("volumeClaimTemplates", [])]
        check(mounts.get("/var/lib/mailhook") in claims, f"{w} /var/lib/mailhook is not a persistent volume claim")
        check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", f"{w} no /readyz probe")
        s = services.get(f"{full}-report")
        if check(s is not None, f"{where} no Service {full}-report"):
            check(matches(s["spec"]["selector"], labels), f"{where} Service {full}-report does not select the report pods")
            others = [r for r in pods if matches(s["spec"]["selector"], pods[r][0])]
            check(not others, f"{where} Service {full}-report also selects {others}")
        check(f"{full}-report" in config["admin"]["allowed_hosts"], f"{where} the report Service's name is not an allowed Host")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        pods["report"] = (labels, spec, env, volumes, mounts)
    check(production or report is None, f"{where} the report runs though report.enabled is false")

    # The deduplicator (production values enable it): its window store on an emptyDir.
    dedup = deployments.get(f"{full}-dedup")
    if production and check(dedup is not None, f"{where} no Deployment {full}-dedup"):
        w = f"{where} dedup:"
        spec = dedup["spec"]["template"]["spec"]
        (c,) = spec["containers"]
        env = {e["name"]: e for e in c.get("env", [])}
        check(env.get("MAILHOOK_ROLES", {}).get("value") == "dedup", f"{w} MAILHOOK_ROLES {env.get('MAILHOOK_ROLES')}")
        check(config["dedup"]["dir"].startswith("/var/lib/mailhook/"), f"{w} dedup.dir {config['dedup']['dir']} is not on its volume")
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        check("emptyDir" in volumes.get(mounts.get("/var/lib/mailhook", ""), {}), f"{w} no emptyDir at /var/lib/mailhook")
        check(matches(dedup["spec"]["selector"]["matchLabels"], dedup["spec"]["template"]["metadata"]["labels"]),
              f"{w} selector does not match its pods")
        p = objs.get("PodDisruptionBudget", {}).get(f"{full}-dedup")
        check(p is not None and matches(p["spec"]["selector"]["matchLabels"], dedup["spec"]["template"]["metadata"]["labels"]),
              f"{w} no PodDisruptionBudget selecting its pods")
        pods["dedup"] = (dedup["spec"]["template"]["metadata"]["labels"], spec, env, volumes, mounts)
    check(production or dedup is None, f"{where} the dedup role runs though dedup.enabled is false")

    # PodDisruptionBudgets, one per role.
    pdbs = objs.get("PodDisruptionBudget", {})
    for role in roles:
        p = pdbs.get(f"{full}-{role}")  # not the report: one pod with its own volume
        if check(p is not None, f"{where} no PodDisruptionBudget for {role}") and role in pods:
            check(p["apiVersion"] == "policy/v1", f"{where} PDB {role} is {p['apiVersion']}")
            check(matches(p["spec"]["selector"]["matchLabels"], pods[role][0]), f"{where} PDB {role} selects no {role} pod")

    # The NetworkPolicy: the admin port only from the labelled pods.
    (np,) = objs.get("NetworkPolicy", {}).values() or [None]
    if check(np is not None, f"{where} no NetworkPolicy"):
        for role, pod in pods.items():
            check(matches(np["spec"]["podSelector"]["matchLabels"], pod[0]), f"{where} NetworkPolicy does not cover {role}")
        check("Ingress" in np["spec"]["policyTypes"], f"{where} NetworkPolicy has no Ingress type")
        open_ports, admin_from, monitoring_from = set(), [], []
        for rule in np["spec"].get("ingress", []):
            ports = {p.get("port") for p in rule.get("ports", [])}
            check(bool(ports), f"{where} NetworkPolicy rule {rule} opens every port")
            if not rule.get("from"):
                open_ports |= ports
            if admin_port in ports:
                admin_from += rule.get("from", [])
            if monitoring_port in ports:
                monitoring_from += rule.get("from", [])
        check(webhook_port in open_ports, f"{where} NetworkPolicy: webhook port {webhook_port} not open")
        check(admin_port not in open_ports, f"{where} NetworkPolicy: admin port {admin_port} open to all")
        check(bool(admin_from) and all(f.get("podSelector", {}).get("matchLabels") for f in admin_from),
              f"{where} NetworkPolicy: admin port not limited to labelled pods: {admin_from}")
        check(bool(monitoring_from) and all(f.get("namespaceSelector", {}).get("matchLabels") for f in monitoring_from),
              f"{where} NetworkPolicy: monitoring port not limited to the monitoring namespace")

    # Autoscaling and the Prometheus Operator's objects: only when enabled.
    hpa = objs.get("HorizontalPodAutoscaler", {}).get(f"{full}-ingest")
    sm = objs.get("ServiceMonitor", {}).get(full)
    rule = objs.get("PrometheusRule", {}).get(full)
    check((hpa is not None) == production, f"{where} HorizontalPodAutoscaler rendered: {hpa is not None}")
    check((sm is not None) == production, f"{where} ServiceMonitor rendered: {sm is not None}")
    check((rule is not None) == production, f"{where} PrometheusRule rendered: {rule is not None}")
    if hpa:
        check(hpa["apiVersion"] == "autosc" "aling/v2", f"{where} HPA is {hpa['apiVersion']}")
        check(hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": f"{full}-ingest"},
              f"{where} HPA targets {hpa['spec']['scaleTargetRef']}")
        check(hpa["spec"]["minReplicas"] >= 2, f"{where} HPA minReplicas {hpa['spec']['minReplicas']}")
        check("replicas" not in deployments[f"{full}-ingest"]["spec"], f"{where} ingest sets replicas under an HPA")
    if sm:
        metrics = services.get(f"{full}-metrics", {})
        check(matches(sm["spec"]["selector"]["matchLabels"], metrics.get("metadata", {}).get("labels", {})),
              f"{where} ServiceMonitor selects no Service")
        check(metrics.get("metadata", {}).get("labels", {}).get(sm["spec"].get("jobLabel")) == "mailhook",
              f"{where} scraped series would not have job=\"mailhook\", which the alerts expect")
        check([e["port"] for e in sm["spec"]["endpoints"]] == ["monitoring"], f"{where} ServiceMonitor scrapes {sm['spec']['endpoints']}")
    if rule:
        check(rule["spec"] == alerts, f"{where} PrometheusRule differs from deploy/prometheus/alerts.yml")
    if production:
        for topic, settings in config["topics"].items():
            check(settings.get("replication_factor") == 3, f"{where} topics.{topic}.replication_factor is not 3")
            check(settings.get("min_insync_replicas") == 2, f"{where} topics.{topic}.min_insync_replicas is not 2")
        check(deployments[f"{full}-ingest"]["spec"].get("replicas", 2) >= 2, f"{where} one ingest replica")
        for role in roles:
            res = pods[role][1]["containers"][0]["resources"]
            check(res.get("requests", {}).get("cpu") and res.get("limits", {}).get("memory"), f"{where} {role} resources not sized")
        # Secrets: mounted where the configuration reads them.
        tokens = config["admin"].get("tokens", [])
        check(len(tokens) >= 1, f"{where} no admin tokens")
        for role, (labels, spec, env, volumes, mounts) in pods.items():
            for token in tokens:
                mount = mounts.get(os.path.dirname(token["file"]))
                secret = volumes.get(mount, {}).get("secret", {})
                check(secret.get("secretName") and os.path.basename(token["file"]) in [i["path"] for i in secret.get("items", [])],
                      f"{where} {role}: token file {token['file']} is not mounted from a Secret")
            check(env.get("MAILHOOK_KAFKA__PROPERTIES__SASL_PASSWORD", {}).get("valueFrom", {}).get("secretKeyRef"),
                  f"{where} {role}: the SASL password is not from a Secret")
            for source in config["sources"]:
                check(f"MAILHOOK_SOURCES__{source.upper()}__PUBLIC_KEYS" in env, f"{where} {role}: source {source} keys not from a Secret")
        _, spec, env, volumes, mounts = pods["sender"]
        for integration_name, integration in config["integrations"].items():
            mount = mounts.get(os.path.dirname(integration["api_key_file"]))
            paths = [i["path"] for s in volumes.get(mount, {}).get("projected", {}).get("sources", []) for i in s["secret"]["items"]]
            check(os.path.basename(integration["api_key_file"]) in paths,
                  f"{where} API key of {integration_name} is not mounted from a Secret")

    # The daemon's own check, with each pod's environment; files under /etc/mailhook
    # are made under a temporary directory with made-up secrets.
    fake = work / f"{name}-files"
    key = subprocess.run("openssl ecparam -name prime256v1 -genkey -noout | openssl ec -pubout -outform DER 2>/dev/null | base64 -w0",
                         shell=True, capture_output=True, text=True, check=True).stdout.strip()
    checked = text.replace("/etc/mailhook/", f"{fake}/")
    (work / f"{name}.toml").write_text(checked)
    for path in re.findall(rf'"({re.escape(str(fake))}/[^"]+)"', checked):
        p = pathlib.Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(os.urandom(24).hex() + "\n")
    for role, (labels, spec, env, volumes, mounts) in pods.items():
        run_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        for var, e in env.items():
            if "value" in e:
                run_env[var] = e["value"]
            else:
                run_env[var] = key if var.endswith("__PUBLIC_KEYS") else "made-up-" + var.lower()
        result = subprocess.run([binary, "config", "check", str(work / f"{name}.toml")], env=run_env,
                                capture_output=True, text=True)
        check(result.returncode == 0, f"{where} {role}: mailhook config check refused the rendered configuration:\n{result.stderr}")
    print(f"{name}: {sum(len(v) for v in objs.values())} objects, {len(pods)} workloads, "
          f"{len(problems)} problems so far")

check_render("default", production=False)
check_render("production", production=True)
for p in problems:
    print("FAIL:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

if ((failed)); then exit 1; fi
echo "helm chart: OK"
