"""JUnit XML: one test case per file, failing when it has a failing finding.

Valid against Jenkins' junit-10.xsd, plus the testcase `file` attribute GitLab
reads.  Test tabs often show only a failure's message, so it names the first
failing finding with its place: `path:line:col rule message`.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import UTC, datetime

from scsync.findings import Finding
from scsync.report.base import Report, Reporter, register

# Characters XML 1.0 cannot carry at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _line(f: Finding) -> str:
    text = f"{f.location()}: {f.severity.value}[{f.rule}] {f.message}"
    return _xml_text(text + (f"\n    hint: {f.hint}" if f.hint else ""))


def _seconds(value: float) -> str:
    # junit-10.xsd's SUREFIRE_TIME: digits with at most three decimals, no exponent
    return f"{max(value, 0.0):.3f}"


def _message(failing: list[Finding]) -> str:
    first = failing[0]
    more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
    return _xml_text(f"{first.location()} {first.rule} {first.message}{more}")


@register
class JunitReporter(Reporter):
    name = "junit"
    description = "JUnit XML, one test case per file (for CI test tabs)"

    def render(self, report: Report) -> str:
        by_file: dict[str, list[Finding]] = defaultdict(list)
        for f in report.findings:
            by_file[f.path].append(f)
        files = list(dict.fromkeys([*report.files, *by_file]))
        failed = sum(1 for p in files if any(f.severity in report.failing for f in by_file[p]))
        elapsed = report.elapsed or 0.0
        # files are checked together (in parallel for large sets): each case gets its
        # share of the run, so tools that add up the cases show the run's time
        share = elapsed / len(files) if files else 0.0
        started = report.started or datetime.now(UTC)
        suites = ET.Element("testsuites", name="scsync", tests=str(len(files)),
                            failures=str(failed), errors="0", time=_seconds(elapsed))
        suite = ET.SubElement(
            suites, "testsuite", name=f"scsync {report.command}", tests=str(len(files)),
            failures=str(failed), errors="0", skipped="0", time=_seconds(elapsed),
            # Ant's form: local time without an offset, here UTC
            timestamp=started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
            hostname=_xml_text(socket.gethostname()),
        )
        for path in files:
            case = ET.SubElement(suite, "testcase", classname=f"scsync.{report.command}",
                                 name=_xml_text(path), file=_xml_text(path),
                                 time=_seconds(share))
            failing = [f for f in by_file[path] if f.severity in report.failing]
            others = [f for f in by_file[path] if f.severity not in report.failing]
            if failing:
                failure = ET.SubElement(case, "failure", type=failing[0].rule,
                                        message=_message(failing))
                failure.text = "\n".join(_line(f) for f in failing)
            if others:
                ET.SubElement(case, "system-out").text = "\n".join(_line(f) for f in others)
        ET.indent(suites)
        return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
