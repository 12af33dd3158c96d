#!/bin/bash
# ci-example.sh SRCROOT FLOTILLA: the GitHub Actions examples (examples/ci)
# hold what examples/ci/README.md promises, and run flotilla as the built
# binary FLOTILLA takes it (issue 15):
#  - github-actions.yml, for GitHub-hosted runners with the state in
#    PostgreSQL: every job runs on a hosted runner; every FLOTILLA_STATE is a
#    secret and no run script expands it or any secret; no sqlite3; the pull
#    request plan takes no lease (--refresh=none);
#  - github-actions-sqlite.yml, for a self-hosted runner with the state file:
#    its jobs run on the self-hosted runner;
#  - both: the file parses; the plan job skips pull requests from forks; the
#    apply job has a concurrency group that never cancels a running apply,
#    waits for the lease (--lock-timeout), saves new secrets (--secrets-dir),
#    stores and removes them and judges apply's exit code whatever it was;
#  - both: the pull request's plan is one comment, found by its marker,
#    made by the first push and edited by the next (the step run against a
#    stand-in for gh); the plan file, text plan and tree are uploaded under
#    the pull request's head; on a push, apply applies that plan file only
#    when main has the planned tree, and says to re-plan otherwise (the step
#    run against a real git repository and the stand-in);
#  - every `flotilla COMMAND` in a run script names a command, and each of
#    its --options is one that `FLOTILLA COMMAND --help` lists.
# PyYAML reads the files when it is installed (scripts/install-deps.sh does
# not install it); otherwise a small reader of the block YAML the workflows
# use does, and with PyYAML both are compared. No network. Prints one
# ok/FAIL line per check; exits 1 when any failed.
set -u
root=${1:?usage: ci-example.sh SRCROOT FLOTILLA}
flotilla=${2:?usage: ci-example.sh SRCROOT FLOTILLA}
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }

python3 - "$root" "$flotilla" <<'PY'
import json, os, re, shlex, shutil, subprocess, sys

root, flotilla = sys.argv[1], sys.argv[2]
ci = os.path.join(root, "examples", "ci")
failed = 0

def check(ok, what, detail=""):
    global failed
    if ok:
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what + (": " + detail if detail else ""))

# --- a reader of block YAML ----------------------------------------------
# Enough YAML for a workflow: block mappings and sequences, |/> block
# scalars, quoted and plain scalars, one-line flow sequences, comments.
# Anything else (anchors, multi-line plain scalars, flow mappings with
# content) is either refused or read differently from PyYAML, which the
# comparison below reports; and so is the key `on`, which PyYAML reads as
# true (YAML 1.1) where GitHub reads "on": load() renames it.

class YamlError(Exception):
    pass

KEY = re.compile(r'''^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s'"#\[\]{},&*!|>%@`-][^#]*?|-[^\s#][^#]*?)\s*:(?:\s+(.*))?$''')

def strip_comment(s):
    """s without a trailing comment: a # after a blank, outside quotes."""
    q, i = None, 0
    while i < len(s):
        c = s[i]
        if q:
            if q == '"' and c == "\\":
                i += 2
                continue
            if c == q:
                if q == "'" and s[i + 1:i + 2] == "'":
                    i += 2
                    continue
                q = None
        elif c in "\"'" and (i == 0 or s[i - 1] in " [,"):
            q = c
        elif c == "#" and (i == 0 or s[i - 1] in " \t"):
            return s[:i].rstrip()
        i += 1
    return s.rstrip()

def scalar(v):
    v = v.strip()
    if v.startswith('"'):
        if not v.endswith('"') or len(v) < 2:
            raise YamlError("unterminated string: " + v)
        return json.loads(v)
    if v.startswith("'"):
        if not v.endswith("'") or len(v) < 2:
            raise YamlError("unterminated string: " + v)
        return v[1:-1].replace("''", "'")
    if v.startswith("["):
        if not v.endswith("]"):
            raise YamlError("a flow sequence on more than one line: " + v)
        inner = v[1:-1].strip()
        return [scalar(x) for x in inner.split(",")] if inner else []
    if v == "{}":
        return {}
    if v[:1] in ("{", "&", "*", "!", "%", "@", "`"):
        raise YamlError("not read here: " + v)
    if v in ("true", "True", "TRUE"):
        return True
    if v in ("false", "False", "FALSE"):
        return False
    if v in ("", "~", "null", "Null", "NULL"):
        return None
    if re.fullmatch(r'[-+]?(0|[1-9][0-9]*)', v):
        return int(v)
    if re.fullmatch(r'[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+][0-9]+)?', v):
        return float(v)
    return v      # yes, no, on, off too: strings to GitHub (YAML 1.2)

