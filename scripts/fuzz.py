#!/usr/bin/env python3
"""Fuzzes orchestrate's input parsing through the built binary (stdlib only; driven by scripts/fuzz.sh).

Each project is generated from a seed: a random revision graph (merges, several roots, and on purpose cycles,
missing parents, self-parents), environment files and a .env with a recognizable password in every URL, then
1 to 4 mutations (byte flips, truncation, huge numbers, NULs, CR/CRLF, BOMs, invalid UTF-8, marker near-misses,
duplicated keys, long lines, unicode, symbolic links, odd file names). The project is committed twice in a git
repository (the unmutated project on `main`, the mutated one on `feature`), then `heads`, `graph`, `plan`,
`doctor` and `check --base main` run on it, each with a timeout.

A run fails when the binary dies of a signal, exceeds the timeout, exits outside 0...4, prints a password,
prints a Swift runtime crash message, or refuses a file (exit 2) without naming any file of the project.

Database traffic goes to 127.0.0.1 only: PGHOSTADDR is set, so a host name that a mutation made up is never
looked up in DNS (libpq connects to hostaddr and uses host only for authentication).
"""
import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

PASSWORD = "Fz9SecretPW"  # every URL carries it; it must never be printed
PASSWORDS = [PASSWORD, "SECRETPW", "Tr0ub4dor"]
CRASH_MARKERS = ["Fatal error", "SIGILL", "SIGSEGV", "SIGABRT", "SIGTRAP", "Segmentation fault", "Illegal instruction",
                 "Stack dump", "Current stack trace", "Swift runtime failure", "Thread 0 crashed", "💣",
                 "Assertion failed", "Precondition failed", "Unexpectedly found nil", "Index out of range",
                 "Illegal instruction (core dumped)", "double free", "malloc(): ", "AddressSanitizer"]
COMMANDS = ["heads", "graph", "plan", "doctor", "check"]


class Config:
    def __init__(self, port, database, role):
        self.port, self.database, self.role = port, database, role


# ----------------------------------------------------------------------------------------------- project generation

ID_STYLES = [
    lambda r, i: "%03d_%s" % (i + 1, r.choice(["create_users", "add_orders", "idx", "x", "merge", "a.b-c"])),
    lambda r, i: "%014d_%s" % (20260101000000 + i * 100 + r.randrange(60), r.choice(["init", "more", "fix"])),
    lambda r, i: "%011x" % r.getrandbits(44),                       # Alembic
    lambda r, i: "V%d__%s" % (i + 1, r.choice(["init", "x", "Add_Col"])),  # Flyway
]


def revision_ids(r, count):
    style = r.choice(ID_STYLES)
    ids, seen = [], set()
    for i in range(count):
        rid = style(r, i)
        if rid in seen:
            rid += "_%d" % i
        seen.add(rid)
        ids.append(rid)
    return ids


def parent_graph(r, ids):
    """A random DAG in the order of ids (branches, merges, several roots, mostly one head), then perhaps a defect."""
    parents = {}
    for i, rid in enumerate(ids):
        if i == 0 or r.random() < 0.06:
            parents[rid] = []
        elif r.random() < 0.7:
            parents[rid] = [ids[i - 1]]
        else:
            parents[rid] = r.sample(ids[:i], 1 if r.random() < 0.7 else min(i, r.choice([2, 2, 3])))
    if r.random() < 0.75:                    # the last revision merges every other head
        last = ids[-1]
        used = {p for rid in ids[:-1] for p in parents[rid]}
        heads = [rid for rid in ids[:-1] if rid not in used]
        parents[last] = sorted(set(parents[last]) | set(heads)) if len(ids) > 1 else []
    defect = r.random()
    if len(ids) > 1 and defect < 0.08:      # a cycle
        a, b = sorted(r.sample(range(len(ids)), 2))
        parents[ids[a]] = parents[ids[a]] + [ids[b]]
    elif defect < 0.14:                      # a missing parent
        parents[r.choice(ids)] = [r.choice(["000_nope", "ffffffffff", "V0__gone", ids[0] + "x"])]
    elif defect < 0.17:                      # a self-parent
        rid = r.choice(ids)
        parents[rid] = [rid]
    elif defect < 0.20 and len(ids) > 1:     # a duplicated parent
        rid = r.choice(ids[1:])
        parents[rid] = parents[rid] + parents[rid][:1]
    return parents


