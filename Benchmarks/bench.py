#!/usr/bin/env python3
"""Benchmarks orchestrate side by side with psql, Alembic and Sqitch on the same SQL and the same server.

Run it through `bash Benchmarks/run.sh` (which installs what is missing and builds the release binary):

    bash Benchmarks/run.sh            the full benchmark; writes Benchmarks/results.md
    bash Benchmarks/run.sh --smoke    N = 50, one repetition, orchestrate only; asserts the schemas (CI)

Everything generated lives in Benchmarks/.work (projects) and /dev/shm or /tmp (the throwaway PostgreSQL cluster)
and is removed or ignored by git. Only the standard library is used here; Alembic runs from Benchmarks/.venv.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / ".work"
VENV = BENCH / ".venv"
BINARY = ROOT / ".build" / "release" / "orchestrate"
GNU_TIME = "/usr/bin/time"
SEED = 20261201
REPS = 5                 # repetitions of every timed run (median), fewer for runs over SLOW_SECONDS
SLOW_SECONDS = 20.0
SLOW_REPS = 3
FAST_REPS = 15           # commands that take milliseconds get more repetitions (cheap, and less noise)


class BenchError(Exception):
    """A failure that stops the benchmark: a tool failed, or produced the wrong schema."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------------
# The revisions: one deterministic list, written out for each tool
# ---------------------------------------------------------------------------------------------------------------

COLUMN_TYPES = [  # (SQL type as written, the type as format_type() prints it)
    ("integer", "integer"), ("text", "text"), ("boolean", "boolean"), ("numeric(12,2)", "numeric(12,2)"),
    ("timestamptz", "timestamp with time zone"), ("jsonb", "jsonb"), ("bigint", "bigint"), ("date", "date"),
    ("varchar(80)", "character varying(80)"),
]
WORDS = ["amount", "status", "score", "note", "label", "flag", "total", "code", "due_on", "payload", "kind", "rank"]


@dataclass
class Revision:
    id: str
    parents: list[str]
    up: list[str]                 # statements, without the trailing semicolon
    down: list[str]
    verify: str                   # a Sqitch verify query


@dataclass
class Schema:
    """The schema the revisions produce in `public`, as the rows `SCHEMA_QUERY` returns."""
    rows: set[str] = field(default_factory=set)

    def table(self, name: str, columns: list[tuple[str, str]]) -> None:
        for column, shown in columns:
            self.rows.add(f"T|{name}|{column}|{shown}")

    def index(self, table: str, name: str) -> None:
        self.rows.add(f"I|{table}|{name}")

    def constraint(self, table: str, name: str, kind: str) -> None:
        self.rows.add(f"C|{table}|{name}|{kind}")


SCHEMA_QUERY = """
SELECT 'T|' || c.relname || '|' || a.attname || '|' || format_type(a.atttypid, a.atttypmod)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped AND c.relname <> 'alembic_version'
UNION ALL
SELECT 'I|' || tablename || '|' || indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'alembic_version'
UNION ALL
SELECT 'C|' || c.relname || '|' || k.conname || '|' || k.contype::text
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND k.contype IN ('p', 'f', 'c', 'u') AND c.relname <> 'alembic_version';
"""


