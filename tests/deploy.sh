#!/bin/bash
# deploy.sh SRCROOT: the deployment examples and docs/daemon.md agree with the
# daemon's contract (issue 7) and with each other:
#  - examples/deploy/grafana-dashboard.json is a Grafana dashboard whose every
#    panel has a title and a query, and whose queries use only the daemon's
#    metrics and labels;
#  - docs/daemon.md's metrics table lists exactly those metrics, and its
#    configuration covers every flag;
#  - examples/deploy/kubernetes.yaml parses and holds a single-replica
#    Recreate Deployment, a Secret, a PersistentVolumeClaim and a Service that
#    fit together;
#  - examples/deploy/flotilla.service carries the hardening it promises.
# No network. Prints one ok/FAIL line per check; exits 1 when any failed.
set -u
root=${1:?usage: deploy.sh SRCROOT}
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }

python3 - "$root" <<'PY'
import json, os, re, sys

root = sys.argv[1]
deploy = os.path.join(root, "examples", "deploy")
failed = 0

def check(ok, what, detail=""):
    global failed
    if ok:
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + detail if detail else ""))

def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()

# The contract of issue 7: every metric the daemon exports, with its labels.
# Change it here, in docs/daemon.md and in the daemon together.
METRICS = {
    "flotilla_tenants": {"state"},
    "flotilla_orphaned_tenants": set(),
    "flotilla_drifted_tenants": set(),
    "flotilla_drifted_fields": {"class"},
    "flotilla_drift_healed_total": set(),
    "flotilla_last_applied_commit_info": {"commit"},
    "flotilla_git_fetches_total": {"outcome"},
    "flotilla_reconcile_duration_seconds": set(),
    "flotilla_reconciles_total": {"outcome"},
    "flotilla_last_reconcile_timestamp_seconds": set(),
    "flotilla_api_requests_total": {"route", "status"},
    "flotilla_api_429_total": set(),
    "flotilla_rate_budget_rate": set(),
    "flotilla_rate_budget_tokens": set(),
    "flotilla_rate_budget_waits_total": set(),
    "flotilla_rate_budget_wait_seconds_total": set(),
    "flotilla_operations_in_flight": set(),
    "flotilla_journal_backlog": set(),
    "flotilla_drift_sweep_seconds": {"tier"},
    "flotilla_drift_reads_total": set(),
    "flotilla_apply_failures_total": set(),
    "flotilla_notifications_total": {"outcome"},
    "flotilla_leader": set(),
}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"instance", "job"}
FLAGS = ["--repo", "--ref", "--interval", "--listen", "--cache-dir", "--webhook-secret-file",
         "--drift-budget", "--rate", "--parallel", "--secrets-dir", "--lease-ttl", "--state",
         "--api-url", "--api-key-file", "--log-format", "--list-interval", "--notify-url",
         "--notify-url-file"]

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "inf", "nan"}