def migration_text(r, rid, parents, index):
    lines = []
    if r.random() < 0.15:
        lines.append("-- Adds things; TODO: review")
    if parents:
        lines.append("-- parent: " + ", ".join(parents))
    transactional = r.random() > 0.15
    if not transactional:
        lines.append("-- transaction: false")
    lines.append("-- migrate:up")
    table = "t_%d" % index
    if transactional:
        body = r.choice([
            "CREATE TABLE %s (id int PRIMARY KEY, note text DEFAULT 'it''s -- not a comment');" % table,
            "CREATE TABLE %s (id int);\nCREATE FUNCTION f_%d() RETURNS int LANGUAGE sql AS $fn$ SELECT 1; $fn$;" % (table, index),
            "CREATE TABLE %s (id int);\n/* block /* nested */ comment */\nINSERT INTO %s VALUES (1);" % (table, table),
            "CREATE TABLE \"%s\" (\"weird;name\" text);" % table,
        ])
    else:
        body = "CREATE TABLE %s (id int);\nCREATE INDEX CONCURRENTLY %s_id ON %s (id);" % (table, table, table)
    lines.append(body)
    if r.random() < 0.85:
        lines.append("-- migrate:down")
        lines.append("DROP TABLE %s;" % table)
    return "\n".join(lines) + "\n"


def url_forms(r, cfg, db):
    """Database URLs: valid ones (the password works over 127.0.0.1) and malformed ones, all holding a password."""
    pw = r.choice(PASSWORDS) if r.random() < 0.3 else PASSWORD
    valid = [
        "postgresql://%s:%s@127.0.0.1:%d/%s?connect_timeout=3" % (cfg.role, pw, cfg.port, db),
        "postgres://%s:%s@localhost:%d/%s" % (cfg.role, pw, cfg.port, db),
        "host=127.0.0.1 port=%d dbname=%s user=%s password=%s" % (cfg.port, db, cfg.role, pw),
        "postgresql+psycopg2://%s:%s@127.0.0.1:%d/%s?sslmode=disable" % (cfg.role, pw, cfg.port, db),
        "postgresql://%s:%s@127.0.0.1:%d/%s?application_name=x&options=-c%%20search_path%%3Dpublic" % (cfg.role, pw, cfg.port, db),
    ]
    malformed = [
        "postgresq://u:%s@127.0.0.1/db" % pw,
        "user:%s@host/db" % pw,
        "postgresql://u:%s@127.0.0.1:99999999999999999999/db" % pw,
        "postgresql://u:%s@[::1/db" % pw,
        "postgresql://u:%s@127.0.0.1:%d/db?sslmode=bogus" % (pw, cfg.port),
        "host=127.0.0.1 password='%s dbname=x" % pw,
        "mysql://root:%s@127.0.0.1/db" % pw,
        "postgresql://u:%s@127.0.0.1:1/db" % pw,   # nothing listens there
        "postgresql://u:%s%%zz@127.0.0.1/db" % pw,
    ]
    return r.choice(valid) if r.random() < 0.7 else r.choice(malformed)


