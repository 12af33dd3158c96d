#!/bin/bash
# deploy.sh SRCROOT: the deployment examples and docs/daemon.md agree with the
# daemon's contract (issue 7) and with each other:
#  - examples/deploy/grafana-dashboard.json is a Grafana dashboard whose every
#    panel has a title and a query, and whose queries use only the daemon's
#    metrics and labels;
#  - docs/daemon.md's metrics table lists exactly those metrics, and its
#    configuration covers every flag;
#  - examples/deploy/kubernetes.yaml parses and holds two replicas on a state
#    in PostgreSQL (FLOTILLA_STATE from the Secret, no volume that outlives a
#    pod, a rolling update that keeps a ready pod, a PodDisruptionBudget that
#    keeps one, no publishNotReadyAddresses: a standby is ready);
#    examples/deploy/kubernetes-sqlite.yaml a single-replica Recreate
#    Deployment with a PersistentVolumeClaim; in each, a Secret, a Deployment
#    and a Service that fit together;
#  - examples/deploy/flotilla.service carries the hardening it promises, and
#    takes the daemon's other options from flotilla.env (EnvironmentFile=).
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
    "flotilla_tenants_near_quota": set(),
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
    "flotilla_usage_reads_total": set(),
    "flotilla_usage_pass_timestamp_seconds": set(),
    "flotilla_apply_failures_total": set(),
    "flotilla_notifications_total": {"outcome"},
    "flotilla_leader": set(),
    "flotilla_tenants_idle": {"bucket"},
}
# Labels Prometheus adds to every scraped series.
TARGET_LABELS = {"instance", "job"}
FLAGS = ["--repo", "--ref", "--interval", "--listen", "--cache-dir", "--webhook-secret-file",
         "--drift-budget", "--rate", "--parallel", "--secrets-dir", "--lease-ttl", "--state",
         "--api-url", "--api-key-file", "--log-format", "--list-interval", "--usage-interval", "--notify-url",
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

# --- kubernetes.yaml and kubernetes-sqlite.yaml ----------------------------
# Two manifests, each checked for what it promises:
#  - kubernetes.yaml: two replicas on a state in PostgreSQL, the leader lease
#    deciding which one acts. The connection string comes from the Secret
#    into FLOTILLA_STATE, never from an argument; no volume outlives a pod.
#    A standby is ready (/readyz 200) and passes webhooks on to the leader,
#    so both pods are ready: a rolling update never takes the last ready pod
#    away, a PodDisruptionBudget keeps one ready pod in a drain, and the
#    Service needs no publishNotReadyAddresses.
#  - kubernetes-sqlite.yaml: one replica, the state file on a
#    PersistentVolumeClaim, Recreate so that two pods never share the file.
try:
    import yaml
except ImportError:
    yaml = None
if yaml is None:
    print("skip PyYAML is not installed: structural checks of the Kubernetes manifests only")

PG_URL = re.compile(r'^postgres(?:ql)?://')
SSLMODE = re.compile(r'[?&]sslmode=(require|verify-ca|verify-full)(?:&|$)')

def rollout_pods(value, replicas, default, up):
    """maxSurge (up) or maxUnavailable as pods, as Kubernetes rounds a percentage
    (surge up, unavailable down); None when it is neither an int nor N%."""
    if value is None:
        value = default
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    m = re.fullmatch(r'(\d+)%', str(value).strip())
    if not m:
        return None
    n = int(m.group(1)) * replicas
    return -(-n // 100) if up else n // 100

def check_rollout(name, surge, unavailable, replicas):
    # a standby is ready: a rollout waits for a new pod to be ready before it
    # stops an old one, and so never takes the last ready pod away
    su = rollout_pods(surge, replicas, "25%", True)
    un = rollout_pods(unavailable, replicas, "25%", False)
    check(un is not None and un < replicas,
          name + ": maxUnavailable keeps a ready pod in a rollout (below replicas: 0 or small)",
          repr((unavailable, replicas)))
    check(su is not None and un is not None and su + un >= 1,
          name + ": the rollout can progress (maxSurge or maxUnavailable above 0)", repr((surge, unavailable)))

def check_pdb(name, min_available, max_unavailable, selector, pod_labels, same_ns):
    # both pods are ready: keeping one lets a drain evict them one at a time
    check(min_available == 1 and max_unavailable is None,
          name + ": PodDisruptionBudget has minAvailable: 1", repr((min_available, max_unavailable)))
    check(bool(selector) and selector.items() <= pod_labels.items(),
          name + ": PodDisruptionBudget selects the Deployment's pods", repr(selector))
    check(same_ns, name + ": PodDisruptionBudget is in the Deployment's namespace")

def k8s_parsed(name, text, variant):
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        check(True, name + " parses (PyYAML)")
    except yaml.YAMLError as e:
        check(False, name + " parses (PyYAML)", str(e).replace("\n", " "))
        return
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d.get("kind"), []).append(d)
    kinds = ["Deployment", "Secret", "Service"] + (["PersistentVolumeClaim"] if variant == "sqlite" else [])
    for k in kinds:
        check(len(by_kind.get(k, [])) == 1, name + " has one " + k)
    if not all(len(by_kind.get(k, [])) == 1 for k in kinds):
        return
    dep, sec, svc = by_kind["Deployment"][0], by_kind["Secret"][0], by_kind["Service"][0]
    spec = dep.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    vols = pod.get("volumes", [])
    strategy = spec.get("strategy", {})
    if variant == "sqlite":
        check(spec.get("replicas") == 1, name + ": Deployment has replicas: 1", repr(spec.get("replicas")))
        check(strategy.get("type") == "Recreate", name + ": Deployment strategy is Recreate")
    else:
        replicas = spec.get("replicas")
        check(replicas == 2, name + ": Deployment has replicas: 2", repr(replicas))
        check(strategy.get("type", "RollingUpdate") == "RollingUpdate", name + ": Deployment strategy is RollingUpdate",
              repr(strategy.get("type")))
        ru = strategy.get("rollingUpdate") or {}
        check_rollout(name, ru.get("maxSurge"), ru.get("maxUnavailable"), replicas if isinstance(replicas, int) else 0)
        check(not by_kind.get("PersistentVolumeClaim"), name + " has no PersistentVolumeClaim")
        check(not any("persistentVolumeClaim" in v for v in vols), name + ": the Deployment mounts no PersistentVolumeClaim")
        pdbs = by_kind.get("PodDisruptionBudget", [])
        check(len(pdbs) == 1, name + " has one PodDisruptionBudget")
        if len(pdbs) == 1:
            pdb = pdbs[0]
            ps = pdb.get("spec") or {}
            check(pdb.get("apiVersion") == "policy/v1", name + ": PodDisruptionBudget is policy/v1",
                  repr(pdb.get("apiVersion")))
            check_pdb(name, ps.get("minAvailable"), ps.get("maxUnavailable"),
                      (ps.get("selector") or {}).get("matchLabels") or {}, labels,
                      (pdb.get("metadata") or {}).get("namespace") == (dep.get("metadata") or {}).get("namespace"))
        spread = [c.get("topologyKey") for c in pod.get("topologySpreadConstraints", [])]
        aff = pod.get("affinity", {}).get("podAntiAffinity", {})
        for t in aff.get("preferredDuringSchedulingIgnoredDuringExecution", []):
            spread.append(t.get("podAffinityTerm", {}).get("topologyKey"))
        for t in aff.get("requiredDuringSchedulingIgnoredDuringExecution", []):
            spread.append(t.get("topologyKey"))
        check("kubernetes.io/hostname" in spread, name + ": the replicas are spread over nodes", repr(spread))
    check(spec.get("selector", {}).get("matchLabels", {}).items() <= labels.items(),
          name + ": Deployment selector matches its pod labels")
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, name + ": pod runs as non-root")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace > 30, name + ": terminationGracePeriodSeconds exceeds the 30 s in-flight bound", repr(grace))
    cs = [c for c in pod.get("containers", []) if "daemon" in (c.get("args") or []) + (c.get("command") or [])]
    check(len(cs) == 1, name + ": one container runs `flotilla daemon`")
    sec_name = sec.get("metadata", {}).get("name")
    keys = set(sec.get("stringData", {})) | set(sec.get("data", {}))
    if cs:
        c = cs[0]
        sc = c.get("securityContext", {})
        check(sc.get("readOnlyRootFilesystem") is True, name + ": container has readOnlyRootFilesystem")
        check("ALL" in sc.get("capabilities", {}).get("drop", []), name + ": container drops ALL capabilities")
        check(sc.get("allowPrivilegeEscalation") is False, name + ": container disallows privilege escalation")
        check(bool(c.get("resources", {}).get("requests")), name + ": container has resource requests")
        check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz",
              name + ": liveness probe is GET /healthz")
        check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz",
              name + ": readiness probe is GET /readyz")
        argv = [str(a) for a in (c.get("args") or [])]
        args = " ".join(argv)
        for f in ("--api-key-file", "--webhook-secret-file", "--listen", "--lease-ttl"):
            check(f in args, name + ": daemon args set " + f)
        if variant == "sqlite":
            check("--state" in args, name + ": daemon args set --state")
        else:
            check(not any(a.startswith("--state") for a in argv), name + ": no --state in the daemon's args")
            check(not re.search(r'postgres(?:ql)?://', args), name + ": no connection string in the daemon's args")
            env = {e.get("name"): e for e in c.get("env", [])}
            ref = env.get("FLOTILLA_STATE", {}).get("valueFrom", {}).get("secretKeyRef", {})
            check(bool(ref) and "value" not in env.get("FLOTILLA_STATE", {}),
                  name + ": FLOTILLA_STATE comes from a secretKeyRef", repr(env.get("FLOTILLA_STATE")))
            check(ref.get("name") == sec_name and ref.get("key") in keys,
                  name + ": FLOTILLA_STATE names a key of the Secret in the file", repr(ref))
            url = str((sec.get("stringData") or {}).get(ref.get("key"), ""))
            check(bool(PG_URL.match(url)), name + ": the Secret's state is a postgres:// location", url[:20])
            check(bool(SSLMODE.search(url)), name + ": the state's location sets sslmode=require (or verify-*)")
            cache = re.search(r'--cache-dir[= ](\S+)', args)
            mounts = {m.get("name"): m.get("mountPath", "") for m in c.get("volumeMounts", [])}
            empty = {v.get("name") for v in vols if "emptyDir" in v}
            on_empty = cache is not None and any(
                cache.group(1) == p or cache.group(1).startswith(p.rstrip("/") + "/")
                for n, p in mounts.items() if n in empty)
            check(on_empty, name + ": --cache-dir is on an emptyDir volume", repr(cache and cache.group(1)))
        listen = re.search(r'--listen[= ]\S*:(\d+)', args)
        ports = {p.get("name"): p.get("containerPort") for p in c.get("ports", [])}
        check(listen is not None and int(listen.group(1)) in ports.values(),
              name + ": the --listen port is a containerPort", repr((listen and listen.group(1), ports)))
        svc_ok = all(p.get("targetPort") in ports or p.get("targetPort") in ports.values()
                     for p in svc.get("spec", {}).get("ports", []))
        check(svc_ok and svc.get("spec", {}).get("ports"), name + ": Service ports target the container's ports")
        check(svc.get("spec", {}).get("selector", {}).items() <= labels.items(),
              name + ": Service selects the Deployment's pods")
    if variant == "sqlite":
        pvc = by_kind["PersistentVolumeClaim"][0]
        claims = [v["persistentVolumeClaim"]["claimName"] for v in vols if "persistentVolumeClaim" in v]
        check(pvc.get("metadata", {}).get("name") in claims, name + ": the Deployment mounts the PersistentVolumeClaim")
    else:
        check(svc.get("spec", {}).get("publishNotReadyAddresses") is not True,
              name + ": Service does not set publishNotReadyAddresses (a standby is ready, and passes webhooks on)")
    refs = set()
    for v in vols:
        s = v.get("secret")
        if s and s.get("secretName") == sec_name:
            refs |= {i["key"] for i in s.get("items", [])} or keys
    for c in pod.get("containers", []) + pod.get("initContainers", []):
        for e in c.get("env", []):
            r = e.get("valueFrom", {}).get("secretKeyRef")
            if r and r.get("name") == sec_name:
                refs.add(r["key"])
    check(refs and refs <= keys, name + ": every Secret key the pod uses exists", repr(sorted(refs - keys)))
    check({"neon-api-key", "webhook-secret"} <= refs, name + ": the API key and webhook secret are mounted")