def promql_names(expr):
    """Metric names and label names of a PromQL expression (enough for dashboards)."""
    labels = set()
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)          # strings
    for m in re.finditer(r'\{([^}]*)\}', e):                # matchers
        labels |= set(re.findall(r'([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)', m.group(1)))
    e = re.sub(r'\{[^}]*\}', ' ', e)
    e = re.sub(r'\[[^\]]*\]', ' ', e)                       # ranges, subqueries
    for m in re.finditer(r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)', e):
        labels |= {l.strip() for l in m.group(1).split(",") if l.strip()}
    e = re.sub(r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', e)
    metrics = set()
    for m in re.finditer(r'(?<![\w.$])([A-Za-z_:][\w:]*)(\s*\()?', e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in PROMQL_WORDS:
            continue
        metrics.add(word)
    return metrics, labels

# --- the Grafana dashboard ---------------------------------------------------
dash_path = os.path.join(deploy, "grafana-dashboard.json")
dash = None
try:
    dash = json.loads(read(dash_path))
    check(isinstance(dash, dict), "grafana-dashboard.json is a JSON object")
except (OSError, ValueError) as e:
    check(False, "grafana-dashboard.json is valid JSON", str(e))

if isinstance(dash, dict):
    check(isinstance(dash.get("schemaVersion"), int) and dash["schemaVersion"] >= 36,
          "dashboard has a schemaVersion (>= 36)", repr(dash.get("schemaVersion")))
    check(bool(dash.get("title")) and bool(dash.get("uid")), "dashboard has a title and a uid")
    inputs = [i.get("name") for i in dash.get("__inputs", [])]
    check("DS_PROMETHEUS" in inputs, "dashboard declares the DS_PROMETHEUS input", repr(inputs))

    panels = []
    for p in dash.get("panels", []):
        panels.append(p)
        panels.extend(p.get("panels", []))           # panels of collapsed rows
    data_panels = [p for p in panels if p.get("type") != "row"]
    check(len(data_panels) >= 10, "dashboard has at least 10 panels", str(len(data_panels)))

    used = set()
    bad_titles, bad_targets, bad_ds, bad_metrics, bad_labels = [], [], [], [], []
    for p in panels:
        if not str(p.get("title", "")).strip():
            bad_titles.append(p.get("id"))
        if p.get("type") == "row":
            continue
        targets = [t for t in p.get("targets", []) if str(t.get("expr", "")).strip()]
        if not targets:
            bad_targets.append(p.get("title"))
        for obj in [p] + targets:
            ds = obj.get("datasource")
            if ds is not None and (not isinstance(ds, dict) or ds.get("uid") != "${DS_PROMETHEUS}"):
                bad_ds.append(p.get("title"))
        for t in targets:
            metrics, labels = promql_names(t["expr"])
            used |= metrics
            for m in metrics - set(METRICS):
                bad_metrics.append("%s: %s" % (p.get("title"), m))
            allowed = set(TARGET_LABELS)
            for m in metrics & set(METRICS):
                allowed |= METRICS[m]
            for l in labels - allowed:
                bad_labels.append("%s: %s" % (p.get("title"), l))
    check(not bad_titles, "every panel has a title", repr(bad_titles))
    check(not bad_targets, "every panel has at least one query", repr(bad_targets))
    check(not bad_ds, "every panel queries ${DS_PROMETHEUS}", repr(sorted(set(bad_ds))))
    check(not bad_metrics, "every metric in the dashboard is a contract metric", "; ".join(bad_metrics))
    check(not bad_labels, "every label in the dashboard belongs to its metric", "; ".join(bad_labels))
    for m in ("flotilla_tenants", "flotilla_drifted_tenants", "flotilla_api_requests_total",
              "flotilla_rate_budget_rate", "flotilla_api_429_total", "flotilla_reconcile_duration_seconds",
              "flotilla_last_reconcile_timestamp_seconds", "flotilla_apply_failures_total",
              "flotilla_git_fetches_total", "flotilla_journal_backlog", "flotilla_drift_sweep_seconds"):
        check(m in used, "dashboard shows " + m)

    # no two panels on the same grid cell
    cells, overlap = {}, []
    for p in panels:
        g = p.get("gridPos", {})
        for dy in range(g.get("h", 0)):
            for dx in range(g.get("w", 0)):
                k = (g.get("x", 0) + dx, g.get("y", 0) + dy)
                if k in cells and cells[k] != p.get("id"):
                    overlap.append("%s/%s" % (cells[k], p.get("id")))
                cells[k] = p.get("id")
        if g.get("x", 0) + g.get("w", 0) > 24:
            overlap.append("%s wider than 24" % p.get("id"))
    check(not overlap, "dashboard panels do not overlap", ", ".join(sorted(set(overlap))))

# --- docs/daemon.md ---------------------------------------------------------
doc_path = os.path.join(root, "docs", "daemon.md")
try:
    doc = read(doc_path)
except OSError as e:
    doc = ""
    check(False, "docs/daemon.md exists", str(e))
if doc:
    m = re.search(r'^## Metrics.*?$(.*?)(?=^## |\Z)', doc, re.M | re.S)
    documented = set()
    if m:
        for line in m.group(1).splitlines():
            r = re.match(r'\|\s*`(flotilla_\w+)', line)
            if r:
                documented.add(r.group(1))
    check(bool(documented), "docs/daemon.md has a metrics table under '## Metrics'")
    extra = documented - set(METRICS)
    missing = set(METRICS) - documented
    check(not extra, "every metric in docs/daemon.md is a contract metric", ", ".join(sorted(extra)))
    check(not missing, "docs/daemon.md documents every contract metric", ", ".join(sorted(missing)))
    nodoc = [f for f in FLAGS if not re.search(r'`' + re.escape(f) + r'[ `=]', doc)]
    check(not nodoc, "docs/daemon.md documents every flag", ", ".join(nodoc))
    for route in ("/metrics", "/healthz", "/readyz", "/hooks/git", "X-Hub-Signature-256"):
        check(route in doc, "docs/daemon.md mentions " + route)

# --- kubernetes.yaml --------------------------------------------------------
k8s_path = os.path.join(deploy, "kubernetes.yaml")
try:
    k8s = read(k8s_path)
except OSError as e:
    k8s = ""
    check(False, "kubernetes.yaml exists", str(e))
try:
    import yaml
except ImportError:
    yaml = None
if k8s and yaml is not None:
    docs = []
    try:
        docs = [d for d in yaml.safe_load_all(k8s) if d is not None]
        check(True, "kubernetes.yaml parses (PyYAML)")
    except yaml.YAMLError as e:
        check(False, "kubernetes.yaml parses (PyYAML)", str(e).replace("\n", " "))
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    for k in ("Deployment", "Secret", "PersistentVolumeClaim", "Service"):
        check(len(by_kind.get(k, [])) == 1, "kubernetes.yaml has one " + k)
    if all(len(by_kind.get(k, [])) == 1 for k in ("Deployment", "Secret", "PersistentVolumeClaim", "Service")):
        dep, sec = by_kind["Deployment"][0], by_kind["Secret"][0]
        pvc, svc = by_kind["PersistentVolumeClaim"][0], by_kind["Service"][0]
        spec = dep.get("spec", {})
        check(spec.get("replicas") == 1, "Deployment has replicas: 1", repr(spec.get("replicas")))
        check(spec.get("strategy", {}).get("type") == "Recreate", "Deployment strategy is Recreate")
        pod = spec.get("template", {}).get("spec", {})
        labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
        check(spec.get("selector", {}).get("matchLabels", {}).items() <= labels.items(),
              "Deployment selector matches its pod labels")
        check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "pod runs as non-root")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        check(grace > 30, "terminationGracePeriodSeconds exceeds the 30 s in-flight bound", repr(grace))
        cs = [c for c in pod.get("containers", []) if "daemon" in (c.get("args") or []) + (c.get("command") or [])]
        check(len(cs) == 1, "one container runs `flotilla daemon`")
        if cs:
            c = cs[0]
            sc = c.get("securityContext", {})
            check(sc.get("readOnlyRootFilesystem") is True, "container has readOnlyRootFilesystem")
            check("ALL" in sc.get("capabilities", {}).get("drop", []), "container drops ALL capabilities")
            check(sc.get("allowPrivilegeEscalation") is False, "container disallows privilege escalation")
            check(bool(c.get("resources", {}).get("requests")), "container has resource requests")
            check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz",
                  "liveness probe is GET /healthz")
            check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz",
                  "readiness probe is GET /readyz")
            args = " ".join(c.get("args") or [])
            for f in ("--state", "--api-key-file", "--webhook-secret-file", "--listen"):
                check(f in args, "daemon args set " + f)
            listen = re.search(r'--listen[= ]\S*:(\d+)', args)
            ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
            check(listen is not None and int(listen.group(1)) in ports.values(),
                  "the --listen port is a containerPort", repr((listen and listen.group(1), ports)))
            svc_ok = all(p.get("targetPort") in ports or p.get("targetPort") in ports.values()
                         for p in svc.get("spec", {}).get("ports", []))
            check(svc_ok and svc.get("spec", {}).get("ports"), "Service ports target the container's ports")
            check(svc.get("spec", {}).get("selector", {}).items() <= labels.items(),
                  "Service selects the Deployment's pods")
        vols = pod.get("volumes", [])
        claims = [v["persistentVolumeClaim"]["claimName"] for v in vols if "persistentVolumeClaim" in v]
        check(pvc.get("metadata", {}).get("name") in claims, "the Deployment mounts the PersistentVolumeClaim")
        keys = set(sec.get("stringData", {})) | set(sec.get("data", {}))
        refs = set()
        for v in vols:
            s = v.get("secret")
            if s and s.get("secretName") == sec["metadata"]["name"]:
                refs |= {i["key"] for i in s.get("items", [])} or keys
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            for e in c.get("env", []):
                r = e.get("valueFrom", {}).get("secretKeyRef")
                if r and r.get("name") == sec["metadata"]["name"]:
                    refs.add(r["key"])
        check(refs and refs <= keys, "every Secret key the pod uses exists", repr(sorted(refs - keys)))
        check({"neon-api-key", "webhook-secret"} <= refs, "the API key and webhook secret are mounted")