def environment_text(r, name, source, url, use_env_var):
    lines = ["# environment %s" % name]
    if use_env_var:
        lines.append('database_url = "${%s}"' % use_env_var if r.random() < 0.7
                     else 'database_url = "${%s:-postgresql://d:%s@127.0.0.1:1/x}"' % (use_env_var, PASSWORD))
    else:
        lines.append('database_url = "%s"' % url.replace("\\", "\\\\").replace('"', '\\"'))
    if source:
        lines.append('promotes_from = "%s"' % source)
    lines.append("connect_retries = 0")
    for key, values in [("lock_timeout", ['"2s"', '"500ms"', "3"]), ("ddl_lock_timeout", ['"5s"', '"1.5s"']),
                        ("statement_timeout", ['"0"', '"30s"']), ("ledger_schema", ['"orchestrate"', '"ledger_x"']),
                        ("protected", ["true", "false"]), ("transaction", ['"revision"', '"all"']),
                        ("ddl_lock_retries", ["3", "0"]), ("branch", ['"main"'])]:
        if r.random() < 0.3:
            lines.append("%s = %s" % (key, r.choice(values)))
    return "\n".join(lines) + "\n"


def dotenv_text(r, variables):
    lines = ["# local settings"]
    for name, value in variables.items():
        style = r.randrange(4)
        if style == 0:
            lines.append("%s=%s" % (name, value))
        elif style == 1:
            lines.append('export %s="%s"' % (name, value))
        elif style == 2:
            lines.append("%s='%s'  # comment" % (name, value))
        else:
            lines.append('%s="%s\n"' % (name, value))  # multi-line double-quoted value
    lines.append("OTHER=1")
    return "\n".join(lines) + "\n"


def base_project(r, cfg):
    """{relative path: bytes} of a valid-looking project, and the environment names."""
    files = {}
    ids = revision_ids(r, r.randint(1, 7))
    parents = parent_graph(r, ids)
    for index, rid in enumerate(ids):
        files["migrations/%s.sql" % rid] = migration_text(r, rid, parents[rid], index).encode()
    envs = ["dev"] + (["staging"] if r.random() < 0.4 else []) + (["broken"] if r.random() < 0.2 else [])
    variables = {}
    for i, name in enumerate(envs):
        url = url_forms(r, cfg, cfg.database)
        if name == "broken":
            url = "postgresq://u:%s@127.0.0.1/db" % PASSWORD if r.random() < 0.5 else "user:%s@host/db" % PASSWORD
        var = None
        if r.random() < 0.35:
            var = "%s_DATABASE_URL" % name.upper()
            variables[var] = url
        source = "dev" if name == "staging" else None
        files["environments/%s.toml" % name] = environment_text(r, name, source, url, var).encode()
    if variables or r.random() < 0.3:
        files[".env"] = dotenv_text(r, variables).encode()
    return files, envs


# ------------------------------------------------------------------------------------------------------ mutations

NEAR_MISSES = [b"-- migrate: up", b"--migrate:up", b"-- Migrate:up", b"-- migrate:UP", b"-- migrate:upp",
               b"-- migrate :up", b"-- migrate:down", b"-- migrate:", b"-- migrate:up -- again", b"\xe2\x80\x94 migrate:up",
               b"-- parent:", b"-- Parent: x", b"-- parents: x", b"-- transaction: maybe", b"-- transactional: false",
               b"-- transaction: false", b"--parent:x", b"-- parent: ,", b"-- parent: a,,b", b"-- migrate:down\n-- migrate:down"]
TOKENS = [b"${", b"${X}", b"${MISSING}", b"${A:-", b"$$", b'"""', b"'''", b"[", b"[[x]]", b"]]", b"=", b"\\u0000",
          b"\\", b'"', b"#", b"\n[env]\n", b"inf", b"nan", b"-0", b"0x10", b"1e3", b"true", b"[1,2]", b"{a=1}",
          b"database_url = 1", b"database_url = \"sandbox:\"", b"\t", b"\x0c", b"\x1b[31m", b";", b"'", b"/*", b"*/",
          b"$fn$", b"BEGIN ATOMIC", b"COMMIT;", b"\\.", b"::", b"%", b"%00", b"@", b"//", b"?", b"&"]
