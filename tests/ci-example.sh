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
import json, os, re, shlex, subprocess, sys

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
    applies = [o for _, s, r in runs({"jobs": {"apply": apply_job}}) for c, o in flotilla_calls(r) if c == "apply"]
    check(len(applies) == 1, name + ": the apply job runs flotilla apply once", str(len(applies)))
    opts = applies[0] if applies else []
    for o in ("--auto-approve", "--lock-timeout", "--secrets-dir", "--continue-on-error", "--changed-since"):
        check(o in opts, name + ": flotilla apply has " + o, repr(opts))
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
    check(len(plans) == 1 and re.search(r'--refresh[= ]none\b', plans[0]) is not None,
          name + ": the pull request's plan takes no lease (--refresh=none)", repr(plans))

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
