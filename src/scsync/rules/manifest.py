"""Rules on manifests: loading (SC001-SC019), the schema (SC020-SC039), one connector
(SC040-SC049) and the set (SC050-SC059). `scsync validate` reports these."""

from __future__ import annotations

from scsync.findings import Severity
from scsync.rules.model import Rule

E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTICE

# loading
SC001 = Rule(
    "SC001", "yaml-syntax", E, "The file is not well-formed YAML.",
    "Fix the YAML syntax at the reported position; `yamllint` shows the same spot.",
    "Nothing else is checked until the file parses. The position is where the parser "
    "gave up, which can be just after the real mistake (an unclosed bracket or quote).",
    ("correctness",))
SC002 = Rule(
    "SC002", "duplicate-key", E, "A mapping has the same key twice.",
    "YAML parsers disagree on which value wins; keep exactly one.",
    "YAML requires the keys of a mapping to be unique. Some parsers keep the last "
    "value, others the first or refuse the file, so tools would apply different "
    "settings; both lines are named.", ("correctness",))
SC003 = Rule(
    "SC003", "not-utf8", E, "The file is not UTF-8 text.",
    "Save the file as UTF-8 (a BOM is allowed).",
    "Manifests are read as UTF-8 only, with or without a byte-order mark. The finding "
    "points at the first byte that is not UTF-8, usually from a file saved as Latin-1 "
    "or Windows-1252.", ("correctness",))
SC004 = Rule(
    "SC004", "empty-file", E, "The file has no YAML document.",
    "Add the connector's settings, or delete the file.",
    "A file that is empty, holds only comments, or only `---` or `~` describes no "
    "connector; it is refused rather than silently skipped.", ("correctness",))
SC005 = Rule(
    "SC005", "tab-indentation", E, "A tab is used for indentation.",
    "YAML indents with spaces only; replace the tabs with spaces.",
    "YAML forbids tabs in indentation. Editors often show them like spaces, so the "
    "structure on screen differs from the one a parser reads.", ("correctness",))
SC006 = Rule(
    "SC006", "multiple-documents", E, "The file holds more than one YAML document.",
    "One connector per file: move each document after `---` into a file of its own.",
    "A manifest is one connector, and its path identifies it in reviews and in the "
    "controller's state; tools that read only the first document would ignore the "
    "others.", ("correctness",))
SC007 = Rule(
    "SC007", "not-a-mapping", E, "The top level of the document is not a mapping.",
    "A manifest is a mapping of settings (`key: value` lines), not a list or a scalar.",
    "A list, a string or a number at the top level cannot describe a connector; no "
    "other rule can check such a file.", ("correctness",))
SC008 = Rule(
    "SC008", "file-too-large", E, "The file is larger than the size cap.",
    "A manifest is a few hundred bytes; raise --max-bytes only if this is really one.",
    "Files over the cap (1 MiB unless --max-bytes says otherwise) are not parsed at all, "
    "so a generated or hostile file cannot make a run slow or exhaust its memory. The "
    "finding is about the whole file and is placed at 1:1.", ("robustness",))
SC009 = Rule(
    "SC009", "alias-limit", E,
    "The file has too many values, nests too deep, or its aliases expand too far.",
    "Write the values out instead of nesting anchors and aliases.",
    "A manifest has at most a few thousand values a few levels deep. Anchors and aliases "
    "can make a small file expand to billions of values, very deep nesting can crash a "
    "parser, and hundreds of thousands of values cost seconds; scsync stops at 10,000 "
    "values (expanded), 64 levels, and reports where.", ("robustness",))
SC010 = Rule(
    "SC010", "unreadable", E, "The file cannot be read.",
    "Check the file's permissions and that it is a regular file.",
    "The path is not a regular file (a folder named *.yaml, a named pipe, a device) or "
    "cannot be opened. Pipes are never read, as they could block the run for ever.",
    ("correctness",))