HUGE = [b"99999999999999999999999999", b"9223372036854775807", b"9223372036854775808", b"-9223372036854775809",
        b"1e400", b"-1", b"18446744073709551616", b"0.0000000000000000000001", b'"99999999999999999999h"',
        b'"1e300s"', b'"-5s"', b'"25h"', b'"86400.0000001s"', b"1_000", b"0b101", b"+inf"]
UNICODE = ["é", "漢字", "🙂", "\u200b", "\u202e", "\u2028", "\ufeff", "ß", "İ", "\u0301", "Ω", "\U0010ffff", "\ufffd"]
BAD_UTF8 = [b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80", b"\xfe\xff"]


def mutate_bytes(r, data):
    kind = r.randrange(16)
    n = len(data)
    pos = r.randint(0, n)
    if kind == 0 and n:                          # bit flips
        b = bytearray(data)
        for _ in range(r.randint(1, 4)):
            i = r.randrange(n)
            b[i] ^= 1 << r.randrange(8)
        return bytes(b), "byte flip"
    if kind == 1:                                # truncation
        return data[:pos], "truncated at %d" % pos
    if kind == 2:                                # huge numbers
        digits = [i for i, c in enumerate(data) if 48 <= c <= 57]
        if digits:
            i = r.choice(digits)
            j = i
            while j < n and 48 <= data[j] <= 57:
                j += 1
            return data[:i] + r.choice(HUGE) + data[j:], "huge number"
        return data + b"\nconnect_retries = " + r.choice(HUGE) + b"\n", "huge number"
    if kind == 3:
        return data[:pos] + b"\x00" * r.randint(1, 3) + data[pos:], "NUL"
    if kind == 4:
        return data.replace(b"\n", b"\r\n"), "CRLF"
    if kind == 5:
        return data.replace(b"\n", b"\r"), "CR"
    if kind == 6:
        return b"\xef\xbb\xbf" * r.randint(1, 2) + data, "BOM"
    if kind == 7:
        return data[:pos] + r.choice(BAD_UTF8) + data[pos:], "invalid UTF-8"
    if kind == 8:                                # marker near-miss
        lines = data.split(b"\n")
        i = r.randrange(len(lines))
        if r.random() < 0.5:
            lines[i] = r.choice(NEAR_MISSES)
        else:
            lines.insert(i, r.choice(NEAR_MISSES))
        return b"\n".join(lines), "marker near-miss"
    if kind == 9:                                # duplicated header / key line
        lines = data.split(b"\n")
        i = r.randrange(len(lines))
        lines.insert(i, lines[i])
        return b"\n".join(lines), "duplicated line"
    if kind == 10:                               # a long line
        fill = r.choice([b"x", b"-- ", b"a,", b"\\", b"$", b"9", b"\xc3\xa9"]) * r.choice([5000, 70000, 300000])
        return data[:pos] + fill + data[pos:], "long line"
    if kind == 11:
        return data[:pos] + r.choice(UNICODE).encode() + data[pos:], "unicode"
    if kind == 12:
        return data[:pos] + r.choice(TOKENS) + data[pos:], "token"
    if kind == 13 and n:                         # delete or duplicate a range
        a = r.randrange(n)
        b = min(n, a + r.randint(1, 40))
        return (data[:a] + data[b:], "deleted range") if r.random() < 0.5 else (data[:b] + data[a:b] + data[b:], "duplicated range")
    if kind == 14:
        return b"", "empty"
    b = bytearray(data)                          # random bytes
    for _ in range(r.randint(1, 8)):
        if b:
            b[r.randrange(len(b))] = r.randrange(256)
    return bytes(b), "random bytes"


def mutate_files(r, files, outside):
    """Mutates the project in place (a dict of path → bytes, or ('link', target) / ('dir',)); returns descriptions."""
    done = []
    for _ in range(r.choice([0, 1, 1, 1, 1, 2, 2, 3, 4])):
        paths = sorted(p for p, v in files.items() if isinstance(v, bytes))
        choice = r.random()
        if choice < 0.78 and paths:
            path = r.choice(paths)
            files[path], what = mutate_bytes(r, files[path])
            done.append("%s: %s" % (path, what))
        elif choice < 0.86 and paths:            # symbolic links
            path = r.choice(paths)
            kind = r.randrange(5)
            if kind == 0:
                target = r.choice([p for p in paths if p != path] or [path])
                files[path] = ("link", os.path.relpath(target, os.path.dirname(path)))
            elif kind == 1:
                files[path] = ("link", outside)
            elif kind == 2:
                files[path] = ("link", "does-not-exist.sql")
            elif kind == 3:
                files[path] = ("link", os.path.basename(path))  # a link to itself: a loop
            else:
                files[path] = ("link", "..")
            done.append("%s: symbolic link (%d)" % (path, kind))
        elif choice < 0.95 and paths:            # odd file names
            path = r.choice(paths)
            folder, name = os.path.split(path)
            stem, ext = os.path.splitext(name)
            new = r.choice([stem + ext.upper(), stem + "é" + ext, "-" + stem + ext, stem + " " + ext, "." + stem + ext,
                            stem + ext + ".bak", "🙂" + ext, stem + ext + "~", stem[:1] + ext, "x" * 250 + ext])
            if new in (".", "..", "") or os.path.join(folder, new) in files:
                continue
            files[os.path.join(folder, new)] = files.pop(path)
            done.append("%s: renamed to %r" % (path, new))
        else:                                    # a directory where a file is expected, or a second .env
            path = r.choice(["migrations/zz_dir.sql", "environments/qa.toml", ".env"])
            files[path] = ("dir",)
            done.append("%s: a directory" % path)
    return done


def write_project(root, files):
    for path, value in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        if os.path.lexists(full):
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)
        if isinstance(value, bytes):
            with open(full, "wb") as f:
                f.write(value)
        elif value[0] == "link":
            os.symlink(value[1], full)
        else:
            os.makedirs(full)


