"""Provenance of results files: the commit, also in a copy of the tree without its .git."""

from __future__ import annotations

import subprocess

from phasecollapse.run import provenance


def test_git_commit_in_this_checkout_is_a_sha() -> None:
    commit = provenance.git_commit().removesuffix("-dirty")
    assert len(commit) == 40 and int(commit, 16) >= 0


def test_git_commit_in_a_copied_tree(monkeypatch) -> None:
    """Where git cannot tell (no .git), the commit named by whoever copied the tree, marked as such."""

    def no_repo(*args, **kwargs):
        return subprocess.CompletedProcess(args, 128, stdout="", stderr="fatal: not a git repository")

    monkeypatch.setattr(provenance.subprocess, "run", no_repo)
    monkeypatch.delenv("PHASECOLLAPSE_GIT_COMMIT", raising=False)
    assert provenance.git_commit() == "unknown"
    monkeypatch.setenv("PHASECOLLAPSE_GIT_COMMIT", "abc123")
    assert provenance.git_commit() == "abc123 (copied tree)"


def test_command_names_python_m_phasecollapse_as_phasecollapse(monkeypatch) -> None:
    monkeypatch.setattr("sys.argv", ["/venv/lib/site-packages/phasecollapse/__main__.py", "reproduce", "table2"])
    assert provenance.command() == "phasecollapse reproduce table2"
    monkeypatch.setattr("sys.argv", ["/venv/bin/phasecollapse", "train", "--config", "x.toml"])
    assert provenance.command() == "phasecollapse train --config x.toml"
    monkeypatch.setattr("sys.argv", ["/somewhere/else/__main__.py", "a"])
    assert provenance.command() == "__main__.py a"