class Reader:
    def __init__(self, text):
        self.lines = text.split("\n")
        self.i = 0

    def peek(self):
        """(indent, content) of the next line that is not blank or a comment."""
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            body = raw.lstrip(" ")
            if body.startswith("\t"):
                raise YamlError("line %d: a tab in the indentation" % (self.i + 1))
            if body.strip() and not body.startswith("#") and not (self.i == 0 and body.strip() == "---"):
                return len(raw) - len(body), strip_comment(body)
            self.i += 1
        return None

    def node(self, ind):
        nxt = self.peek()
        if nxt is None:
            return None
        if nxt[1] == "-" or nxt[1].startswith("- "):
            return self.seq(nxt[0])
        if KEY.match(nxt[1]):
            return self.map(nxt[0])
        self.i += 1
        return scalar(nxt[1])

    def seq(self, ind):
        out = []
        while True:
            nxt = self.peek()
            if nxt is None or nxt[0] < ind:
                return out
            if nxt[0] > ind or not (nxt[1] == "-" or nxt[1].startswith("- ")):
                if nxt[0] == ind:
                    return out
                raise YamlError("line %d: bad indentation in a sequence" % (self.i + 1))
            body = self.lines[self.i].lstrip(" ")[1:]
            rest = body.lstrip(" ")
            if not rest.strip() or rest.startswith("#"):
                self.i += 1
                after = self.peek()
                out.append(self.node(after[0]) if after and after[0] > ind else None)
                continue
            col = ind + 1 + len(body) - len(rest)
            # the item as if it began its own line at its column
            self.lines[self.i] = " " * col + rest
            content = strip_comment(rest)
            if content[0] in "|>":
                self.i += 1
                out.append(self.block(content, ind))
            elif content == "-" or content.startswith("- ") or KEY.match(content):
                out.append(self.node(col))
            else:
                self.i += 1
                out.append(scalar(content))

    def map(self, ind):
        out = {}
        while True:
            nxt = self.peek()
            if nxt is None or nxt[0] < ind:
                return out
            if nxt[0] > ind:
                raise YamlError("line %d: bad indentation in a mapping" % (self.i + 1))
            m = KEY.match(nxt[1])
            if not m:
                if nxt[1] == "-" or nxt[1].startswith("- "):
                    return out          # a sequence at the parent key's indentation
                raise YamlError("line %d: not a key: %s" % (self.i + 1, nxt[1]))
            key, val = scalar(m.group(1)), (m.group(2) or "").strip()
            if key in out:
                raise YamlError("line %d: key %r twice" % (self.i + 1, key))
            self.i += 1
            if val and val[0] in "|>":
                out[key] = self.block(val, ind)
            elif val:
                out[key] = scalar(val)
            else:
                after = self.peek()
                if after and (after[0] > ind or (after[0] == ind and (after[1] == "-" or after[1].startswith("- ")))):
                    out[key] = self.node(after[0])
                else:
                    out[key] = None

    def block(self, header, ind):
        """A block scalar after `header` (|, |-, >, >-), its lines indented past ind."""
        if header not in ("|", "|-", ">", ">-"):
            raise YamlError("block scalar header not read here: " + header)
        body = []
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            if raw.strip() and len(raw) - len(raw.lstrip(" ")) <= ind:
                break
            body.append(raw)
            self.i += 1
        while body and not body[-1].strip():
            body.pop()
        if not body:
            return ""
        col = min(len(l) - len(l.lstrip(" ")) for l in body if l.strip())
        body = [l[col:] for l in body]
        if header[0] == "|":
            text = "\n".join(body)
        else:
            paras, cur = [], []
            for l in body:
                if l.strip():
                    cur.append(l)
                else:
                    paras.append(" ".join(cur))
                    cur = []
            paras.append(" ".join(cur))
            text = "\n".join(paras)
        return text if header.endswith("-") else text + "\n"

def read_yaml(text):
    r = Reader(text)
    doc = r.node(0)
    if r.peek() is not None:
        raise YamlError("line %d: left unread" % (r.i + 1))
    return doc

