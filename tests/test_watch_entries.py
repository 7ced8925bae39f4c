"""Watch entries are slotted: made in bulk from a watch file's rows, they keep every field and
behave as entries built one by one (equality, hash, replace, pickling into a worker)."""

from __future__ import annotations

import pickle
from dataclasses import fields, replace

import pytest

from monitor.configtypes import WatchEntry, WatchFile
from monitor.watchconfig import _entries


def test_bulk_made_entries_have_every_field_and_no_dict() -> None:
    spec = WatchFile(path="x.csv", name_column="name", terms_columns=("name",), kind="establishment",
                     severity="critical", chats=("soc", "dpo"), strict=True)
    made = _entries(spec, [("CHU de Rennes", ("CHU de Rennes", "chu-rennes.fr")), ("CH Annecy", ("CH Annecy",))])
    assert not hasattr(made[0], "__dict__")
    assert {f.name: getattr(made[0], f.name) for f in fields(WatchEntry)} == {
        "name": "CHU de Rennes", "kind": "establishment", "terms": ("CHU de Rennes", "chu-rennes.fr"),
        "regex": (), "exclude": (), "requires": (), "severity": "critical", "chats": ("soc", "dpo"), "strict": True}
    assert made[1] == WatchEntry(name="CH Annecy", kind="establishment", terms=("CH Annecy",),
                                 severity="critical", chats=("soc", "dpo"), strict=True)
    assert pickle.loads(pickle.dumps(made)) == made
    edited = replace(made[0], severity="low")
    assert edited.severity == "low" and edited.terms == made[0].terms and made[0].severity == "critical"
    assert made[0].matching_key() == edited.matching_key()
    with pytest.raises(AttributeError):
        made[0].kind = "other"  # type: ignore[misc]  # frozen


def test_no_rows_no_entries() -> None:
    assert _entries(WatchFile(path="x.csv", name_column="name", terms_columns=("name",)), []) == []