# --------------------------------------------------------------------------------------------------------- running

def clean_environment(cfg, home):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and not k.startswith("ORCHESTRATE_")
           and not k.endswith("DATABASE_URL")}
    env.update({
        "NO_COLOR": "1", "HOME": home, "PGHOSTADDR": "127.0.0.1", "PGPORT": str(cfg.port),
        "PGPASSFILE": "/nonexistent/pgpass", "PGSERVICEFILE": "/nonexistent/pg_service.conf",
        "PGSYSCONFDIR": "/nonexistent", "PGGSSENCMODE": "disable", "PGCONNECT_TIMEOUT": "3",
        "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "Fuzz", "GIT_AUTHOR_EMAIL": "fuzz@example.com",
        "GIT_COMMITTER_NAME": "Fuzz", "GIT_COMMITTER_EMAIL": "fuzz@example.com", "LC_ALL": "C.UTF-8",
    })
    return env


GIT = "git -c init.defaultBranch=main -c core.autocrlf=false -c commit.gpgsign=false -c core.symlinks=true"


def git(root, env, script):
    """Runs a few git commands in one shell (fewer process launches from Python)."""
    subprocess.run(["sh", "-c", script.replace("git ", GIT + " ")], cwd=root, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)


def run_one(binary, args, root, env, timeout, scratch):
    """Runs the binary; returns (exit code or -signal or None on timeout, stdout, stderr, seconds)."""
    out_path, err_path = scratch + ".out", scratch + ".err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen([binary] + args, cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            code = None
        seconds = time.monotonic() - started
    with open(out_path, "rb") as f:
        stdout = f.read()
    with open(err_path, "rb") as f:
        stderr = f.read()
    return code, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"), seconds