try:
    import yaml
except ImportError:
    yaml = None
if yaml is None:
    print("skip PyYAML is not installed: the workflows are read by this script's own reader")

def on_key(doc):
    # PyYAML reads the key `on` as YAML 1.1's true; GitHub reads `on`
    if isinstance(doc, dict) and True in doc:
        doc = dict(doc)
        doc["on"] = doc.pop(True)
    return doc

def load(name):
    path = os.path.join(ci, name)
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as e:
        check(False, name + " exists", str(e))
        return None, ""
    own, err = None, ""
    try:
        own = read_yaml(text)
    except (YamlError, ValueError) as e:
        err = str(e)
    if yaml is None:
        check(own is not None and err == "", name + " parses", err)
        return own, text
    try:
        doc = on_key(yaml.safe_load(text))
        check(True, name + " parses (PyYAML)")
    except yaml.YAMLError as e:
        check(False, name + " parses (PyYAML)", str(e).replace("\n", " "))
        return None, text
    check(own == doc, name + ": this script's reader reads it as PyYAML does", err or "the two differ")
    return doc, text

# --- what the workflows run -------------------------------------------------

def steps(job):
    return [s for s in (job.get("steps") or []) if isinstance(s, dict)]

def runs(doc):
    """(job name, step, script) of every run step."""
    for jn, job in (doc.get("jobs") or {}).items():
        for s in steps(job):
            if isinstance(s.get("run"), str):
                yield jn, s, s["run"]

STOP = {";", "&&", "||", "|", "&", "(", ")", ">", ">>", "<", ">&", "<&", "&>", "|&", ";;"}

def flotilla_calls(script):
    """(command, [options]) of each `flotilla COMMAND ...` in a shell script.
    An option in an array the line expands ("${since[@]}") counts too."""
    text = script.replace("\\\n", " ")
    arrays = {}
    for m in re.finditer(r'(\w+)=\(([^)]*)\)', text):
        arrays.setdefault(m.group(1), []).extend(shlex.split(m.group(2), comments=True))
    calls = []
    for line in text.split("\n"):
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        try:
            words = list(lex)
        except ValueError:
            continue
        for i, w in enumerate(words):
            if w != "flotilla" and not w.endswith("/flotilla"):
                continue
            if i > 0 and words[i - 1] not in STOP and words[i - 1] not in ("then", "do", "else", "time", "!"):
                continue
            cmd = words[i + 1] if i + 1 < len(words) else ""
            opts = []
            for a in words[i + 2:]:
                if a in STOP or re.fullmatch(r'\d*[<>]&?\d*', a):
                    break
                m = re.fullmatch(r'\$\{(\w+)\[@\]\}', a)
                for o in arrays.get(m.group(1), []) if m else [a]:
                    if o.startswith("--"):
                        opts.append(o.split("=", 1)[0])
            calls.append((cmd, opts))
    return calls

def flotilla_words(script):
    """(command, [words after it, up to the end of the command]) of each
    `flotilla COMMAND ...`, arrays expanded as flotilla_calls does."""
    text = script.replace("\\\n", " ")
    arrays = {}
    for m in re.finditer(r'(\w+)=\(([^)]*)\)', text):
        arrays.setdefault(m.group(1), []).extend(shlex.split(m.group(2), comments=True))
    out = []
    for line in text.split("\n"):
        lex = shlex.shlex(line, posix=False, punctuation_chars=True)
        lex.whitespace_split = True
        try:
            words = list(lex)
        except ValueError:
            continue
        for i, w in enumerate(words):
            if w != "flotilla" or (i > 0 and words[i - 1] not in STOP and words[i - 1] not in ("then", "do", "else")):
                continue
            rest = []
            for a in words[i + 2:]:
                if a in STOP or re.fullmatch(r'\d*[<>]&?\d*', a):
                    break
                a = a.strip('"')
                m = re.fullmatch(r'\$\{(\w+)\[@\]\}', a)
                rest.extend(arrays.get(m.group(1), []) if m else [a])
            out.append((words[i + 1] if i + 1 < len(words) else "", rest))
    return out

def opt_names(words):
    return [w.split("=", 1)[0] for w in words if w.startswith("--")]

