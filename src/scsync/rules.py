"""Every rule scsync reports, with its stable id.

Ids are a public contract: they appear in reports, SARIF rule tables and
suppressions, and are never reused for a different meaning.

- SC001-SC019  loading: the bytes and the YAML
- SC020-SC039  the JSON Schema
- SC040-SC049  settings of one connector
- SC050-SC059  the set of connectors as a whole
- SC100-SC199  changes between two revisions (review) and against live state (plan)
"""

from __future__ import annotations

from dataclasses import dataclass

from scsync.findings import Finding, Severity


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    severity: Severity
    summary: str
    help: str

    def finding(
        self,
        path: str,
        message: str,
        *,
        line: int = 1,
        column: int = 1,
        pointer: str = "",
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            path=path,
            line=line,
            column=column,
            pointer=pointer,
            message=message,
            hint=hint,
        )


E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE

_ALL = [
    # loading
    Rule("SC001", "yaml-syntax", E, "The file is not well-formed YAML.",
         "Fix the YAML syntax at the reported position; `yamllint` shows the same spot."),
    Rule("SC002", "duplicate-key", E, "A mapping has the same key twice.",
         "YAML parsers disagree on which value wins; keep exactly one."),
    Rule("SC003", "not-utf8", E, "The file is not UTF-8 text.",
         "Save the file as UTF-8 (a BOM is allowed)."),
    Rule("SC004", "empty-file", E, "The file has no YAML document.",
         "Add the connector's settings, or delete the file."),
    Rule("SC005", "tab-indentation", E, "A tab is used for indentation.",
         "YAML indents with spaces only; replace the tabs with spaces."),
    Rule("SC006", "multiple-documents", E, "The file holds more than one YAML document.",
         "One connector per file: move each document after `---` into a file of its own."),
    Rule("SC007", "not-a-mapping", E, "The top level of the document is not a mapping.",
         "A manifest is a mapping of settings (`key: value` lines), not a list or a scalar."),
    Rule("SC008", "file-too-large", E, "The file is larger than the size cap.",
         "A manifest is a few hundred bytes; raise --max-bytes only if this is really one."),
    Rule("SC009", "alias-limit", E,
         "The file has too many values, nests too deep, or its aliases expand too far.",
         "Write the values out instead of nesting anchors and aliases."),
    Rule("SC010", "unreadable", E, "The file cannot be read.",
         "Check the file's permissions and that it is a regular file."),
    Rule("SC011", "unsupported-tag", E, "A YAML tag scsync does not accept.",
         "Use plain strings, numbers, booleans, lists and mappings; drop the `!tag`."),
    Rule("SC012", "too-many-findings", E, "More findings in one file than are reported.",
         "Only a file's first 100 findings are shown; this one counts the rest and takes "
         "their worst severity. Fix those shown and run again."),
    # schema
    Rule("SC020", "missing-key", E, "A required setting is missing.",
         "Add the setting; `scsync validate` lists every required key."),
    Rule("SC021", "unknown-key", E, "A key the schema does not know.",
         "Check the spelling against the schema; unknown keys are refused so typos cannot hide."),
    Rule("SC022", "wrong-type", E, "A value has the wrong type.",
         "Quote strings, write numbers without quotes, booleans as true/false."),
    Rule("SC023", "invalid-value", E, "A value is not one of those allowed.",
         "Use one of the values listed in the message, spelt exactly."),
    Rule("SC024", "out-of-range", E, "A number or a length is outside its limits.",
         "Bring the value within the limits given in the message."),
    Rule("SC025", "invalid-format", E, "A string does not have the required form.",
         "Follow the pattern given in the message."),
    Rule("SC029", "schema-violation", E, "The document breaks another rule of the schema.",
         "Read the message; it comes from the schema's own rule."),
    # one connector
    Rule("SC040", "description-missing", W,
         "The description is missing or shorter than 20 characters.",
         "People and AI tools read the description to understand the connector: "
         "say what it moves where, and when."),
    Rule("SC041", "parallel-writes", W, "More than one concurrent execution without create_only.",
         "Two executions writing the same record end in a state that depends on timing. "
         "Set `create_only: true` if the load steps only create records, or keep the limit at 1."),
    Rule("SC042", "paused", N, "max_concurrent_executions is 0: executions queue and none runs.",
         "This is the recommended pause. Raise the limit to resume; queued executions then start."),
    Rule("SC043", "not-executable", N, "The status does not allow executions.",
         "Only `Operational` and `Operational - Needs Attention` run; "
         "scheduled and manual runs wait until then."),
    Rule("SC044", "same-notification-emails", W, "Both notification emails are the same address.",
         "That address gets two emails for every error; "
         "drop additional_error_notification_email or use another address."),
    Rule("SC045", "filename-mismatch", N, "The file name differs from the api_name.",
         "Name the file `<api_name>.yaml` so connectors are easy to find."),
    # the set
    Rule("SC050", "duplicate-api-name", E, "Two manifests declare the same api_name.",
         "api_name identifies one connector; give each manifest its own."),
    Rule("SC051", "duplicate-name", W, "Two manifests declare the same name.",
         "Names are labels people pick connectors by; make them distinct."),
    # review
    Rule("SC100", "api-name-change", E, "The api_name of a connector in use changes.",
         "Everything that calls the connector by its API name breaks. Keep the old api_name; "
         "change `name` for a new label. An accepted break needs --allow-api-name-change OLD:NEW."),
]

RULES: dict[str, Rule] = {r.id: r for r in _ALL}


def register(rule: Rule) -> Rule:
    """Add a rule defined elsewhere (review and plan rules); ids must stay unique."""
    if rule.id in RULES and RULES[rule.id] != rule:
        raise ValueError(f"rule id {rule.id} is already taken by {RULES[rule.id].name}")
    RULES[rule.id] = rule
    return rule


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