def uncomment(text):
    """The text without YAML comments (a # at a line's start or after a blank)."""
    return "\n".join(re.sub(r'(^|\s)#.*$', '', line) for line in text.splitlines())

def block(text, key):
    """The lines nested under the first `key:` line of text (no value on it)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r'^(\s*)' + re.escape(key) + r':\s*$', line)
        if not m:
            continue
        out = []
        for l in lines[i + 1:]:
            if l.strip() and len(l) - len(l.lstrip()) <= len(m.group(1)):
                break
            out.append(l)
        return "\n".join(out)
    return ""

def scalars(text):
    """The `key: value` pairs at the outer level of a block; ints as ints."""
    rows = [l for l in text.splitlines() if l.strip()]
    if not rows:
        return {}
    top = min(len(l) - len(l.lstrip()) for l in rows)
    out = {}
    for l in rows:
        m = re.match(r'^ {%d}([\w./-]+):\s*(?:"([^"]*)"|\'([^\']*)\'|([^\s"\'][^#]*?))?\s*$' % top, l)
        if m and (m.group(2) is not None or m.group(3) is not None or m.group(4)):
            v = next(g for g in m.group(2, 3, 4) if g is not None)
            quoted = m.group(4) is None
            out[m.group(1)] = int(v) if not quoted and re.fullmatch(r'-?\d+', v) else v
    return out

def k8s_structural(name, text, variant):
    # no PyYAML: what the text itself shows, comments left out
    check("\t" not in text, name + " has no tabs")
    text = uncomment(text)
    docs = [d for d in re.split(r'^---\s*$', text, flags=re.M) if re.search(r'^kind:', d, re.M)]
    kinds = [re.search(r'^kind:\s*(\S+)', d, re.M).group(1) for d in docs]
    want = ["Deployment", "Secret", "Service"] + (["PersistentVolumeClaim"] if variant == "sqlite" else [])
    for k in want:
        check(kinds.count(k) == 1, name + " has one " + k)
    def doc(kind):
        return next((d for d in docs if re.search(r'^kind:\s*' + kind + r'\s*$', d, re.M)), "")
    dep, sec, svc = doc("Deployment"), doc("Secret"), doc("Service")
    for s in ("runAsNonRoot: true", "readOnlyRootFilesystem: true", "path: /healthz", "requests:",
              "--api-key-file", "--webhook-secret-file", "--listen", "--lease-ttl"):
        check(s in dep, name + ": Deployment has " + s)
    check(re.search(r'readinessProbe:\s*\n\s+httpGet:\s*\n\s+path:\s*/readyz\s*$', dep, re.M) is not None,
          name + ": readiness probe is GET /readyz")
    if variant == "sqlite":
        check(re.search(r'^\s+replicas:\s*1\s*$', dep, re.M) is not None, name + ": Deployment has replicas: 1")
        check(re.search(r'^\s+type:\s*Recreate\s*$', dep, re.M) is not None, name + ": Deployment strategy is Recreate")
        check("persistentVolumeClaim:" in dep, name + ": Deployment has persistentVolumeClaim:")
        check("--state" in dep, name + ": daemon args set --state")
        return
    check(re.search(r'^\s+replicas:\s*2\s*$', dep, re.M) is not None, name + ": Deployment has replicas: 2")
    check(re.search(r'^\s+type:\s*Recreate\s*$', dep, re.M) is None, name + ": Deployment strategy is RollingUpdate")
    ru = scalars(block(block(dep, "strategy"), "rollingUpdate"))
    replicas = scalars(block(dep, "spec")).get("replicas")
    check_rollout(name, ru.get("maxSurge"), ru.get("maxUnavailable"), replicas if isinstance(replicas, int) else 0)
    check("PersistentVolumeClaim" not in kinds and "persistentVolumeClaim" not in dep,
          name + " has no PersistentVolumeClaim")
    check(kinds.count("PodDisruptionBudget") == 1, name + " has one PodDisruptionBudget")
    pdb = doc("PodDisruptionBudget")
    if kinds.count("PodDisruptionBudget") == 1:
        check(re.search(r'^apiVersion:\s*policy/v1\s*$', pdb, re.M) is not None,
              name + ": PodDisruptionBudget is policy/v1")
        ps = scalars(block(pdb, "spec"))
        pod_labels = scalars(block(block(block(dep, "template"), "metadata"), "labels"))
        def ns(d):
            return scalars(block(d, "metadata")).get("namespace")
        check_pdb(name, ps.get("minAvailable"), ps.get("maxUnavailable"),
                  scalars(block(block(pdb, "selector"), "matchLabels")), pod_labels, ns(pdb) == ns(dep))
    check(re.search(r'topologyKey:\s*kubernetes\.io/hostname', dep) is not None,
          name + ": the replicas are spread over nodes")
    check(re.search(r'^\s+-\s*"?--state\b', dep, re.M) is None, name + ": no --state in the daemon's args")
    check(re.search(r'postgres(?:ql)?://', dep) is None, name + ": no connection string in the Deployment")
    ref = re.search(r'-\s*name:\s*FLOTILLA_STATE\s*\n\s+valueFrom:\s*\n\s+secretKeyRef:\s*\n'
                    r'\s+(?:name:\s*(?P<n1>\S+)\s*\n\s+key:\s*(?P<k1>\S+)|key:\s*(?P<k2>\S+)\s*\n\s+name:\s*(?P<n2>\S+))', dep)
    check(ref is not None, name + ": FLOTILLA_STATE comes from a secretKeyRef")
    if ref:
        rname, rkey = ref.group("n1") or ref.group("n2"), ref.group("k1") or ref.group("k2")
        sname = re.search(r'^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*(\S+)', sec, re.M)
        url = re.search(r'^\s+' + re.escape(rkey) + r':\s*"?([^"\s]*)"?\s*$', sec, re.M)
        check(sname is not None and sname.group(1) == rname and url is not None,
              name + ": FLOTILLA_STATE names a key of the Secret in the file", repr((rname, rkey)))
        url = url.group(1) if url else ""
        check(bool(PG_URL.match(url)), name + ": the Secret's state is a postgres:// location", url[:20])
        check(bool(SSLMODE.search(url)), name + ": the state's location sets sslmode=require (or verify-*)")
    cache = re.search(r'--cache-dir[= ]"?([^"\s]+)', dep)
    empty = set(re.findall(r'-\s*name:\s*(\S+)\s*\n\s+emptyDir:', dep))
    mounts = re.findall(r'-\s*name:\s*(\S+)\s*\n\s+mountPath:\s*(\S+)', dep)
    on_empty = cache is not None and any(
        cache.group(1) == p or cache.group(1).startswith(p.rstrip("/") + "/") for n, p in mounts if n in empty)
    check(on_empty, name + ": --cache-dir is on an emptyDir volume", repr(cache and cache.group(1)))
    check(re.search(r'publishNotReadyAddresses:\s*true', svc) is None,
          name + ": Service does not set publishNotReadyAddresses (a standby is ready, and passes webhooks on)")

for name, variant in (("kubernetes.yaml", "postgres"), ("kubernetes-sqlite.yaml", "sqlite")):
    try:
        text = read(os.path.join(deploy, name))
    except OSError as e:
        check(False, name + " exists", str(e))
        continue
    if yaml is not None:
        k8s_parsed(name, text, variant)
    else:
        k8s_structural(name, text, variant)

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
    # The operator's settings live outside the unit (meson install installs
    # this very file): the daemon's other options come from flotilla.env.
    check(start.endswith(" $FLOTILLA_DAEMON_ARGS"), "flotilla.service: ExecStart ends with $FLOTILLA_DAEMON_ARGS")
    envfiles = keys.get(("[Service]", "EnvironmentFile"), [])
    check("/etc/flotilla/flotilla.env" in envfiles, "flotilla.service: EnvironmentFile=/etc/flotilla/flotilla.env",
          repr(envfiles))
    try:
        env = read(os.path.join(deploy, "flotilla.env"))
    except OSError as e:
        env = ""
        check(False, "flotilla.env exists", str(e))
    m = re.search(r'^FLOTILLA_DAEMON_ARGS="([^"]*)"$', env, re.M)
    check(m is not None, "flotilla.env: one quoted FLOTILLA_DAEMON_ARGS line")
    if m:
        args = m.group(1).split()
        check("--repo" in args, "flotilla.env: sets --repo")
        for fixed in ("--state", "--cache-dir", "--api-key-file", "--webhook-secret-file"):
            check(fixed in start and fixed not in args, "flotilla.env: leaves " + fixed + " to the unit")

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