def generate(count: int, seed: int = SEED, branch_every: int = 40) -> tuple[list[Revision], Schema]:
    """`count` revisions in topological order: mostly new tables with a few columns and an index, some that
    reference or alter earlier tables, and every `branch_every` revisions a branch point with two short sides
    joined by a merge revision. A revision only touches tables its ancestors created."""
    rng = random.Random(seed)
    schema = Schema()
    revisions: list[Revision] = []
    trunk: list[str] = []          # tables every later revision can see

    def make(index: int, parents: list[str], visible: list[str], kind: str | None = None) -> tuple[Revision, str | None]:
        if kind is None:
            roll = rng.random()
            kind = "create" if not visible or roll < 0.65 else ("reference" if roll < 0.80 else "alter")
        if kind in ("create", "reference"):
            table = f"t{index:05d}"
            columns = [(f"{WORDS[(index + j) % len(WORDS)]}_{j}", rng.choice(COLUMN_TYPES)) for j in range(rng.randint(2, 4))]
            lines = [f"    id bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT {table}_pkey PRIMARY KEY",
                     "    name text NOT NULL"]
            shown = [("id", "bigint"), ("name", "text")]
            up_extra: list[str] = []
            if kind == "reference":
                other = rng.choice(visible)
                lines.append(f"    {other}_id bigint NOT NULL CONSTRAINT {table}_{other}_fkey REFERENCES {other} (id) ON DELETE CASCADE")
                shown.append((f"{other}_id", "bigint"))
                up_extra.append(f"CREATE INDEX {table}_{other}_id_idx ON {table} ({other}_id)")
                schema.constraint(table, f"{table}_{other}_fkey", "f")
                schema.index(table, f"{table}_{other}_id_idx")
            for name, (written, printed) in columns:
                lines.append(f"    {name} {written}")
                shown.append((name, printed))
            lines.append("    created_at timestamptz NOT NULL DEFAULT now()")
            shown.append(("created_at", "timestamp with time zone"))
            up = [f"CREATE TABLE {table} (\n" + ",\n".join(lines) + "\n)",
                  f"CREATE INDEX {table}_name_idx ON {table} (name)"] + up_extra
            schema.table(table, shown)
            schema.constraint(table, f"{table}_pkey", "p")
            schema.index(table, f"{table}_pkey")
            schema.index(table, f"{table}_name_idx")
            rev_id = f"r{index:05d}_create_{table}"
            verify = f"SELECT id, name, created_at FROM {table} WHERE false"
            return Revision(rev_id, parents, up, [f"DROP TABLE {table}"], verify), table
        table = rng.choice(visible)
        column = f"x{index:05d}"
        if rng.random() < 0.6:
            written, printed = rng.choice(COLUMN_TYPES)
            up = [f"ALTER TABLE {table} ADD COLUMN {column} {written}",
                  f"CREATE INDEX {table}_{column}_idx ON {table} ({column})"]
            down = [f"DROP INDEX {table}_{column}_idx", f"ALTER TABLE {table} DROP COLUMN {column}"]
            schema.index(table, f"{table}_{column}_idx")
        else:
            printed = "integer"
            up = [f"ALTER TABLE {table} ADD COLUMN {column} integer NOT NULL DEFAULT 0",
                  f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_check CHECK ({column} >= 0)"]
            down = [f"ALTER TABLE {table} DROP COLUMN {column}"]
            schema.constraint(table, f"{table}_{column}_check", "c")
        schema.table(table, [(column, printed)])
        return Revision(f"r{index:05d}_alter_{table}", parents, up, down, f"SELECT {column} FROM {table} WHERE false"), None

    head: list[str] = []
    while len(revisions) < count:
        index = len(revisions)
        left, right = rng.randint(1, 3), rng.randint(1, 3)
        if branch_every and head and index % branch_every == branch_every - 1 and count - index >= left + right + 1:
            tips = []
            side_tables: list[str] = []
            for length in (left, right):
                parents, visible = head, list(trunk)
                for _ in range(length):
                    revision, table = make(len(revisions), parents, visible)
                    revisions.append(revision)
                    if table:
                        visible.append(table)
                        side_tables.append(table)
                    parents = [revision.id]
                tips.append(parents[0])
            trunk.extend(side_tables)
            revision, table = make(len(revisions), tips, trunk, kind="create")
        else:
            revision, table = make(index, head, trunk)
        revisions.append(revision)
        if table:
            trunk.append(table)
        head = [revision.id]
    return revisions, schema


def write_orchestrate_project(directory: Path, revisions: list[Revision]) -> None:
    """Our format: environments/*.toml reading their URLs from variables, migrations/<id>.sql, one git commit."""
    (directory / "environments").mkdir(parents=True)
    (directory / "migrations").mkdir()
    (directory / "environments" / "dev.toml").write_text('database_url = "${BENCH_DEV_URL}"\n')
    (directory / "environments" / "staging.toml").write_text('database_url = "${BENCH_STAGING_URL}"\npromotes_from = "dev"\n')
    (directory / "environments" / "production.toml").write_text('database_url = "${BENCH_PRODUCTION_URL}"\npromotes_from = "staging"\n')
    for revision in revisions:
        (directory / "migrations" / f"{revision.id}.sql").write_text(migration_text(revision))
    git_commit_all(directory, f"{len(revisions)} revisions")


def migration_text(revision: Revision) -> str:
    header = f"-- parent: {', '.join(revision.parents)}\n" if revision.parents else ""
    return (header + "-- migrate:up\n" + "".join(f"{s};\n" for s in revision.up)
            + "\n-- migrate:down\n" + "".join(f"{s};\n" for s in revision.down))


GIT_IDENTITY = ["-c", "user.name=Bench", "-c", "user.email=bench@example.com", "-c", "init.defaultBranch=main",
                "-c", "commit.gpgsign=false"]


def git_commit_all(directory: Path, message: str) -> None:
    run(["git", *GIT_IDENTITY, "init", "-q"], cwd=directory)
    run(["git", *GIT_IDENTITY, "add", "-A"], cwd=directory)
    run(["git", *GIT_IDENTITY, "commit", "-q", "-m", message], cwd=directory)


def write_psql_scripts(directory: Path, revisions: list[Revision]) -> None:
    """up/<id>.sql per revision (the same up SQL); per_file.sql runs each in its own transaction in one
    session, single.sql includes them all for `psql -1`."""
    (directory / "up").mkdir(parents=True)
    per_file, single = [], []
    for revision in revisions:
        (directory / "up" / f"{revision.id}.sql").write_text("".join(f"{s};\n" for s in revision.up))
        per_file.append(f"BEGIN;\n\\ir up/{revision.id}.sql\nCOMMIT;\n")
        single.append(f"\\ir up/{revision.id}.sql\n")
    (directory / "per_file.sql").write_text("".join(per_file))
    (directory / "single.sql").write_text("".join(single))


ALEMBIC_ENV = '''\
import os

from alembic import context
from sqlalchemy import create_engine, pool

# The database comes from BENCH_ALEMBIC_URL; host and port from PGHOST/PGPORT (a Unix socket).
engine = create_engine(os.environ["BENCH_ALEMBIC_URL"], poolclass=pool.NullPool)
with engine.connect() as connection:
    # A transaction per revision, like orchestrate and like psql per file.
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
'''


def write_alembic_project(directory: Path, revisions: list[Revision]) -> None:
    """An Alembic project: one version file per revision, `op.execute` per statement, the same revision chain."""
    (directory / "versions").mkdir(parents=True)
    (directory / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s\n")
    (directory / "env.py").write_text(ALEMBIC_ENV)
    for revision in revisions:
        if not revision.parents:
            down = "None"
        elif len(revision.parents) == 1:
            down = repr(revision.parents[0])
        else:
            down = "(" + ", ".join(repr(p) for p in revision.parents) + ")"
        body = [f'"""{revision.id}"""', "from alembic import op", "",
                f"revision = {revision.id!r}", f"down_revision = {down}", "branch_labels = None", "depends_on = None",
                "", "", "def upgrade():"]
        body += [f"    op.execute({s!r})" for s in revision.up]
        body += ["", "", "def downgrade():"]
        body += [f"    op.execute({s!r})" for s in revision.down]
        (directory / "versions" / f"{revision.id}.py").write_text("\n".join(body) + "\n")


def write_sqitch_project(directory: Path, revisions: list[Revision]) -> None:
    """A Sqitch project (engine pg): sqitch.plan with merges as requirements, deploy/revert/verify scripts."""
    for sub in ("deploy", "revert", "verify"):
        (directory / sub).mkdir(parents=True)
    (directory / "sqitch.conf").write_text("[core]\n\tengine = pg\n\tplan_file = sqitch.plan\n\ttop_dir = .\n")
    plan = ["%syntax-version=1.0.0", "%project=bench", ""]
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    for number, revision in enumerate(revisions):
        stamp = (start + datetime.timedelta(minutes=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
        requires = f" [{' '.join(revision.parents)}]" if len(revision.parents) > 1 else ""
        plan.append(f"{revision.id}{requires} {stamp} Bench <bench@example.com> # revision {number}")
        (directory / "deploy" / f"{revision.id}.sql").write_text("BEGIN;\n" + "".join(f"{s};\n" for s in revision.up) + "COMMIT;\n")
        (directory / "revert" / f"{revision.id}.sql").write_text("BEGIN;\n" + "".join(f"{s};\n" for s in revision.down) + "COMMIT;\n")
        (directory / "verify" / f"{revision.id}.sql").write_text(f"BEGIN;\n{revision.verify};\nROLLBACK;\n")
    (directory / "sqitch.plan").write_text("\n".join(plan) + "\n")


def write_check_repository(directory: Path, revisions: list[Revision], commits: int = 20_000, feature_commits: int = 40,
                           feature_revisions: int = 10, base_ahead: int = 50) -> None:
    """A git repository with `commits` commits for `check --base main`: main adds the revisions one commit in
    four (the others edit source files), a feature branch forks `base_ahead` commits before main's tip and adds
    the last `feature_revisions` revisions among `feature_commits` commits. HEAD is the feature branch."""
    directory.mkdir(parents=True)
    run(["git", *GIT_IDENTITY, "init", "-q"], cwd=directory)
    main_revisions = revisions[:len(revisions) - feature_revisions]
    branch_point = commits - feature_commits - base_ahead      # commits on main up to the fork
    every = max(1, branch_point // len(main_revisions))
    stream: list[bytes] = []
    clock = 1_700_000_000

    def blob(text: str) -> bytes:
        data = text.encode()
        return b"data %d\n" % len(data) + data + b"\n"

    def commit(ref: str, mark: int, message: str, changes: list[tuple[str, str]], parent: int | None) -> None:
        nonlocal clock
        clock += 60
        stream.append(f"commit {ref}\nmark :{mark}\n".encode())
        stream.append(f"author Bench <bench@example.com> {clock} +0000\ncommitter Bench <bench@example.com> {clock} +0000\n".encode())
        stream.append(blob(message))
        if parent is not None:
            stream.append(f"from :{parent}\n".encode())
        for path, text in changes:
            stream.append(f"M 100644 inline {path}\n".encode())
            stream.append(blob(text))

    pending = list(main_revisions)
    mark = 0
    for number in range(branch_point + base_ahead):
        mark += 1
        if number == 0:
            changes = [("environments/dev.toml", 'database_url = "${BENCH_DEV_URL:-host=/nonexistent dbname=none}"\n'),
                       ("README.md", "bench project\n")]
        elif pending and number < branch_point and (number % every == 0 or branch_point - number <= len(pending)):
            revision = pending.pop(0)
            changes = [(f"migrations/{revision.id}.sql", migration_text(revision))]
        else:
            changes = [(f"src/module_{number % 97:02d}.txt", f"module {number % 97}, change {number}\n")]
        commit("refs/heads/main", mark, f"main commit {number}", changes, mark - 1 if mark > 1 else None)
        if number == branch_point - 1:
            fork = mark
    assert not pending, "every main revision is committed before the fork"
    feature = revisions[len(main_revisions):]
    every_feature = max(1, feature_commits // max(1, len(feature)))
    parent = fork
    for number in range(feature_commits):
        mark += 1
        if feature and number % every_feature == 0:
            revision = feature.pop(0)
            changes = [(f"migrations/{revision.id}.sql", migration_text(revision))]
        else:
            changes = [(f"src/feature_{number:02d}.txt", f"feature change {number}\n")]
        commit("refs/heads/feature", mark, f"feature commit {number}", changes, parent)
        parent = mark
    assert not feature
    subprocess.run(["git", "fast-import", "--quiet"], cwd=directory, input=b"".join(stream), check=True)
    run(["git", "symbolic-ref", "HEAD", "refs/heads/feature"], cwd=directory)
    run(["git", "reset", "-q", "--hard"], cwd=directory)
    count = int(run(["git", "rev-list", "--count", "--all"], cwd=directory).strip())
    if count != commits:
        raise BenchError(f"the check repository has {count} commits, expected {commits}")


# ---------------------------------------------------------------------------------------------------------------
# The throwaway PostgreSQL cluster
# ---------------------------------------------------------------------------------------------------------------

def run(command: list[str], cwd: Path | str | None = None, env: dict[str, str] | None = None, input: str | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, input=input, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"`{' '.join(map(str, command))}` exited {result.returncode}:\n{result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def cluster_parent() -> str:
    """Where the throwaway cluster lives: $ORCHESTRATE_BENCH_CLUSTER_DIR, else /dev/shm when it is a tmpfs with room
    (4 GiB), else /tmp. On disk, runs were slowed by up to 2.5x at random and the first run of each group (after a
    pause) was the fastest for every tool: the file system was still busy with the files of the database dropped
    after the previous run (ext4 mounted with `discard` here)."""
    chosen = os.environ.get("ORCHESTRATE_BENCH_CLUSTER_DIR")
    if chosen:
        return chosen
    try:
        shm = os.statvfs("/dev/shm")
        if os.access("/dev/shm", os.W_OK) and shm.f_bavail * shm.f_frsize >= 4 << 30:
            return "/dev/shm"
    except OSError:
        pass
    return "/tmp"


class Server:
    """initdb + pg_ctl in a temporary folder, listening only on a Unix socket, fsync off. As root the server runs
    as the `postgres` user from `/` (PostgreSQL refuses to run as root)."""

    def __init__(self) -> None:
        bindirs = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
        override = os.environ.get("ORCHESTRATE_PG_BINDIR")
        self.bindir = Path(override) if override else (bindirs[-1] if bindirs else None)
        if not self.bindir or not (self.bindir / "pg_ctl").exists():
            raise BenchError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.dir = Path(tempfile.mkdtemp(prefix="orchestrate-bench-pg-", dir=cluster_parent()))
        self.port = 20000 + random.SystemRandom().randrange(20000)
        self.root = os.geteuid() == 0
        self.started = False

    def as_server(self, command: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *command] if self.root else command

    def start(self, statement_stats: bool = False) -> None:
        os.chmod(self.dir, 0o755)
        if self.root:
            shutil.chown(self.dir, user="postgres")
        data = self.dir / "data"
        run(self.as_server([str(self.bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
                            "-E", "UTF8", "--locale=C", "--no-sync"]), cwd="/")
        # autovacuum off: its workers wake at random moments and analyse the catalogs the runs fill, which only
        # adds noise to the server CPU of whichever tool happens to run then (every run gets a fresh database).
        options = (f"-c listen_addresses='' -k {self.dir} -p {self.port} -c fsync=off -c full_page_writes=off "
                   "-c synchronous_commit=off -c max_connections=100 -c autovacuum=off")
        if statement_stats:
            options += " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on"
        run(self.as_server([str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "server.log"), "-w",
                            "-t", "60", "-o", options, "start"]), cwd="/")
        self.started = True
        self.postmaster = int((data / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.started:
            subprocess.run(self.as_server([str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                                           "-w", "stop"]), cwd="/", capture_output=True)
            self.started = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(PGHOST=str(self.dir), PGPORT=str(self.port), PGUSER="postgres", NO_COLOR="1")
        return env

    def conninfo(self, database: str) -> str:
        return f"host={self.dir} port={self.port} user=postgres dbname={database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        return run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", database], env=self.environment(), input=sql)

    def version(self) -> str:
        return self.psql("SHOW server_version;").strip()

    def create(self, database: str) -> str:
        self.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE); CREATE DATABASE "{database}";')
        return database

    def drop(self, database: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);')

    def cpu_seconds(self) -> float:
        """CPU time of the whole cluster so far: the postmaster, its live children, and the children it reaped
        (backends of finished connections), from /proc."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            pid, ppid = int(entry), int(fields[1])
            if pid == self.postmaster:
                total += sum(int(f) for f in fields[11:15])      # utime stime cutime cstime
            elif ppid == self.postmaster:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def schema_rows(self, database: str) -> set[str]:
        return set(line for line in self.psql(SCHEMA_QUERY, database).splitlines() if line)


def check_schema(server: Server, database: str, expected: Schema, what: str) -> None:
    actual = server.schema_rows(database)
    if actual != expected.rows:
        missing = sorted(expected.rows - actual)
        extra = sorted(actual - expected.rows)
        raise BenchError(f"{what}: wrong schema in {database}: {len(missing)} expected rows missing, {len(extra)} unexpected"
                         f"\n  missing: {missing[:8]}\n  unexpected: {extra[:8]}")


# ---------------------------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------------------------

@dataclass
class Sample:
    wall: float          # seconds, around the process
    cpu: float           # user + sys of the process and the children it waited for (GNU time)
    rss_kib: int         # peak resident set size (GNU time %M)
    server_cpu: float    # CPU the PostgreSQL cluster spent meanwhile


def timed(command: list[str], env: dict[str, str], cwd: Path | str, server: Server | None, what: str,
          expect_status: int = 0) -> Sample:
    """Runs `command` under GNU time; fails unless it exits with `expect_status`."""
    with tempfile.NamedTemporaryFile("r", prefix="bench-time-", suffix=".txt") as report:
        before = server.cpu_seconds() if server else 0.0
        started = time.perf_counter()
        result = subprocess.run([GNU_TIME, "-f", "%e %U %S %M", "-o", report.name, "--", *command], cwd=cwd, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=3600)
        wall = time.perf_counter() - started
        if server:
            time.sleep(0.05)  # let the postmaster reap the backend that just ended (outside the timed window)
        after = server.cpu_seconds() if server else 0.0
        lines = [line for line in report.read().splitlines() if line.strip()]
    if result.returncode != expect_status:
        output = (result.stderr.decode(errors="replace") + result.stdout.decode(errors="replace")).strip()
        raise BenchError(f"{what}: `{' '.join(map(str, command))}` exited {result.returncode}:\n{output[-3000:]}")
    _, user, system, rss = lines[-1].split()
    return Sample(wall, float(user) + float(system), int(rss), after - before)


@dataclass
class Result:
    group: str
    tool: str
    samples: list[Sample]
    reference: bool = False
    note: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(s.wall for s in self.samples)

    @property
    def cpu(self) -> float:
        return statistics.median(s.cpu for s in self.samples)

    @property
    def server_cpu(self) -> float:
        return statistics.median(s.server_cpu for s in self.samples)

    @property
    def rss_mib(self) -> float:
        return max(s.rss_kib for s in self.samples) / 1024

    def ratio_to(self, reference: "Result") -> float:
        """The median of the per-repetition ratios when both ran the same repetitions round-robin (each pair ran
        back to back, so a change in the machine's load cancels out), else the ratio of the medians."""
        if len(self.samples) == len(reference.samples) > 1:
            return statistics.median(a.wall / b.wall for a, b in zip(self.samples, reference.samples))
        return self.wall / reference.wall


@dataclass
class Tool:
    name: str
    command: list[str]
    cwd: Path
    prepare: callable           # () -> (env, database or None)
    verify: callable | None     # (database) -> None
    reps: int = REPS


def measure(group: str, tools: list[Tool], server: Server, reference: str, warmup: bool = False) -> list[Result]:
    """Runs the tools round-robin (so that a change in the machine's load hits all of them alike) until each has
    its repetitions; a tool whose first run takes over SLOW_SECONDS gets SLOW_REPS."""
    samples: dict[str, list[Sample]] = {t.name: [] for t in tools}
    wanted = {t.name: t.reps for t in tools}
    if warmup:
        for tool in tools:
            env, database = tool.prepare()
            timed(tool.command, env, tool.cwd, None, f"{group}, {tool.name} (warm-up)")
            if database:
                server.drop(database)
    for rep in range(max(wanted.values())):
        for tool in tools:
            if len(samples[tool.name]) >= wanted[tool.name]:
                continue
            env, database = tool.prepare()
            sample = timed(tool.command, env, tool.cwd, server, f"{group}, {tool.name}")
            if tool.verify:
                tool.verify(database)
            if database and tool.verify is not None:
                server.drop(database)
            samples[tool.name].append(sample)
            if rep == 0 and sample.wall > SLOW_SECONDS:
                wanted[tool.name] = min(wanted[tool.name], SLOW_REPS)
            log(f"  {group} | {tool.name}: {format_seconds(sample.wall)} wall, {format_seconds(sample.cpu)} CPU, "
                f"{sample.rss_kib / 1024:.1f} MiB")
    return [Result(group, t.name, samples[t.name], reference=(t.name == reference)) for t in tools]


def format_seconds(seconds: float) -> str:
    if seconds < 0.995:
        return f"{seconds * 1000:.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


# ---------------------------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, server: Server, smoke: bool) -> None:
        self.server = server
        self.smoke = smoke
        self.counter = 0
        self.results: list[Result] = []
        self.verdicts: list[tuple[str, str, str, str]] = []     # (target, measured, verdict, note)
        self.projects: dict[int, tuple[list[Revision], Schema]] = {}
        self.alembic = VENV / "bin" / "alembic"
        self.fleet_results: list[Result] = []                   # the fleet scenario (Benchmarks/fleet.py)
        self.fleet_verdicts: list[tuple[str, str, str, str]] = []

    # projects -----------------------------------------------------------------------------------------------------

    def project(self, count: int, peers: bool) -> Path:
        directory = WORK / f"n{count}"
        if directory.exists():
            shutil.rmtree(directory)
        revisions, schema = generate(count)
        self.projects[count] = (revisions, schema)
        started = time.perf_counter()
        write_orchestrate_project(directory / "orchestrate", revisions)
        (directory / "expected-schema.txt").write_text("\n".join(sorted(schema.rows)) + "\n")
        if peers:
            write_psql_scripts(directory / "psql", revisions)
            write_alembic_project(directory / "alembic", revisions)
            write_sqitch_project(directory / "sqitch", revisions)
            run([str(self.alembic), "heads"], cwd=directory / "alembic", env=self.server.environment())  # compiles the .pyc files once
        merges = sum(1 for r in revisions if len(r.parents) > 1)
        log(f"generated {count} revisions ({merges} merges, {len(schema.rows)} schema rows) in {time.perf_counter() - started:.1f} s")
        return directory

    def fresh(self, label: str) -> str:
        self.counter += 1
        return self.server.create(f"bench_{label}_{self.counter}")

    def env(self, **urls: str) -> dict[str, str]:
        env = self.server.environment()
        for stage in ("dev", "staging", "production"):
            env[f"BENCH_{stage.upper()}_URL"] = urls.get(stage) or self.server.conninfo("bench_unused")
        return env

    def verifier(self, count: int, what: str):
        return lambda database: check_schema(self.server, database, self.projects[count][1], what)

    # tools ---------------------------------------------------------------------------------------------------------

    def ours_upgrade(self, directory: Path, count: int, database: str | None = None) -> Tool:
        def prepare():
            db = database or self.fresh("ours")
            return self.env(dev=self.server.conninfo(db)), db
        verify = self.verifier(count, "orchestrate upgrade") if database is None else None
        return Tool("orchestrate upgrade", [str(BINARY), "upgrade", "dev"], directory / "orchestrate", prepare, verify)

    def psql_tool(self, directory: Path, count: int, single: bool) -> Tool:
        name = "psql -1 (one transaction)" if single else "psql, a transaction per file"

        def prepare():
            db = self.fresh("psql")
            return {**self.server.environment(), "PGDATABASE": db}, db
        command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *(["-1"] if single else []), "-f", "single.sql" if single else "per_file.sql"]
        return Tool(name, command, directory / "psql", prepare, self.verifier(count, name))

    def alembic_upgrade(self, directory: Path, count: int) -> Tool:
        def prepare():
            db = self.fresh("alembic")
            return {**self.server.environment(), "BENCH_ALEMBIC_URL": f"postgresql+psycopg2://postgres@/{db}"}, db
        return Tool("alembic upgrade head", [str(self.alembic), "upgrade", "head"], directory / "alembic", prepare,
                    self.verifier(count, "alembic upgrade head"))

    def sqitch_deploy(self, directory: Path, count: int) -> Tool:
        def prepare():
            db = self.fresh("sqitch")
            env = {**self.server.environment(), "SQITCH_FULLNAME": "Bench", "SQITCH_EMAIL": "bench@example.com",
                   "SQITCH_TARGET": f"db:pg:{db}"}
            return env, db
        return Tool("sqitch deploy", ["sqitch", "--quiet", "deploy"], directory / "sqitch", prepare,
                    self.verifier(count, "sqitch deploy"))

    def alembic_on(self, directory: Path, database: str, name: str, *args: str, reps: int = REPS) -> Tool:
        env = {**self.server.environment(), "BENCH_ALEMBIC_URL": f"postgresql+psycopg2://postgres@/{database}"}
        return Tool(name, [str(self.alembic), *args], directory / "alembic", lambda: (env, None), None, reps)

    def alembic_stamped(self, directory: Path, count: int) -> str:
        """A database where Alembic's version table says head, for `alembic current` (which reads only that
        table and the version files)."""
        database = self.fresh(f"alembic_head{count}")
        env = {**self.server.environment(), "BENCH_ALEMBIC_URL": f"postgresql+psycopg2://postgres@/{database}"}
        run([str(self.alembic), "stamp", "head"], cwd=directory / "alembic", env=env)
        return database

    # verdicts ------------------------------------------------------------------------------------------------------

    def judge(self, target: str, ok: bool, measured: str, ratio_ok: bool | None = None, note: str = "") -> None:
        if ok:
            verdict = "met"
        elif ratio_ok:
            verdict = "met as a ratio only"
        else:
            verdict = "MISSED"
        self.verdicts.append((target, measured, verdict, note))

    def find(self, group: str, tool: str) -> Result:
        return next(r for r in self.results if r.group == group and r.tool == tool)

    # sections ------------------------------------------------------------------------------------------------------

    def apply(self, count: int, tools: list[str], reps: int) -> None:
        directory = self.project(count, peers=len(tools) > 1)
        group = f"apply {count:,} revisions to an empty database"
        factories = {
            "ours": lambda: self.ours_upgrade(directory, count),
            "psql": lambda: self.psql_tool(directory, count, single=False),
            "psql1": lambda: self.psql_tool(directory, count, single=True),
            "alembic": lambda: self.alembic_upgrade(directory, count),
            "sqitch": lambda: self.sqitch_deploy(directory, count),
        }
        selected = [factories[name]() for name in tools]
        for tool in selected:
            tool.reps = reps
        self.results += measure(group, selected, self.server, reference="psql, a transaction per file")

    def smoke_run(self) -> None:
        """N = 50, one repetition, our tool only: upgrade, no-op, promote twice, status, --help; every schema checked."""
        count = 50
        directory = self.project(count, peers=False)
        project = directory / "orchestrate"
        expected = self.projects[count][1]
        dev, staging, production = self.fresh("smoke_dev"), self.fresh("smoke_staging"), self.fresh("smoke_production")
        env = self.env(dev=self.server.conninfo(dev), staging=self.server.conninfo(staging), production=self.server.conninfo(production))
        steps = [
            ("upgrade dev (apply 50)", ["upgrade", "dev"], dev),
            ("upgrade dev (nothing to do)", ["upgrade", "dev"], dev),
            ("promote staging", ["promote", "staging"], staging),
            ("promote production", ["promote", "production"], production),
            ("status (3 environments)", ["status"], None),
            ("status --json", ["status", "--json"], None),
            ("--help", ["--help"], None),
        ]
        for what, args, database in steps:
            sample = timed([str(BINARY), *args], env, project, self.server, what)
            if database:
                check_schema(self.server, database, expected, what)
                applied = int(self.server.psql("SELECT count(*) FROM orchestrate.revisions WHERE state = 'applied';", database).strip())
                if applied != count:
                    raise BenchError(f"{what}: the ledger of {database} records {applied} applied revisions, expected {count}")
            self.results.append(Result("smoke (50 revisions)", f"orchestrate {what}", [sample]))
        status = subprocess.run([str(BINARY), "status", "--json"], cwd=project, env=env, capture_output=True, text=True)
        document = json.loads(status.stdout)
        if len(document) != 3 or any(item.get("reachable") is not True or item.get("appliedCount") != count
                                     or item.get("pending") != [] for item in document):
            raise BenchError(f"status --json: expected three environments with nothing pending, got:\n{status.stdout[:2000]}")
        import fleet  # the fleet scenario, in a tiny form
        fleet.smoke(self, sys.modules[__name__])

    def full_run(self, skip_sqitch_huge: bool, quick: bool = False) -> None:
        """The issue's measurements. `quick` rehearses every step with small sizes and one repetition."""
        large, small, huge, commits = (60, 20, 150, 600) if quick else (1000, 100, 5000, 20_000)
        reps, fast_reps = (1, 1) if quick else (REPS, FAST_REPS)
        psql_ref = "psql, a transaction per file"

        # apply 1,000 and 100 -------------------------------------------------------------------------------------
        self.apply(large, ["ours", "psql", "psql1", "alembic", "sqitch"], reps if quick else 7)
        group = f"apply {large:,} revisions to an empty database"
        ours, ref = self.find(group, "orchestrate upgrade"), self.find(group, psql_ref)
        self.judge(f"apply {large:,}: wall ≤ 1.1× psql per file", ours.ratio_to(ref) <= 1.1, f"{ours.ratio_to(ref):.2f}×",
                   note=f"median of per-repetition ratios (ratio of medians {ours.wall / ref.wall:.2f}×)")
        self.judge(f"apply {large:,}: own CPU ≤ 0.3 s", ours.cpu <= 0.3, format_seconds(ours.cpu))
        self.apply(small, ["ours", "psql", "alembic", "sqitch"], reps if quick else 7)
        group = f"apply {small:,} revisions to an empty database"
        ours, ref, alembic = (self.find(group, t) for t in ("orchestrate upgrade", psql_ref, "alembic upgrade head"))
        self.judge(f"apply {small:,}: wall ≤ 1.2× psql per file", ours.ratio_to(ref) <= 1.2, f"{ours.ratio_to(ref):.2f}×",
                   note=f"median of per-repetition ratios (ratio of medians {ours.wall / ref.wall:.2f}×)")
        faster = 1 / ours.ratio_to(alembic)
        self.judge(f"apply {small:,}: ≥ 2× faster than Alembic", faster >= 2, f"{faster:.2f}× faster",
                   note=f"median of per-repetition ratios (ratio of medians {alembic.wall / ours.wall:.2f}×)")

        # 5,000 revisions: apply once each (peak memory), while the cluster holds no other database: psql per file
        # slows down when it does (a side experiment: 9.1 s on an empty cluster, 16.7 s next to three databases of
        # 1,000 tables; orchestrate 9.0 s and 8.1 s), which would flatter us ------------------------------------
        d_huge = self.project(huge, peers=True)
        group = f"apply {huge:,} revisions (once each: peak memory)"
        tools = [self.ours_upgrade(d_huge, huge), self.psql_tool(d_huge, huge, single=False), self.alembic_upgrade(d_huge, huge)]
        if not skip_sqitch_huge:
            tools.append(self.sqitch_deploy(d_huge, huge))
        for tool in tools:
            tool.reps = 1
        self.results += measure(group, tools, self.server, reference=psql_ref)
        # 1,000 applied: promote, no-op upgrade, status of three environments ---------------------------------------
        d_large = WORK / f"n{large}"
        project = d_large / "orchestrate"
        dev = self.fresh(f"dev{large}")
        run([str(BINARY), "upgrade", "dev"], cwd=project, env=self.env(dev=self.server.conninfo(dev)))
        check_schema(self.server, dev, self.projects[large][1], "set-up: upgrade dev")

        def promote_prepare():
            db = self.fresh(f"staging{large}")
            return self.env(dev=self.server.conninfo(dev), staging=self.server.conninfo(db)), db
        promote = Tool("orchestrate promote", [str(BINARY), "promote", "staging"], project, promote_prepare,
                       self.verifier(large, "orchestrate promote"), reps)
        psql_again = self.psql_tool(d_large, large, single=False)
        psql_again.reps = reps
        group = f"promote {large:,} revisions (dev → staging)"
        self.results += measure(group, [promote, psql_again], self.server, reference=psql_ref)
        ours, ref = self.find(group, "orchestrate promote"), self.find(group, psql_ref)
        self.judge(f"promote {large:,} (not in the issue; held to the apply target): wall ≤ 1.1× psql per file",
                   ours.ratio_to(ref) <= 1.1, f"{ours.ratio_to(ref):.2f}×", note=f"ratio of medians {ours.wall / ref.wall:.2f}×")
        staging, production = self.fresh(f"staging{large}"), self.fresh(f"production{large}")
        three = self.env(dev=self.server.conninfo(dev), staging=self.server.conninfo(staging), production=self.server.conninfo(production))
        run([str(BINARY), "promote", "staging"], cwd=project, env=three)
        run([str(BINARY), "promote", "production"], cwd=project, env=three)
        for db in (staging, production):
            check_schema(self.server, db, self.projects[large][1], "set-up: promote")
        alembic_large = self.alembic_stamped(d_large, large)
        dev_env = self.env(dev=self.server.conninfo(dev))

        group = f"`upgrade` with nothing to do, {large:,} applied"
        self.results += measure(group, [
            Tool("orchestrate upgrade (no-op)", [str(BINARY), "upgrade", "dev"], project, lambda: (dev_env, None), None, fast_reps),
            self.alembic_on(d_large, alembic_large, "alembic current", "current", reps=reps),
            self.alembic_on(d_large, alembic_large, "alembic upgrade head (no-op)", "upgrade", "head", reps=reps),
        ], self.server, reference="alembic current", warmup=True)
        ours, ref = self.find(group, "orchestrate upgrade (no-op)"), self.find(group, "alembic current")
        self.judge(f"no-op upgrade at {large:,}: ≤ 50 ms", ours.wall <= 0.050, format_seconds(ours.wall), ours.wall / ref.wall <= 0.050 / 0.62,
                   f"{ours.wall / ref.wall:.3f}× alembic current (the target as a ratio: ≤ {0.050 / 0.62:.3f}×)")

        group = f"`status` of three environments, {large:,} applied each"
        self.results += measure(group, [
            Tool("orchestrate status (3 environments)", [str(BINARY), "status"], project, lambda: (three, None), None, fast_reps),
            Tool("orchestrate status --json (3 environments)", [str(BINARY), "status", "--json"], project, lambda: (three, None), None, fast_reps),
            self.alembic_on(d_large, alembic_large, "alembic current (one database)", "current", reps=reps),
        ], self.server, reference="alembic current (one database)", warmup=True)
        ours, ref = self.find(group, "orchestrate status (3 environments)"), self.find(group, "alembic current (one database)")
        self.judge(f"status of 3 × {large:,}: ≤ 150 ms", ours.wall <= 0.150, format_seconds(ours.wall), ours.wall / ref.wall <= 0.150 / 0.62,
                   f"{ours.wall / ref.wall:.3f}× alembic current (the target as a ratio: ≤ {0.150 / 0.62:.3f}×)")

        # start-up ------------------------------------------------------------------------------------------------
        group = "start-up"
        plain = self.server.environment()
        self.results += measure(group, [
            Tool("orchestrate --help", [str(BINARY), "--help"], project, lambda: (plain, None), None, fast_reps),
            Tool("alembic --help", [str(self.alembic), "--help"], d_large / "alembic", lambda: (plain, None), None, reps),
            Tool("sqitch --version", ["sqitch", "--version"], d_large / "sqitch", lambda: (plain, None), None, reps),
        ], self.server, reference="alembic --help", warmup=True)
        ours, ref = self.find(group, "orchestrate --help"), self.find(group, "alembic --help")
        self.judge("start-up (--help): ≤ 20 ms", ours.wall <= 0.020, format_seconds(ours.wall), ours.wall / ref.wall <= 0.020 / 0.34,
                   f"{ours.wall / ref.wall:.3f}× alembic --help (the target as a ratio: ≤ {0.020 / 0.34:.3f}×)")

        # 5,000 revisions applied: no-op upgrade ----------------------------------------------------------------
        dev_huge = self.fresh(f"dev{huge}")
        huge_env = self.env(dev=self.server.conninfo(dev_huge))
        run([str(BINARY), "upgrade", "dev"], cwd=d_huge / "orchestrate", env=huge_env)
        check_schema(self.server, dev_huge, self.projects[huge][1], f"set-up: upgrade dev {huge:,}")
        alembic_huge = self.alembic_stamped(d_huge, huge)
        group = f"`upgrade` with nothing to do, {huge:,} applied"
        self.results += measure(group, [
            Tool("orchestrate upgrade (no-op)", [str(BINARY), "upgrade", "dev"], d_huge / "orchestrate", lambda: (huge_env, None), None, fast_reps),
            Tool("orchestrate status dev", [str(BINARY), "status", "dev"], d_huge / "orchestrate", lambda: (huge_env, None), None, fast_reps),
            self.alembic_on(d_huge, alembic_huge, "alembic current", "current", reps=reps),
            self.alembic_on(d_huge, alembic_huge, "alembic upgrade head (no-op)", "upgrade", "head", reps=reps),
        ], self.server, reference="alembic current", warmup=True)
        ours, ref = self.find(group, "orchestrate upgrade (no-op)"), self.find(group, "alembic current")
        self.judge(f"no-op upgrade at {huge:,}: ≤ 150 ms", ours.wall <= 0.150, format_seconds(ours.wall), ours.wall / ref.wall <= 0.150 / 4.66,
                   f"{ours.wall / ref.wall:.3f}× alembic current (the target as a ratio: ≤ {0.150 / 4.66:.3f}×)")
        peak = max(r.rss_mib for r in self.results if r.tool.startswith("orchestrate") and f"{huge:,}" in r.group)
        self.judge(f"peak memory at {huge:,} revisions: ≤ 40 MiB", peak <= 40, f"{peak:.1f} MiB",
                   note=f"the largest of orchestrate's apply, no-op upgrade and status at {huge:,}")

        # check --base --------------------------------------------------------------------------------------------
        group = f"`check --base` on {huge:,} revisions, {commits:,} commits"
        target = f"check --base on {huge:,} revisions / {commits:,} commits: ≤ 0.1 s, ≥ 10× faster than alembic heads"
        has_check = subprocess.run([str(BINARY), "check", "--help"], capture_output=True, text=True)
        if has_check.returncode != 0 or "--base" not in has_check.stdout:
            self.verdicts.append((target, "n/a", "n/a", "this build has no `check --base` command yet"))
            self.results.append(Result(group, "orchestrate check --base main", [], note="n/a: not in this build"))
            return
        repository = WORK / "check"
        if repository.exists():
            shutil.rmtree(repository)
        write_check_repository(repository, self.projects[huge][0], commits=commits)
        env = self.env()
        self.results += measure(group, [
            Tool("orchestrate check --base main", [str(BINARY), "check", "--base", "main"], repository, lambda: (env, None), None, fast_reps),
            Tool("alembic heads", [str(self.alembic), "heads"], d_huge / "alembic", lambda: (env, None), None, reps),
        ], self.server, reference="alembic heads", warmup=True)
        ours, ref = self.find(group, "orchestrate check --base main"), self.find(group, "alembic heads")
        self.judge(f"check --base on {huge:,} / {commits:,}: ≤ 0.1 s", ours.wall <= 0.1, format_seconds(ours.wall), ours.wall / ref.wall <= 0.1 / 1.07)
        self.judge("check --base: ≥ 10× faster than alembic heads", ref.wall >= 10 * ours.wall, f"{ref.wall / ours.wall:.1f}× faster")


# ---------------------------------------------------------------------------------------------------------------
# diff on a 1,000-table schema (issue 16): first run (replay on a scratch database) and cached run
# ---------------------------------------------------------------------------------------------------------------

DIFF_HEADING = "## diff on a 1,000-table schema (issue 16)"


def diff_run(bench: Bench, quick: bool = False) -> str:
    """`orchestrate diff dev` on a database holding the schema of enough generated revisions for 1,000 tables: the
    first run replays every revision on a scratch database (reference: psql applying the same files, a transaction
    each, which is the floor for a replay), the cached run reads only the live catalog and the cache (reference:
    `pg_dump --schema-only` of the same database, another full catalog read). Returns the results section."""
    server = bench.server
    wanted_tables = 60 if quick else 1000
    count = 50 if quick else 1200
    while True:
        revisions, schema = generate(count)
        tables = len({row.split("|")[1] for row in schema.rows if row.startswith("T|")})
        if tables >= wanted_tables:
            break
        count += 50
    directory = bench.project(count, peers=False)
    write_psql_scripts(directory / "psql", revisions)
    project = directory / "orchestrate"
    dev = bench.fresh("diff_dev")
    env = bench.env(dev=server.conninfo(dev))
    run([str(BINARY), "upgrade", "dev"], cwd=project, env=env)
    check_schema(server, dev, schema, "set-up: upgrade dev")
    cache = project / ".orchestrate" / "cache"
    scratch = "bench_diff_scratch"
    reps = 1 if quick else 3

    def first_prepare():
        shutil.rmtree(cache, ignore_errors=True)
        server.create(scratch)
        return env, scratch
    first = Tool("orchestrate diff dev, first run (replays on a scratch database)",
                 [str(BINARY), "diff", "dev", "--scratch-url", server.conninfo(scratch)], project, first_prepare,
                 lambda database: None, reps)
    psql = bench.psql_tool(directory, count, single=False)
    psql.reps = reps
    group_first = f"`diff` on {tables:,} tables ({count:,} revisions): first run"
    results = measure(group_first, [first, psql], server, reference="psql, a transaction per file")
    if not any(cache.glob("schema-*.json")):
        raise BenchError("diff: the first run wrote no cache entry")

    # A cache miss would try a scratch database that does not exist, and fail the run: the cached figures are
    # cached runs.
    missing = server.conninfo("bench_diff_no_such_database")
    fast = 1 if quick else FAST_REPS
    dump_env = {**server.environment(), "PGDATABASE": dev}
    group_cached = f"`diff` on {tables:,} tables ({count:,} revisions): cached run"
    results += measure(group_cached, [
        Tool("orchestrate diff dev (cached)", [str(BINARY), "diff", "dev", "--scratch-url", missing], project,
             lambda: (env, None), None, fast),
        Tool("orchestrate status dev --drift (cached)", [str(BINARY), "status", "dev", "--drift"], project,
             lambda: (env, None), None, fast),
        Tool("orchestrate status dev", [str(BINARY), "status", "dev"], project, lambda: (env, None), None, fast),
        Tool("pg_dump --schema-only", ["pg_dump", "-s", "-f", "/dev/null"], project, lambda: (dump_env, None), None,
             fast),
    ], server, reference="pg_dump --schema-only", warmup=True)

    # The answer must be right: no drift, then one column added by hand is found, and only it.
    table_name = sorted({row.split("|")[1] for row in schema.rows if row.startswith("T|")})[0]
    server.psql(f'ALTER TABLE public."{table_name}" ADD COLUMN bench_drift integer;', dev)
    drift = subprocess.run([str(BINARY), "diff", "dev", "--json", "--scratch-url", missing], cwd=project, env=env,
                           capture_output=True, text=True)
    server.psql(f'ALTER TABLE public."{table_name}" DROP COLUMN bench_drift;', dev)
    document = json.loads(drift.stdout or "{}")
    if drift.returncode != 1 or document.get("objects") != [f"column public.{table_name}.bench_drift"]:
        raise BenchError(f"diff: expected exit 1 and the one drifted column, got {drift.returncode}:\n{drift.stdout[:2000]}{drift.stderr[:2000]}")
    bench.results += results
    first_ours, first_ref = (next(r for r in results if r.group == group_first and r.tool == t)
                             for t in (first.name, psql.name))
    cached, dump = (next(r for r in results if r.group == group_cached and r.tool == t)
                    for t in ("orchestrate diff dev (cached)", "pg_dump --schema-only"))
    entry = next(cache.glob("schema-*.json"))
    lines = [DIFF_HEADING, "",
             f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
             *machine_description(), f"- load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
             *versions(server, peers=False), "",
             f"{count:,} generated revisions (seed {SEED}) leave {tables:,} tables with their indexes and constraints in `public`; "
             "`dev` runs them all. Each first run starts without a cache entry and replays on a new, empty scratch "
             "database (`--scratch-url`); each cached run gives a scratch database that does not exist, so a cache "
             "miss would fail the run. Afterwards a column added by hand is reported as the one drifted object "
             f"(exit 1). The cache entry is {entry.stat().st_size / 1024 / 1024:.1f} MiB.", "",
             table(results), "",
             f"- first run: {format_seconds(first_ours.wall)}, {first_ours.ratio_to(first_ref):.2f}× psql applying the same files "
             f"(the replay itself is an `upgrade` on the scratch database; the rest is reading two catalogs and diffing them)",
             f"- cached run: {format_seconds(cached.wall)}, {cached.ratio_to(dump):.2f}× `pg_dump --schema-only` of the same database", ""]
    return "\n".join(lines)


def write_section(path: Path, heading: str, text: str) -> None:
    """Puts `text` (which starts with `heading`) in the results file in place of the section with that heading, or
    at its end: the other sections' figures are left as they are."""
    existing = path.read_text() if path.exists() else ""
    start = existing.find(heading + "\n")
    if start < 0:
        path.write_text(existing.rstrip("\n") + "\n\n" + text)
        return
    following = existing.find("\n## ", start + len(heading))
    rest = existing[following + 1:] if following >= 0 else ""
    path.write_text(existing[:start] + text + ("\n" + rest if rest else ""))


# ---------------------------------------------------------------------------------------------------------------
# Profiles (callgrind counts instructions, repeatably, whatever the machine's load)
# ---------------------------------------------------------------------------------------------------------------

PROFILES = {
    "help": "orchestrate --help",
    "noop-1000": "orchestrate upgrade dev with 1,000 applied (nothing to do)",
    "noop-5000": "orchestrate upgrade dev with 5,000 applied (nothing to do)",
    "status-1000": "orchestrate status of three environments with 1,000 applied each",
    "apply-1000": "orchestrate upgrade dev applying 1,000 revisions to an empty database (our own CPU only)",
    "check-5000": "orchestrate check --base main on 5,000 revisions and 20,000 commits",
    "server-1000": "the server's time by statement (pg_stat_statements) applying 1,000 revisions: orchestrate vs psql per file",
}


def server_profile(bench: Bench, count: int) -> str:
    """Applies `count` revisions with orchestrate and with psql per file, each on a fresh database, and lists where
    the server's time went, statement by statement (planning + execution, from pg_stat_statements)."""
    server = bench.server
    directory = bench.project(count, peers=True)
    query = """
        SELECT round(sum(total_plan_time + total_exec_time)::numeric, 1) AS ms, sum(calls) AS calls,
               round((sum(total_plan_time + total_exec_time) / sum(calls))::numeric, 3) AS ms_per_call,
               round(sum(total_plan_time)::numeric, 1) AS plan_ms,
               CASE WHEN query ~* '^\\s*(create|alter|drop|comment)\\s' THEN upper(split_part(ltrim(query), ' ', 1) || ' ' || split_part(ltrim(query), ' ', 2)) || ' (every one)'
                    ELSE left(regexp_replace(query, '\\s+', ' ', 'g'), 110) END AS statement
          FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{db}'
         GROUP BY statement ORDER BY 1 DESC LIMIT 12;"""
    total_query = "SELECT round(sum(total_plan_time + total_exec_time)::numeric, 1), sum(calls) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{db}';"
    sections = [f"# the server's time by statement: applying {count:,} revisions", ""]
    server.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;")
    for tool in (bench.ours_upgrade(directory, count), bench.psql_tool(directory, count, single=False)):
        env, database = tool.prepare()
        server.psql("SELECT pg_stat_statements_reset();")
        sample = timed(tool.command, env, tool.cwd, server, tool.name)
        tool.verify(database)
        total = server.psql(total_query.format(db=database)).strip()
        sections += [f"## {tool.name}: {format_seconds(sample.wall)} wall, server CPU {format_seconds(sample.server_cpu)}; "
                     f"statements: total ms|calls = {total}", "", "ms | calls | ms/call | planning ms | statement", "--- | --- | --- | --- | ---"]
        sections += [line.replace("|", " | ") for line in server.psql(query.format(db=database)).splitlines()]
        sections.append("")
    return "\n".join(sections)


def profile(bench: Bench, scenario: str, tool: str = "callgrind") -> str:
    """Sets up `scenario`, runs our command once under valgrind's callgrind, and returns the annotated profile
    (inclusive and exclusive, demangled). The raw file stays in Benchmarks/.work for kcachegrind."""
    server = bench.server
    kind, _, size = scenario.partition("-")
    if kind not in {name.partition("-")[0] for name in PROFILES} or (size and not size.isdigit()):
        raise BenchError(f"unknown profile `{scenario}`; one of {', '.join(PROFILES)} (or another size, e.g. noop-2000)")
    count = int(size) if size else 50
    if kind == "server":
        return server_profile(bench, count)
    directory = bench.project(count, peers=False)
    cwd = directory / "orchestrate"
    env = bench.env()
    if kind == "help":
        args = ["--help"]
    elif kind in ("noop", "apply"):
        database = bench.fresh(f"profile_{kind}")
        env = bench.env(dev=server.conninfo(database))
        if kind == "noop":
            run([str(BINARY), "upgrade", "dev"], cwd=cwd, env=env)
        args = ["upgrade", "dev"]
    elif kind == "status":
        dbs = {stage: bench.fresh(f"profile_{stage}") for stage in ("dev", "staging", "production")}
        env = bench.env(**{stage: server.conninfo(db) for stage, db in dbs.items()})
        run([str(BINARY), "upgrade", "dev"], cwd=cwd, env=env)
        run([str(BINARY), "promote", "staging"], cwd=cwd, env=env)
        run([str(BINARY), "promote", "production"], cwd=cwd, env=env)
        args = ["status"]
    elif kind == "check":
        cwd = WORK / "check"
        if cwd.exists():
            shutil.rmtree(cwd)
        write_check_repository(cwd, bench.projects[count][0])
        args = ["check", "--base", "main"]
    else:
        raise BenchError(f"unknown profile `{scenario}`; one of {', '.join(PROFILES)}")
    output = WORK / f"{tool}.{scenario}.out"
    # Valgrind 3.19 (Debian 12) cannot read the DWARF 5 that Swift 6 writes and gives up; a copy without debug
    # sections still has every symbol, which is all callgrind_annotate and ms_print need.
    binary = WORK / "orchestrate-nodebug"
    shutil.copy2(BINARY, binary)
    run(["objcopy", "--strip-debug", str(binary)])
    started = time.perf_counter()
    options = [f"--callgrind-out-file={output}"] if tool == "callgrind" else [f"--massif-out-file={output}", "--depth=12"]
    result = subprocess.run(["valgrind", f"--tool={tool}", *options, str(binary), *args],
                            cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"{tool} of `orchestrate {' '.join(args)}` exited {result.returncode}:\n{result.stderr[-3000:]}")
    log(f"{tool} ran in {time.perf_counter() - started:.1f} s; raw profile: {output}")
    if tool == "massif":
        text = run(["ms_print", str(output)])
        demangled = subprocess.run(["swift", "demangle", "--simplified"], input=text, capture_output=True, text=True).stdout or text
        return f"# massif (heap): {PROFILES.get(scenario, scenario)}\n\n" + "\n".join(line[:220] for line in demangled.splitlines()[:160])
    sections = [f"# callgrind: {PROFILES.get(scenario, scenario)}", ""]
    for inclusive in ("yes", "no"):
        text = run(["callgrind_annotate", f"--inclusive={inclusive}", "--threshold=99", str(output)])
        demangled = subprocess.run(["swift", "demangle", "--simplified"], input=text, capture_output=True, text=True).stdout or text
        lines = demangled.splitlines()
        # the header, the total, and the 40 heaviest functions
        start = next((i for i, line in enumerate(lines) if "file:function" in line), 0)
        total = next((line for line in lines if "PROGRAM TOTALS" in line), "")
        sections += [f"## {'inclusive' if inclusive == 'yes' else 'exclusive (self)'} instructions", "", total, ""]
        sections += [line[:220] for line in lines[start:start + 42]] + [""]
    return "\n".join(sections)


# ---------------------------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    lines = ["| measurement | tool | median wall | fastest | ratio to reference | own CPU (user+sys) | server CPU | peak RSS | runs |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    groups: dict[str, list[Result]] = {}
    for result in results:
        groups.setdefault(result.group, []).append(result)
    for group, members in groups.items():
        reference = next((r for r in members if r.reference), None)
        for result in members:
            if not result.samples:
                lines.append(f"| {group} | {result.tool} | {result.note} | | | | | | 0 |")
                continue
            if reference is None or not reference.samples:
                ratio = ""
            elif result is reference:
                ratio = "1 (reference)"
            else:
                ratio = f"{result.ratio_to(reference):.3f}×"
            fastest = format_seconds(min(s.wall for s in result.samples))
            lines.append(f"| {group} | {result.tool} | {format_seconds(result.wall)} | {fastest} | {ratio} | {format_seconds(result.cpu)} | "
                         f"{format_seconds(result.server_cpu)} | {result.rss_mib:.1f} MiB | {len(result.samples)} |")
    return "\n".join(lines)


def verdict_table(verdicts: list[tuple[str, str, str, str]]) -> str:
    lines = ["| target | measured | verdict | note |", "| --- | --- | --- | --- |"]
    lines += [f"| {t} | {m} | {v} | {n} |" for t, m, v, n in verdicts]
    return "\n".join(lines)


def first_line(command: list[str], cwd: Path | None = None) -> str:
    try:
        result = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=60)
        return (result.stdout.strip() or result.stderr.strip()).splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine_description() -> list[str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = next((line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "unknown")
    kib = int(memory.split()[0]) if memory != "unknown" else 0
    return [f"- machine: {os.cpu_count()} CPUs (nproc {first_line(['nproc'])}), {kib / 1024 / 1024:.1f} GiB memory, {cpu}; "
            f"{first_line(['uname', '-sr'])}"]


def versions(server: Server, peers: bool) -> list[str]:
    sha = first_line(["git", "rev-parse", "--short=12", "HEAD"], ROOT)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "Sources", "Package.swift"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    items = [f"orchestrate {sha}{' (with uncommitted changes under Sources/)' if dirty else ''}, release build",
             f"PostgreSQL {server.version()} (fsync=off, full_page_writes=off, synchronous_commit=off, Unix socket)",
             first_line(["swift", "--version"]), f"Python {sys.version.split()[0]}", first_line(["psql", "--version"])]
    if peers:
        python = str(VENV / "bin" / "python")
        items.append("alembic " + first_line([python, "-c", "import alembic, sqlalchemy, psycopg2; "
                                              "print(alembic.__version__, '/ SQLAlchemy', sqlalchemy.__version__, '/ psycopg2', psycopg2.__version__.split()[0])"]))
        items.append(first_line(["sqitch", "--version"]) + " / DBD::Pg " + first_line(["perl", "-MDBD::Pg", "-e", "print $DBD::Pg::VERSION"]))
    return ["- versions: " + "; ".join(items)]


NOTES = """\
## How it was measured

- Every timed run gets a fresh database on the harness's own PostgreSQL cluster (initdb in CLUSTER_PARENT, Unix
  socket, fsync off, autovacuum off so that its workers do not land on whichever run happens to be going) and its
  resulting schema is compared with the expected one (every table, column and type, index and constraint of
  `public`, from pg_catalog) before the figure counts.
- The cluster lives in memory (/dev/shm) where there is room: on this machine's disk, runs were slowed by up to
  2.5x at random, and the first run of every group (after a pause) was the fastest for every tool: the file
  system was still busy with the files of the database dropped after the previous run (ext4 mounted with
  `discard`). `ORCHESTRATE_BENCH_CLUSTER_DIR=/tmp` measures on disk.
- Tools run round-robin, repetition by repetition, so a change in the machine's load hits them alike. Figures
  are medians; runs over 20 s are repeated 3 times; the 5,000-revision applies once. Where a tool and its
  reference ran the same repetitions, `ratio to reference` is the median of the per-repetition ratios (each pair
  ran back to back); otherwise it is the ratio of the medians.
- `own CPU` is user + sys of the tool's process and the children it waited for (GNU time, which also gives the
  peak RSS); `server CPU` is what the PostgreSQL cluster spent meanwhile (from /proc).
- The applies run before any database is kept on the cluster: psql per file slows down next to other databases
  (a side experiment at 5,000 revisions: 9.1 s on an empty cluster, 16.7 s next to three databases of 1,000
  tables, while orchestrate took 9.0 s and 8.1 s), which would flatter orchestrate.
- psql, a transaction per file: one `psql -f` session running `BEGIN; \\ir up/<id>.sql; COMMIT;` per revision
  file (the up SQL of each migration, byte for byte the same statements). `psql -1`: all files in one transaction.
- Alembic: one version file per revision, `op.execute` per statement, psycopg2, `transaction_per_migration=True`
  (a transaction per revision like the others). `alembic current` runs against a database stamped at head (it
  reads only the version table and the version files).
- Sqitch: `sqitch deploy` with engine pg, a plan in the same order (merges `require` both parents), BEGIN/COMMIT
  in each deploy script, as Sqitch's templates write them.
- The generated revisions (seed 20261201): about 65 % create a table with 2-4 typed columns and an index, 15 %
  create a table that references an earlier one (foreign key + index), 20 % alter an earlier table (a column
  with an index, or a column with a CHECK constraint); every 40 revisions a branch point opens two sides of 1-3
  revisions that a merge revision joins.
- The machine is shared with other engineers' builds and tests: absolute times move with its load, which is why
  every figure is also given as a ratio to a reference measured in the same run, and why the absolute targets
  also carry their equivalent as a ratio to the issue's reference figures. `fastest` is the best repetition, the
  least disturbed by other processes.
- Where the time goes for each missed target (callgrind instruction counts, which do not move with the load, and
  the server's time by statement): `Benchmarks/profiles.md`; `bash Benchmarks/run.sh --profile SCENARIO` redoes them.
"""


def report(bench: Bench, server: Server, started: datetime.datetime, load_before: str, peers: bool) -> str:
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    head = [f"# orchestrate benchmark results{' (smoke)' if bench.smoke else ''}", "",
            f"- date: {started.strftime('%Y-%m-%d %H:%M UTC')} (took {(datetime.datetime.now(datetime.timezone.utc) - started).seconds // 60} min)",
            *machine_description(), f"- load average at start {load_before}, at end {' '.join(load_after)}",
            *versions(server, peers), "", "## Results", "", table(bench.results), ""]
    if bench.verdicts:
        head += ["## Targets (issue 5)", "", verdict_table(bench.verdicts), ""]
    if not bench.smoke:
        head += [NOTES.replace("CLUSTER_PARENT", str(server.dir.parent))]
    if bench.fleet_results:
        import fleet
        head += ["", fleet.section(bench, sys.modules[__name__])]
    return "\n".join(head)


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark orchestrate against psql, Alembic and Sqitch.")
    parser.add_argument("--smoke", action="store_true", help="N = 50, one repetition, orchestrate only; asserts the schemas")
    parser.add_argument("--skip-sqitch-5000", action="store_true", help="skip Sqitch's single 5,000-revision deploy (minutes)")
    parser.add_argument("--profile", metavar="SCENARIO",
                        help="run one scenario of ours under callgrind and print the heaviest functions: "
                             + ", ".join(PROFILES) + " (another size works too, e.g. noop-2000)")
    parser.add_argument("--profile-tool", choices=["callgrind", "massif"], default="callgrind",
                        help="with --profile: callgrind (instructions, the default) or massif (heap at its peak)")
    parser.add_argument("--quick", action="store_true", help="rehearse every step of the full run with small sizes; writes nothing")
    parser.add_argument("--fleet", action="store_true",
                        help="only the fleet scenario (issue 15, Benchmarks/fleet.py); replaces its section of results.md "
                             "(with --quick: small sizes, writes nothing)")
    parser.add_argument("--output", default=str(BENCH / "results.md"), help="where the full run writes its table")
    parser.add_argument("--diff", action="store_true",
                        help="only `diff` on a 1,000-table schema, first and cached run (issue 16); writes its own section of --output")
    args = parser.parse_args()
    if not BINARY.exists():
        log(f"{BINARY} is missing: run `swift build -c release` (Benchmarks/run.sh does)")
        return 2
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    WORK.mkdir(exist_ok=True)
    server = Server()
    bench = Bench(server, args.smoke)
    try:
        server.start(statement_stats=(args.profile or "").startswith("server"))
        log(f"PostgreSQL {server.version()} on {server.dir} port {server.port}")
        if args.profile:
            print(profile(bench, args.profile, args.profile_tool))
            return 0
        if args.diff:
            section = diff_run(bench, quick=args.quick)
            print(section)
            if not args.quick:
                write_section(Path(args.output), DIFF_HEADING, section)
                log(f"wrote the section {DIFF_HEADING!r} of {args.output}")
            return 0
        if args.fleet:
            import fleet
            fleet.run(bench, sys.modules[__name__], quick=args.quick)
            text = fleet.section(bench, sys.modules[__name__])
        elif args.smoke:
            bench.smoke_run()
        else:
            bench.full_run(args.skip_sqitch_5000, quick=args.quick)
            import fleet
            fleet.run(bench, sys.modules[__name__], quick=args.quick)
        if not args.fleet:
            text = report(bench, server, started, load_before, peers=not args.smoke)
    except BenchError as error:
        log(f"benchmark FAILED: {error}")
        return 1
    finally:
        server.stop()
    print(text)
    if args.smoke:
        log("smoke: orchestrate produced the expected schema in every database")
    elif args.quick:
        log("quick rehearsal: nothing written")
    elif args.fleet:
        output = Path(args.output)
        import fleet
        output.write_text(fleet.splice(output.read_text() if output.exists() else "", text))
        log(f"wrote the fleet section of {args.output}")
    else:
        output = Path(args.output)
        existing = output.read_text() if output.exists() else ""
        # The full run does not redo the diff scenario (`--diff` does): its section is kept as it is.
        start = existing.find(DIFF_HEADING + "\n")
        if start >= 0 and DIFF_HEADING not in text:
            following = existing.find("\n## ", start + len(DIFF_HEADING))
            kept = existing[start:following + 1] if following >= 0 else existing[start:]
            text = text.rstrip("\n") + "\n\n" + kept.rstrip("\n") + "\n"
        output.write_text(text)
        log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