# A stand-in for GitHub's `gh` (the GitHub API is not ours to run): the
# calls the workflows make, over a JSON file of comments, pull requests and
# artifacts; every call is logged. --jq goes through jq -r, as gh's does.
FAKE_GH = r"""#!/usr/bin/env python3
import json, os, shutil, subprocess, sys
st_path = os.environ["FAKE_GH"]
st = json.load(open(st_path))
args = sys.argv[1:]
st["log"].append(" ".join(args))
def out(doc, jq):
    text = json.dumps(doc)
    if jq:
        text = subprocess.run(["jq", "-r", jq], input=text, capture_output=True, text=True, check=True).stdout
    sys.stdout.write(text)
def arg(name):
    return args[args.index(name) + 1] if name in args else None
if args[0] == "run" and args[1] == "download":
    shutil.copytree(st["artifact_files"][arg("--name")], arg("--dir"))
elif args[0] == "api":
    method, jq = arg("-X") or "GET", arg("--jq")
    path = [a for a in args[1:] if a.startswith("repos/")][0]
    parts = path.split("?")[0].split("/")
    if method == "GET" and parts[-1] == "comments":
        out(st["comments"], jq)
    elif method == "GET" and parts[-1] == "pulls":
        out(st["pulls"].get(parts[-2], []), jq)
    elif method == "GET" and parts[-1] == "artifacts":
        name = path.split("name=")[1]
        out({"artifacts": [a for a in st["artifacts"] if a["name"] == name]}, jq)
    elif method in ("PATCH", "POST"):
        body = open(arg("-F").split("@", 1)[1]).read()
        if method == "PATCH":
            c = [c for c in st["comments"] if str(c["id"]) == parts[-1]][0]
            c["body"] = body
        else:
            st["comments"].append({"id": 100 + len(st["comments"]), "user": {"login": "github-actions[bot]"}, "body": body})
    else:
        sys.exit("fake gh: no such call: " + " ".join(args))
else:
    sys.exit("fake gh: no such call: " + " ".join(args))
json.dump(st, open(st_path, "w"))
"""

def run_step(script, env, cwd, state):
    """Run a workflow step's script with bash -e (as GitHub does), the fake
    gh first on the PATH: (exit code, output, the fake's state after)."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "bin"))
        gh = os.path.join(tmp, "bin", "gh")
        open(gh, "w").write(FAKE_GH)
        os.chmod(gh, 0o755)
        st = os.path.join(tmp, "gh.json")
        json.dump(dict(state, log=[]), open(st, "w"))
        out_file = os.path.join(tmp, "output")
        open(out_file, "w").close()
        e = dict(os.environ, PATH=os.path.join(tmp, "bin") + ":" + os.environ["PATH"], FAKE_GH=st,
                 GITHUB_REPOSITORY="acme/fleet", GITHUB_OUTPUT=out_file, RUNNER_TEMP=tmp, **env)
        r = subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=e, capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr, json.load(open(st)), open(out_file).read()

def step_named(doc, job, name):
    return next((s for s in steps((doc.get("jobs") or {}).get(job) or {}) if s.get("name") == name), {})

MARKER = "<!-- flotilla-plan -->"

def check_comment(name, doc):
    """The pull request's plan: one comment, made once, then edited."""
    import tempfile
    step = step_named(doc, "plan", "comment the plan on the pull request")
    script = step.get("run", "")
    check("gh pr comment" not in script, name + ": the plan is not added as a new comment each push")
    check(MARKER in script, name + ": the plan comment carries the marker " + MARKER)
    with tempfile.TemporaryDirectory() as wd:
        open(os.path.join(wd, "plan.md"), "w").write("## plan one\n")
        someone = {"id": 5, "user": {"login": "alice"}, "body": MARKER + "\nquoted by a person"}
        rc, out, st, _ = run_step(script, {"PR": "7", "GH_TOKEN": "t"}, wd, {"comments": [someone]})
        mine = [c for c in st["comments"] if c["user"]["login"] == "github-actions[bot]"]
        check(rc == 0 and len(mine) == 1 and mine[0]["body"].startswith(MARKER + "\n## plan one"),
              name + ": the first push makes one comment, marker first", out + repr(st["comments"]))
        open(os.path.join(wd, "plan.md"), "w").write("## plan two\n")
        rc, out, st2, _ = run_step(script, {"PR": "7", "GH_TOKEN": "t"}, wd, {"comments": st["comments"]})
        mine2 = [c for c in st2["comments"] if c["user"]["login"] == "github-actions[bot]"]
        check(rc == 0 and len(mine2) == 1 and mine2[0]["id"] == mine[0]["id"] and "plan two" in mine2[0]["body"]
              and any(l.startswith("api -X PATCH repos/acme/fleet/issues/comments/%d" % mine[0]["id"]) for l in st2["log"]),
              name + ": the next push edits that comment, and adds none", out + repr(st2["log"]))
        check(st2["comments"][0] == someone, name + ": a person's comment quoting the marker is left alone")

