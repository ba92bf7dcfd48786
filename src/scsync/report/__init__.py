"""Reporters: one class per output format, chosen by name with --format."""

from __future__ import annotations

from scsync.report import github, junit, machine, markdown, sarif, text  # noqa: F401 (registers)
from scsync.report.base import REPORTERS, Report, Reporter, auto_format, get_reporter

__all__ = ["REPORTERS", "Report", "Reporter", "auto_format", "get_reporter"]