def command_arguments(r, name, envs):
    env = r.choice(envs + ["dev", "staging"]) if r.random() < 0.9 else "nope"
    choices = {
        "heads": [["heads"], ["heads", "--json"]],
        "graph": [["graph"], ["graph", "--offline"], ["graph", "--json"]],
        "plan": [["plan", env], ["plan", env, "--sql"], ["plan", env, "--json"], ["plan", env, "--down", "--to", "base"], ["plan", env, "--down", "--steps", "1"]],
        "doctor": [["doctor"], ["doctor", "--json"]],
        "check": [["check", "--base", "main"], ["check", "--base", "main", "--format", "github"],
                  ["check", "--base", "main", "--json"]],
    }[name]
    return r.choice(choices)


def judge(code, stdout, stderr, project_names):
    """Returns a list of (category, detail) problems for one run."""
    problems = []
    output = stdout + stderr
    if code is None:
        return [("hang", "exceeded the timeout")]
    if code < 0:
        problems.append(("crash", "killed by signal %d" % -code))
    elif code > 4:
        problems.append(("unexpected", "exit code %d" % code))
    for pw in PASSWORDS:
        if pw in output:
            problems.append(("leak", "password %s printed" % pw))
    for marker in CRASH_MARKERS:
        if marker in output:
            problems.append(("unexpected", "crash message %r" % marker))
            break
    if code == 2 and "Usage: " not in stderr and not any(name in output for name in project_names):
        problems.append(("unexpected", "exit 2 without naming a file or revision of the project"))
    if code not in (0, None) and not output.strip():
        problems.append(("unexpected", "exit %s with no output" % code))
    return problems


