"""The rule catalogue: every rule scsync reports, declared once, read by everyone.

`scsync rules`, docs/rules.md, `--ignore`, SARIF's rule table and every reporter
read `RULES`; code names a rule by its constant (`rules.SC100.finding(...)`)
and asks its family as data (`rule.family is Family.SCHEMA`).  The catalogue
is closed and complete as soon as this package is imported: rules are
declared in their family's module (`manifest`, `review`, `plan`) and listed
here, as yamllint lists its rule modules, so no command sees a rule that
another module has not yet registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from scsync.rules import manifest, plan, review
from scsync.rules.manifest import (
    SC001,
    SC002,
    SC003,
    SC004,
    SC005,
    SC006,
    SC007,
    SC008,
    SC009,
    SC010,
    SC011,
    SC012,
    SC020,
    SC021,
    SC022,
    SC023,
    SC024,
    SC025,
    SC029,
    SC040,
    SC041,
    SC042,
    SC043,
    SC044,
    SC045,
    SC046,
    SC047,
    SC050,
    SC051,
)
from scsync.rules.model import PRECISIONS, PROJECT_URL, RULES_DOC_URL, Family, Rule
from scsync.rules.plan import (
    SC120,
    SC121,
    SC122,
    SC123,
    SC124,
    SC125,
    SC126,
    SC127,
    SC128,
    SC129,
    SC130,
    SC131,
    SC132,
    SC133,
    SC134,
    SC135,
)
from scsync.rules.review import (
    SC100,
    SC101,
    SC102,
    SC103,
    SC104,
    SC105,
    SC106,
    SC107,
    SC108,
    SC109,
    SC110,
    SC111,
    SC112,
    SC113,
    SC114,
    SC115,
    SC116,
    SC117,
)

__all__ = ["PRECISIONS", "PROJECT_URL", "RULES", "RULES_DOC_URL", "SC001", "SC002", "SC003",
           "SC004", "SC005", "SC006", "SC007", "SC008", "SC009", "SC010", "SC011", "SC012",
           "SC020", "SC021", "SC022", "SC023", "SC024", "SC025", "SC029", "SC040", "SC041",
           "SC042", "SC043", "SC044", "SC045", "SC046", "SC047", "SC050", "SC051", "SC100",
           "SC101", "SC102",
           "SC103", "SC104", "SC105", "SC106", "SC107", "SC108", "SC109", "SC110", "SC111",
           "SC112", "SC113", "SC114", "SC115", "SC116", "SC117", "SC120", "SC121", "SC122",
           "SC123", "SC124", "SC125", "SC126",
           "SC127", "SC128", "SC129", "SC130", "SC131", "SC132",
           "SC133", "SC134", "SC135", "Family", "Rule", "by_family", "register", "rule"]


def _catalogue(*families: tuple[Rule, ...]) -> Mapping[str, Rule]:
    table: dict[str, Rule] = {}
    for declared in families:
        for r in declared:
            if r.id in table:
                raise ValueError(f"rule id {r.id} is declared twice")
            r.family  # noqa: B018  (raises for an id outside every family's range)
            table[r.id] = r
    return MappingProxyType(dict(sorted(table.items())))


#: Every rule by id, in id order; read-only.
RULES: Mapping[str, Rule] = _catalogue(manifest.ALL, review.ALL, plan.ALL)


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]


def by_family(family: Family) -> list[Rule]:
    return [r for r in RULES.values() if r.family is family]


def register(candidate: Rule) -> Rule:
    """The catalogue's rule for `candidate`'s id, if it is that very rule.

    Kept for callers that declared rules elsewhere before the catalogue was
    closed: an id already taken by another meaning is refused (ids are a public
    contract), and a new rule belongs in its family's module, not here.
    """
    taken = RULES.get(candidate.id)
    if taken is None:
        raise ValueError(f"rule id {candidate.id} is not in the catalogue: declare it in "
                         "scsync/rules/ (its family's module) and list it there")
    if taken != candidate:
        raise ValueError(f"rule id {candidate.id} is already taken by {taken.name}")
    return taken