elif k8s:
    # no PyYAML: a structural check
    print("skip PyYAML is not installed: structural check of kubernetes.yaml only")
    docs = [d for d in re.split(r'^---\s*$', k8s, flags=re.M) if re.search(r'^kind:', d, re.M)]
    kinds = [re.search(r'^kind:\s*(\S+)', d, re.M).group(1) for d in docs]
    for k in ("Deployment", "Secret", "PersistentVolumeClaim", "Service"):
        check(kinds.count(k) == 1, "kubernetes.yaml has one " + k)
    check("\t" not in k8s, "kubernetes.yaml has no tabs")
    dep = next((d for d in docs if re.search(r'^kind:\s*Deployment', d, re.M)), "")
    check(re.search(r'^\s+replicas:\s*1\s*$', dep, re.M) is not None, "Deployment has replicas: 1")
    check(re.search(r'^\s+type:\s*Recreate\s*$', dep, re.M) is not None, "Deployment strategy is Recreate")
    for s in ("runAsNonRoot: true", "readOnlyRootFilesystem: true", "path: /healthz", "path: /readyz",
              "requests:", "persistentVolumeClaim:"):
        check(s in dep, "Deployment has " + s)

# --- flotilla.service -------------------------------------------------------
unit_path = os.path.join(deploy, "flotilla.service")
try:
    unit = read(unit_path)