def check_artifact(name, doc):
    """The plan job uploads the plan file with the text plan and the tree,
    under the name the apply job looks for, and prints the plan."""
    up = [s for s in steps((doc.get("jobs") or {}).get("plan") or {}) if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    w = (up[0].get("with") or {}) if up else {}
    paths = str(w.get("path", "")).split()
    check(len(up) == 1 and {"plan.bin", "plan.txt", "plan.tree"} <= set(paths),
          name + ": the plan job uploads plan.bin, plan.txt and plan.tree as an artifact", repr(w))
    check(w.get("name") == "flotilla-plan-${{ github.event.pull_request.number }}-${{ github.event.pull_request.head.sha }}",
          name + ": the artifact is named by the pull request and its head commit", repr(w.get("name")))
    plan_step = step_named(doc, "plan", "flotilla plan").get("run", "")
    check("--full-plan-url \"${{ github.server_url }}/${{ github.repository }}/actions/runs/${{ github.run_id }}\"" in plan_step,
          name + ": the markdown plan links this run (--full-plan-url)")
    check("--format text >plan.txt" in plan_step and "HEAD^{tree}" in plan_step,
          name + ": the plan step writes the text plan and the tree it planned")
    check(step_named(doc, "plan", "the whole plan").get("run", "").strip() == "cat plan.txt",
          name + ": the whole plan goes to the log")
    co = next((s for s in steps((doc.get("jobs") or {}).get("plan") or {}) if str(s.get("uses", "")).startswith("actions/checkout@")), {})
    check((co.get("with") or {}).get("ref") == "${{ github.event.pull_request.head.sha }}",
          name + ": the plan job plans the pull request's head, not GitHub's test merge")

def check_reviewed(name, doc):
    """On a push, the reviewed plan is found by its pull request and
    applied only when main has the tree it was planned at."""
    import tempfile
    step = step_named(doc, "apply", "find the reviewed plan")
    script = step.get("run", "")
    check(step.get("if") == "github.event_name == 'push'", name + ": the reviewed plan is looked for on a push")
    with tempfile.TemporaryDirectory() as wd:
        g = lambda *a: subprocess.run(["git", "-C", wd] + list(a), check=True, capture_output=True, text=True,
                                      env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@x",
                                               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@x")).stdout.strip()
        g("init", "-q")
        open(os.path.join(wd, "flotilla.yaml"), "w").write("a\n")
        g("add", "-A")
        g("commit", "-qm", "one")
        sha, tree = g("rev-parse", "HEAD"), g("rev-parse", "HEAD^{tree}")
        art = os.path.join(wd, "..", os.path.basename(wd) + "-art")
        os.makedirs(art)
        open(os.path.join(art, "plan.bin"), "w").write("{}")
        open(os.path.join(art, "plan.tree"), "w").write(tree + "\n")
        art_name = "flotilla-plan-7-h" + "0" * 39
        state = {"comments": [],
                 "pulls": {sha: [{"number": 7, "merged_at": "2026-01-01T00:00:00Z", "head": {"sha": "h" + "0" * 39}}]},
                 "artifacts": [{"name": art_name, "expired": False, "workflow_run": {"id": 99}}],
                 "artifact_files": {art_name: art}}
        rc, out, st, outputs = run_step(script, {"GITHUB_SHA": sha, "GH_TOKEN": "t"}, wd, state)
        check(rc == 0 and re.search(r'^plan=.*/reviewed-plan/plan\.bin$', outputs, re.M) is not None
              and "run download 99 --name " + art_name in " | ".join(st["log"]),
              name + ": main with the planned tree: the plan artifact of its pull request is applied", out + outputs)
        open(os.path.join(wd, "flotilla.yaml"), "w").write("b\n")
        g("commit", "-qam", "main moved")
        sha2 = g("rev-parse", "HEAD")
        state["pulls"] = {sha2: state["pulls"][sha]}
        rc, out, st, outputs = run_step(script, {"GITHUB_SHA": sha2, "GH_TOKEN": "t"}, wd, state)
        check(rc != 0 and "plan=" not in outputs and "re-plan" in out,
              name + ": main with another tree: no plan is applied, and the job says to re-plan", out)
        rc, out, st, outputs = run_step(script, {"GITHUB_SHA": sha2, "GH_TOKEN": "t"}, wd, dict(state, pulls={}))
        check(rc != 0 and "plan=" not in outputs and "re-plan" in out,
              name + ": a push without a pull request: no plan is applied, and the job says to re-plan", out)
        shutil.rmtree(art)

help_cache = {}

def help_options(cmd):
    """The --options `flotilla CMD --help` lists, or None when it fails."""
    if cmd not in help_cache:
        try:
            r = subprocess.run([flotilla, cmd, "--help"], capture_output=True, text=True, timeout=30)
            help_cache[cmd] = set(re.findall(r'--[a-z][a-z0-9-]*', r.stdout)) if r.returncode == 0 else None
        except OSError:
            help_cache[cmd] = None
    return help_cache[cmd]

def env_values(doc, name):
    """Every value given to environment variable `name`: workflow, job, step."""
    out = []
    def take(env):
        if isinstance(env, dict) and name in env:
            out.append(env[name])
    take(doc.get("env"))
    for job in (doc.get("jobs") or {}).values():
        take(job.get("env"))
        for s in steps(job):
            take(s.get("env"))
    return out

def runs_on(job):
    r = job.get("runs-on")
    return [r] if isinstance(r, str) else list(r or [])

def check_common(name, doc):
    jobs = doc.get("jobs") or {}
    check(set(jobs) >= {"plan", "apply"}, name + " has a plan job and an apply job", repr(sorted(jobs)))
    plan, apply_job = jobs.get("plan") or {}, jobs.get("apply") or {}
    cond = str(plan.get("if", ""))
    check("github.event.pull_request.head.repo.full_name == github.repository" in cond,
          name + ": the plan job skips pull requests from forks (no secrets for them)", cond)
    conc = apply_job.get("concurrency")
    check(isinstance(conc, dict) and bool(conc.get("group")) and conc.get("cancel-in-progress") is False,
          name + ": the apply job has a concurrency group with cancel-in-progress: false", repr(conc))
    applies = [w for _, s, r in runs({"jobs": {"apply": apply_job}}) for c, w in flotilla_words(r) if c == "apply"]
    check(len(applies) == 2, name + ": the apply job runs flotilla apply twice (a reviewed plan file, or by hand)",
          str(len(applies)))
    filed = [w for w in applies if w and not w[0].startswith("-")]
    by_hand = [w for w in applies if w and w[0].startswith("-")]
    check(len(filed) == 1 and filed[0][0] == '$PLAN', name + ": one flotilla apply applies the plan file $PLAN",
          repr(filed))
    planning = {"--repo", "--ref", "--refresh", "--select", "--changed-since", "--auto-approve"}
    check(bool(filed) and not planning & set(opt_names(filed[0])),
          name + ": the plan file's apply takes no planning option", repr(filed))
    check(len(by_hand) == 1, name + ": one flotilla apply plans main (run by hand)", repr(by_hand))
    for o in ("--auto-approve", "--lock-timeout", "--secrets-dir", "--continue-on-error", "--changed-since"):
        check(bool(by_hand) and o in opt_names(by_hand[0]), name + ": flotilla apply by hand has " + o, repr(by_hand))
    for o in ("--lock-timeout", "--secrets-dir", "--continue-on-error"):
        check(bool(filed) and o in opt_names(filed[0]), name + ": flotilla apply PLANFILE has " + o, repr(filed))
    apply_step = next((s for s in steps(apply_job) if s.get("id") == "apply"), {})
    check("steps.reviewed.outputs.plan" in str((apply_step.get("env") or {}).get("PLAN", "")),
          name + ": $PLAN is the plan the step 'find the reviewed plan' found")
    check_reviewed(name, doc)
    check_comment(name, doc)
    check_artifact(name, doc)
    names = [s.get("name", "") for s in steps(apply_job)]
    always = {s.get("name", ""): str(s.get("if", "")) for s in steps(apply_job)}
    for step in ("store new secrets", "remove the secrets from the runner", "exit code of apply"):
        check(step in names and "always()" in always.get(step, ""),
              name + ": the apply job's step '" + step + "' runs whatever apply's exit code", repr(always.get(step)))
    store = next((s.get("run", "") for s in steps(apply_job) if s.get("name") == "store new secrets"), "")
    check("vault kv" in store, name + ": new secrets go to Vault")
    exit_step = next((s.get("run", "") for s in steps(apply_job) if s.get("name") == "exit code of apply"), "")
    check(all(re.search(r'^\s*%s\)' % c, exit_step, re.M) for c in "034") and re.search(r'^\s*\*\)', exit_step, re.M),
          name + ": the exit code step handles 0, 3, 4 and the rest")
    # every flotilla command, every option
    seen = set()
    for jn, s, script in runs(doc):
        for cmd, opts in flotilla_calls(script):
            where = "%s: %s/%s: flotilla %s" % (name, jn, s.get("name", "?"), cmd)
            known = help_options(cmd) if re.fullmatch(r'[a-z]+', cmd) else None
            check(known is not None, where + " is a command (" + os.path.basename(flotilla) + " " + cmd + " --help)")
            if known is not None:
                bad = [o for o in opts if o not in known]
                check(not bad, where + " uses only options its --help lists", ", ".join(bad))
            seen.add(cmd)
    check({"validate", "plan", "apply"} <= seen, name + " runs flotilla validate, plan and apply", repr(sorted(seen)))

# --- github-actions.yml: hosted runners, the state in PostgreSQL -----------
doc, text = load("github-actions.yml")
if isinstance(doc, dict):
    name = "github-actions.yml"
    check_common(name, doc)
    for jn, job in (doc.get("jobs") or {}).items():
        labels = runs_on(job)
        check(bool(labels) and "self-hosted" not in labels and all(str(l).startswith("ubuntu-") for l in labels),
              name + ": job " + jn + " runs on a GitHub-hosted runner", repr(labels))
    states = env_values(doc, "FLOTILLA_STATE")
    check(bool(states) and all(re.fullmatch(r'\$\{\{\s*secrets\.\w+\s*\}\}', str(v)) for v in states),
          name + ": every FLOTILLA_STATE comes from secrets.", repr(states))
    for jn in ("plan", "apply"):
        job = (doc.get("jobs") or {}).get(jn) or {}
        given = [s for s in steps(job) if any(c in ("plan", "apply") for c, _ in flotilla_calls(s.get("run", "")))]
        has = [bool(env_values({"env": doc.get("env"), "jobs": {jn: {"env": job.get("env"), "steps": [s]}}},
                               "FLOTILLA_STATE")) for s in given]
        check(bool(given) and all(has), name + ": the " + jn + " job's flotilla " + jn + " gets FLOTILLA_STATE")
    leaks = [s.get("name", "?") for _, s, r in runs(doc)
             if re.search(r'\$\{?FLOTILLA_STATE\b|\$\{\{\s*secrets\.', r)]
    check(not leaks, name + ": no run script expands FLOTILLA_STATE or a secret (they reach flotilla through env)",
          ", ".join(leaks))
    state_opts = [(jn, c) for jn, s, r in runs(doc) for c, o in flotilla_calls(r) if "--state" in o]
    check(not state_opts, name + ": no flotilla command takes --state (the state is FLOTILLA_STATE)", repr(state_opts))
    code = "\n".join(r for _, _, r in runs(doc))
    check(re.search(r'(?<![\w.-])sqlite3(?![\w.-])', code) is None, name + ": no sqlite3 in its run scripts")
    plans = [l for _, s, r in runs({"jobs": {"plan": (doc.get("jobs") or {}).get("plan") or {}}})
             for l in r.replace("\\\n", " ").split("\n") if re.search(r'(^|\s)flotilla\s+plan\b', l)]
    check(len(plans) >= 1 and all(re.search(r'--refresh[= ]none\b', p) for p in plans),
          name + ": the pull request's plans take no lease (--refresh=none)", repr(plans))

# --- github-actions-sqlite.yml: a self-hosted runner, the state file -----
doc, text = load("github-actions-sqlite.yml")
if isinstance(doc, dict):
    name = "github-actions-sqlite.yml"
    check_common(name, doc)
    for jn, job in (doc.get("jobs") or {}).items():
        check("self-hosted" in runs_on(job), name + ": job " + jn + " runs on the self-hosted runner",
              repr(runs_on(job)))

sys.exit(1 if failed else 0)
PY