def fuzz_project(index, seed, cfg, binary, timeout, workdir, artifacts, outside):
    r = random.Random("%d/%d" % (seed, index))
    files, envs = base_project(r, cfg)
    root = os.path.join(workdir, "p%d" % index)
    home = os.path.join(workdir, "home")
    env = clean_environment(cfg, home)
    os.makedirs(root)
    write_project(root, files)
    git(root, env, "git init -q && git add -A && git commit -q -m base && git checkout -q -b feature")
    mutated = dict(files)
    mutations = mutate_files(r, mutated, outside)
    for path in files:
        if path not in mutated and os.path.lexists(os.path.join(root, path)):
            full = os.path.join(root, path)
            shutil.rmtree(full) if os.path.isdir(full) and not os.path.islink(full) else os.unlink(full)
    write_project(root, mutated)
    git(root, env, "git add -A && git commit -q --allow-empty -m mutated")
    names = set()
    for path in list(files) + list(mutated):
        names.add(path)
        names.add(os.path.basename(path))
        names.add(os.path.splitext(os.path.basename(path))[0])
    names.update(["migrations/", "environments/", ".env", "heads:", "environment `", "no environment"])
    results = []
    for name in COMMANDS:
        args = command_arguments(r, name, envs)
        code, stdout, stderr, seconds = run_one(binary, args, root, env, timeout, os.path.join(workdir, "run%d" % index))
        problems = judge(code, stdout, stderr, names)
        results.append((name, args, code, seconds, problems))
        if problems and artifacts:
            keep = os.path.join(artifacts, "seed%d-project%d" % (seed, index))
            if not os.path.exists(keep):
                shutil.copytree(root, keep, symlinks=True, ignore=shutil.ignore_patterns(".git"))
            with open(os.path.join(keep, "FAILURE.txt"), "a") as f:
                f.write("command: orchestrate %s\nexit: %s\nproblems: %s\nmutations: %s\n--- stdout\n%s\n--- stderr\n%s\n\n"
                        % (" ".join(args), code, problems, mutations, stdout[:4000], stderr[:4000]))
    shutil.rmtree(root, ignore_errors=True)
    for suffix in (".out", ".err"):
        try:
            os.unlink(os.path.join(workdir, "run%d" % index) + suffix)
        except FileNotFoundError:
            pass
    return index, mutations, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--projects", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--binary", required=True)
    parser.add_argument("--port", type=int, required=True, help="the test server's port on 127.0.0.1")
    parser.add_argument("--database", default="fuzz")
    parser.add_argument("--role", default="fuzzer")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--artifacts", default="", help="a folder to copy failing projects into")
    options = parser.parse_args()
    cfg = Config(options.port, options.database, options.role)
    workdir = tempfile.mkdtemp(prefix="orchestrate-fuzz-")
    os.makedirs(os.path.join(workdir, "home"))
    outside = os.path.join(tempfile.gettempdir(), "orchestrate-fuzz-outside-%d.sql" % os.getpid())
    with open(outside, "w") as f:
        f.write("-- migrate:up\nSELECT 1;\n")
    if options.artifacts:
        os.makedirs(options.artifacts, exist_ok=True)

    # SIGTERM (a cancelled CI job) ends the run through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    codes, problems, per_command, by_command, slowest = Counter(), Counter(), Counter(), Counter(), (0.0, "")
    examples = {}
    runs = 0
    lock = threading.Lock()
    progress_every = max(1, options.projects // 20)

    def collect(future):
        nonlocal runs, slowest
        try:
            index, mutations, results = future.result()
        except Exception as error:  # a defect of this script, not of orchestrate: counted, and the run goes on
            with lock:
                problems["harness"] += 1
                examples.setdefault(("harness", repr(error)[:200]), "")
            return
        with lock:
            for name, args, code, seconds, found in results:
                runs += 1
                per_command[name] += 1
                label = "timeout" if code is None else ("signal %d" % -code if code < 0 else str(code))
                codes[label] += 1
                by_command[(name, label)] += 1
                if seconds > slowest[0]:
                    slowest = (seconds, "project %d: orchestrate %s" % (index, " ".join(args)))
                for category, detail in found:
                    problems[category] += 1
                    examples.setdefault((category, detail), "project %d (seed %d): orchestrate %s; mutations: %s"
                                        % (index, options.seed, " ".join(args), "; ".join(mutations)))
            done = sum(per_command.values()) // len(COMMANDS)
            if done % progress_every == 0:
                print("fuzz: %d/%d projects, %.0f s" % (done, options.projects, time.monotonic() - started),
                      file=sys.stderr, flush=True)

    try:
        with ThreadPoolExecutor(max_workers=options.workers) as pool:
            futures = []
            for index in range(options.projects):
                futures.append(pool.submit(fuzz_project, index, options.seed, cfg, options.binary, options.timeout,
                                           workdir, options.artifacts, outside))
                if len(futures) >= options.workers * 4:
                    collect(futures.pop(0))
            for future in futures:
                collect(future)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        os.unlink(outside)

    elapsed = time.monotonic() - started
    failed = problems["crash"] + problems["hang"] + problems["leak"] + problems["unexpected"] + problems["harness"]
    print("fuzz results (seed %d, %s)" % (options.seed, os.path.basename(options.binary)))
    print("  inputs:             %d projects, %d runs (%s)" % (options.projects, runs,
                                                               ", ".join("%s %d" % (c, per_command[c]) for c in COMMANDS)))
    print("  crashes:            %d (signal deaths)" % problems["crash"])
    print("  hangs:              %d (> %g s, killed)" % (problems["hang"], options.timeout))
    print("  exit codes:         %s" % ", ".join("%s: %d" % (k, v) for k, v in sorted(codes.items())))
    for name in COMMANDS:
        print("    %-16s  %s" % (name, ", ".join("%s: %d" % (label, count) for (command, label), count
                                                 in sorted(by_command.items()) if command == name)))
    print("  passwords printed:  %d" % problems["leak"])
    print("  unexpected outputs: %d" % problems["unexpected"])
    if problems["harness"]:
        print("  harness errors:     %d (projects this script failed to make)" % problems["harness"])
    print("  slowest run:        %.2f s (%s)" % slowest)
    print("  time:               %.0f s with %d workers" % (elapsed, options.workers))
    for (category, detail), where in sorted(examples.items()):
        print("  %s: %s — first seen in %s" % (category, detail, where))
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