except OSError as e:
    unit = ""
    check(False, "flotilla.service exists", str(e))
if unit:
    unit = re.sub(r'\\\n', ' ', unit)
    section, keys = None, {}
    for line in unit.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if "=" in line:
            k, v = line.split("=", 1)
            keys.setdefault((section, k.strip()), []).append(" ".join(v.split()))
    def has(k, v):
        return v in keys.get(("[Service]", k), [])
    for k, v in (("DynamicUser", "yes"), ("StateDirectory", "flotilla"), ("ProtectSystem", "strict"),
                 ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                 ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"), ("CapabilityBoundingSet", ""),
                 ("SystemCallFilter", "@system-service"), ("ExecReload", "/bin/kill -HUP $MAINPID"),
                 ("Restart", "on-failure"), ("TimeoutStopSec", "45")):
        check(has(k, v), "flotilla.service: %s=%s" % (k, v), repr(keys.get(("[Service]", k))))
    creds = " ".join(keys.get(("[Service]", "LoadCredential"), []))
    for c in ("neon-api-key:", "webhook-secret:"):
        check(c in creds, "flotilla.service: LoadCredential=" + c)
    start = " ".join(keys.get(("[Service]", "ExecStart"), []))
    check(" daemon " in start, "flotilla.service: ExecStart runs flotilla daemon")
    for a in ("--api-key-file %d/neon-api-key", "--webhook-secret-file %d/webhook-secret",
              "--state /var/lib/flotilla/"):
        check(a in start, "flotilla.service: ExecStart has " + a)
    check(("[Install]", "WantedBy") in keys, "flotilla.service: has an [Install] section")

sys.exit(1 if failed else 0)
PY
rc=$?

# systemd's own check, where systemd-analyze exists: the binary is replaced by
# /bin/true, since flotilla is not installed where the unit expects it.
if [ "$rc" = 0 ] && command -v systemd-analyze >/dev/null 2>&1; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	sed 's#^ExecStart=[^ ]*#ExecStart=/bin/true#' "$root/examples/deploy/flotilla.service" >"$tmp/flotilla.service"
	if out=$(cd "$tmp" && systemd-analyze verify ./flotilla.service 2>&1) && [ -z "$out" ]; then
		echo "ok   flotilla.service: systemd-analyze verify"
	else
		echo "FAIL flotilla.service: systemd-analyze verify: $out"
		rc=1
	fi
else
	[ "$rc" = 0 ] && echo "skip systemd-analyze is not installed: flotilla.service not verified by systemd"
fi
exit "$rc"