SC011 = Rule(
    "SC011", "unsupported-tag", E, "A YAML tag scsync does not accept.",
    "Use plain strings, numbers, booleans, lists and mappings; drop the `!tag`.",
    "An explicit tag asks the parser to build a value of its own kind (and some "
    "loaders run code for it); a manifest holds plain data, so every tag is refused.",
    ("correctness",))
SC012 = Rule(
    "SC012", "too-many-findings", E, "More findings in one file than are reported.",
    "Only a file's first 100 findings are shown; this one counts the rest and takes "
    "their worst severity. Fix those shown and run again.",
    "A generated or hostile file could otherwise print hundreds of thousands of lines. "
    "This finding stands at the first finding left out and has the worst severity of "
    "those left out, so the exit code and --strict come out as with the full list.",
    ("robustness",))

# the JSON Schema
SC020 = Rule(
    "SC020", "missing-key", E, "A required setting is missing.",
    "Add the setting; `scsync validate` lists every required key.",
    "The SmartConnector schema requires apiVersion, kind, api_name, name and status; a "
    "connector without one cannot be created. The finding is placed on the mapping "
    "that lacks the key.", ("correctness",))
SC021 = Rule(
    "SC021", "unknown-key", E, "A key the schema does not know.",
    "Check the spelling against the schema; unknown keys are refused so typos cannot hide.",
    "A misspelt setting (`descripton`, `max_concurent_executions`) would otherwise be "
    "ignored and leave the default in force; the message suggests the closest known "
    "key.", ("correctness",))
SC022 = Rule(
    "SC022", "wrong-type", E, "A value has the wrong type.",
    "Quote strings, write numbers without quotes, booleans as true/false.",
    "YAML infers a value's type from how it is written: `1` is a number, `'1'` a "
    "string, `yes` a string under YAML 1.2. A value of the wrong type would be refused "
    "by the API or read differently than meant.", ("correctness",))
SC023 = Rule(
    "SC023", "invalid-value", E, "A value is not one of those allowed.",
    "Use one of the values listed in the message, spelt exactly.",
    "Settings such as status take one of a fixed set of values, spelt exactly (case "
    "and spaces count); a near miss gets a did-you-mean hint.", ("correctness",))
SC024 = Rule(
    "SC024", "out-of-range", E, "A number or a length is outside its limits.",
    "Bring the value within the limits given in the message.",
    "Numbers and lengths have the API's limits (max_concurrent_executions 0 to 100, "
    "name up to 255 characters, description up to 2,000, job.timeout_seconds at least "
    "1); a value outside them would be refused when applied.", ("correctness",))
SC025 = Rule(
    "SC025", "invalid-format", E, "A string does not have the required form.",
    "Follow the pattern given in the message.",
    "api_name, email addresses and the webhook URL must have the form the API accepts "
    "(a webhook URL is https, or http on localhost only); the message gives the form.",
    ("correctness",))
SC029 = Rule(
    "SC029", "schema-violation", E, "The document breaks another rule of the schema.",
    "Read the message; it comes from the schema's own rule.",
    "A schema rule that SC020-SC025 do not name, typically from a custom schema given "
    "with --schema (multipleOf, dependencies, combinations); the message is the "
    "validator's own.", ("correctness",))

# one connector
SC040 = Rule(
    "SC040", "description-missing", W,
    "The description is missing or shorter than 20 characters.",
    "People and AI tools read the description to understand the connector: "
    "say what it moves where, and when.",
    "The description is the one place a manifest explains itself; without a useful "
    "one, reviewers and operators cannot tell what a connector is for.",
    ("maintainability",))
SC041 = Rule(
    "SC041", "parallel-writes", W, "More than one concurrent execution without create_only.",
    "Two executions writing the same record end in a state that depends on timing. "
    "Set `create_only: true` if the load steps only create records, or keep the limit at 1.",
    "With max_concurrent_executions above 1, executions of the connector overlap; "
    "unless its load steps only create records, two runs can update the same record "
    "and the last to finish wins.", ("reliability",))
