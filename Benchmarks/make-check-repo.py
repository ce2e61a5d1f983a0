#!/usr/bin/env python3
"""Builds a large git repository for timing `orchestrate check`, in seconds, with `git fast-import`.

The repository is an orchestrate project (environments/dev.toml, migrations/, src/) whose branch `main`
has COMMITS commits and a linear chain of REVISIONS migrations: every few commits adds the next revision
on top of the previous one, the others change files under src/ (as most commits of a real project do).
The branch `feature` forks from main a few commits before its tip and adds one revision on main's head
plus two ordinary commits, like a pull request; main then gets a few more commits that touch src/ only.
`feature` is checked out, so

    orchestrate check --base main

runs on a realistic pull request. With --diverge, main also adds a revision after the fork, so the merged
result has two heads and check reports them (exit 1).

With --repack, the objects are repacked with deltas afterwards (`git repack -adf`), as a server packs a clone;
fast-import's own pack keeps every blob whole and scattered between commits, which is slower to read.

Usage: make-check-repo.py DIR [--revisions 5000] [--commits 20000] [--diverge] [--repack]
"""
import argparse
import os
import shutil
import subprocess
import sys


def migration(revision, parent, number):
    header = f"-- parent: {parent}\n" if parent else ""
    return (f"{header}-- migrate:up\n"
            f"CREATE TABLE table_{number} (\n    id bigint PRIMARY KEY,\n    name text NOT NULL,\n"
            f"    created_at timestamptz NOT NULL DEFAULT now()\n);\n"
            f"CREATE INDEX table_{number}_name ON table_{number} (name);\n"
            f"-- migrate:down\nDROP TABLE table_{number};\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory")
    parser.add_argument("--revisions", type=int, default=5000)
    parser.add_argument("--commits", type=int, default=20000)
    parser.add_argument("--diverge", action="store_true", help="main also adds a revision after the fork")
    parser.add_argument("--repack", action="store_true", help="repack with deltas, like a clone from a server")
    args = parser.parse_args()
    if args.commits < args.revisions + 20:
        sys.exit("--commits must exceed --revisions by at least 20")

    directory = os.path.abspath(args.directory)
    if os.path.exists(directory):
        shutil.rmtree(directory)
    os.makedirs(directory)
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1")
    git = ["git", "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"]
    subprocess.run(git + ["init", "-q", directory], check=True, env=env)

    out = []
    clock = 1_600_000_000
    mark = 0

    def data(text):
        raw = text.encode()
        out.append(b"data %d\n" % len(raw))
        out.append(raw)
        out.append(b"\n")

    def commit(branch, parent_mark, message, files):
        nonlocal clock, mark
        mark += 1
        clock += 97
        out.append(b"commit refs/heads/%s\nmark :%d\n" % (branch.encode(), mark))
        author = ["Ada Lovelace <ada@example.com>", "Grace Hopper <grace@example.com>", "Edsger Dijkstra <ed@example.com>"][mark % 3]
        out.append(b"author %s %d +0000\n" % (author.encode(), clock))
        out.append(b"committer %s %d +0000\n" % (author.encode(), clock))
        data(message)
        if parent_mark:
            out.append(b"from :%d\n" % parent_mark)
        for path, text in files:
            out.append(b"M 100644 inline %s\n" % path.encode())
            data(text)
        return mark

    fork_offset = 10          # main commits after the fork
    main_commits = args.commits - 3   # the feature branch brings 3 more
    # Spread the revisions evenly over main's commits before the fork.
    before_fork = main_commits - fork_offset
    every = max(1, before_fork // args.revisions)
    revision_count = 0
    previous = None
    tip = None
    fork = None
    head_revision = None
    for number in range(1, main_commits + 1):
        files = []
        if number == 1:
            files.append(("environments/dev.toml", 'database_url = "sandbox:bench_dev"\n'))
        if number <= before_fork and number % every == 1 % every and revision_count < args.revisions:
            revision_count += 1
            revision = f"{20200101000000 + revision_count * 100}_table_{revision_count}"
            files.append((f"migrations/{revision}.sql", migration(revision, previous, revision_count)))
            previous = revision
            message = f"Add migration {revision}"
        else:
            files.append((f"src/module_{number % 200}.txt", f"module {number % 200}, change {number}\n"))
            message = f"Change module {number % 200} (#{number})"
        if args.diverge and number == before_fork + 5:
            revision = f"{20300101000000}_main_side"
            files = [(f"migrations/{revision}.sql", migration(revision, previous, 999998))]
            message = f"Add migration {revision} on main"
        tip = commit("main", tip, message, files)
        if number == before_fork:
            fork = tip
            head_revision = previous

    # The pull request: one revision on main's head (at the fork), and two ordinary commits.
    revision = f"{20300101000100}_pull_request"
    feature = commit("feature", fork, "Change module 1 on the feature branch", [("src/module_1.txt", "feature\n")])
    feature = commit("feature", feature, f"Add migration {revision}",
                     [(f"migrations/{revision}.sql", migration(revision, head_revision, 999999))])
    feature = commit("feature", feature, "Change module 2 on the feature branch", [("src/module_2.txt", "feature 2\n")])

    subprocess.run(git + ["fast-import", "--quiet"], input=b"".join(out), cwd=directory, check=True, env=env)
    if args.repack:
        subprocess.run(git + ["repack", "-adfq"], cwd=directory, check=True, env=env)
    subprocess.run(git + ["checkout", "-q", "-f", "feature"], cwd=directory, check=True, env=env)
    count = subprocess.run(["git", "rev-list", "--count", "--all"], cwd=directory, check=True, env=env,
                           capture_output=True, text=True).stdout.strip()
    print(f"{directory}: {count} commits, {revision_count + 1 + (1 if args.diverge else 0)} revisions; "
          f"feature checked out; run: orchestrate check --base main")


if __name__ == "__main__":
    main()