SC042 = Rule(
    "SC042", "paused", N, "max_concurrent_executions is 0: executions queue and none runs.",
    "This is the recommended pause. Raise the limit to resume; queued executions then start.",
    "Triggers and schedules still queue executions, and none starts until the limit is "
    "raised; the queue then drains within the new limit.", ("reliability",))
SC043 = Rule(
    "SC043", "not-executable", N, "The status does not allow executions.",
    "Only `Operational` and `Operational - Needs Attention` run; "
    "scheduled and manual runs wait until then.",
    "With Inactive or Setup the connector exists but does not execute: scheduled and "
    "manual runs wait until the status allows them.", ("reliability",))
SC044 = Rule(
    "SC044", "same-notification-emails", W, "Both notification emails are the same address.",
    "That address gets two emails for every error; "
    "drop additional_error_notification_email or use another address.",
    "additional_notification_email hears of every completed execution and "
    "additional_error_notification_email of errors only; one address in both gets each "
    "error twice. Addresses are compared without regard to case.", ("notification",))
SC045 = Rule(
    "SC045", "filename-mismatch", N, "The file name differs from the api_name.",
    "Name the file `<api_name>.yaml` so connectors are easy to find.",
    "The file name is how people find a connector in the repository and in reviews; "
    "when it differs from the api_name the two drift further apart with every rename.",
    ("maintainability",))
SC046 = Rule(
    "SC046", "cadence-required", E, "A schedule connector has no cadence.",
    "Add `cadence:` with the seconds between runs (3600 runs it hourly).",
    "A connector of connector_type `schedule` runs every `cadence` seconds; without one "
    "Kizen has nothing to schedule, and the executor refuses to create it.",
    ("correctness",))
SC047 = Rule(
    "SC047", "cadence-ignored", W, "A cadence on a connector type that does not use it.",
    "Only `schedule` (the interval) and `webhook` (the batching window) read cadence; "
    "remove it, or correct connector_type.",
    "Kizen reads `cadence` for schedule connectors, as the seconds between runs, and for "
    "webhook connectors, as the window inbound requests are batched over; on any other "
    "connector_type it changes nothing, which usually means the type or the cadence is a "
    "mistake.", ("maintainability",))
SC048 = Rule(
    "SC048", "nul-character", E, "A string holds a NUL character (U+0000).",
    "Remove the `\\0`: no setting can hold one.",
    "Kizen refuses a null character in any text field ('Null characters are not "
    "allowed.'), and PostgreSQL, which Kizen and scsync's replicated executor store "
    "settings in, cannot hold one; a `\\0` escape in a double-quoted YAML string is "
    "the usual way one gets in.", ("correctness",))

# the set
SC050 = Rule(
    "SC050", "duplicate-api-name", E, "Two manifests declare the same api_name.",
    "api_name identifies one connector; give each manifest its own.",
    "The api_name identifies a connector in the API and in every caller; two manifests "
    "with the same one would manage the same connector and undo each other's settings "
    "on every apply. Both files are named.", ("correctness",))
SC051 = Rule(
    "SC051", "duplicate-name", W, "Two manifests declare the same name.",
    "Names are labels people pick connectors by; make them distinct.",
    "Two connectors with one name look the same in Kizen's interface and in "
    "notifications; names are compared ignoring case and runs of spaces.",
    ("maintainability",))

#: In id order: the catalogue (`scsync.rules`) lists these.
ALL = (SC001, SC002, SC003, SC004, SC005, SC006, SC007, SC008, SC009, SC010, SC011, SC012, SC020,
       SC021, SC022, SC023, SC024, SC025, SC029, SC040, SC041, SC042, SC043, SC044, SC045, SC046,
       SC047, SC048, SC050, SC051)
