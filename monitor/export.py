"""`leakmon export --format misp|stix`: hits as a MISP event (pymisp) or a STIX 2.1 bundle (stix2)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

_THREAT_LEVEL = {"critical": 1, "high": 1, "medium": 2, "low": 3}   # MISP: 1 high, 2 medium, 3 low


def render_export(rows: Sequence[dict[str, Any]], fmt: str) -> str:
    """The hit records of `hits` (report.hit_rows) as MISP event JSON or a STIX 2.1 bundle."""
    if fmt == "misp":
        return misp_event(rows)
    if fmt == "stix":
        return stix_bundle(rows)
    raise ValueError(f"unknown export format {fmt!r}")


def _triage(row: dict[str, Any]) -> str:
    """The triage of a hit record in words: claimed records and kinds of personal data."""
    records = f'{row["records"]:,} records claimed' if row.get("records") is not None else "no record count"
    data = ", ".join(row.get("data") or ()) or "none seen or claimed"
    return f"{records}; personal data: {data}"


def misp_event(rows: Sequence[dict[str, Any]]) -> str:
    """One MISP event: a url attribute per hit (title as comment), the watched names as tags."""
    from pymisp import MISPEvent, MISPObject

    event = MISPEvent()
    event.info = f"leakmon: {len(rows)} leak mentions of watched names"
    event.distribution = 0             # your organisation only: the CERT decides what to share
    event.analysis = 0
    levels = [_THREAT_LEVEL.get(r["severity"], 2) for r in rows]
    event.threat_level_id = min(levels) if levels else 3
    event.set_date(datetime.now(UTC).date())
    event.add_tag("tlp:amber")
    for watch in sorted({r["watch"] for r in rows}):
        event.add_tag(f'leakmon:watch="{watch}"')
    for r in rows:
        tags = [f'leakmon:watch="{r["watch"]}"', f'leakmon:source="{r["source"]}"']
        if r["url"]:
            event.add_attribute("url", r["url"], category="External analysis", to_ids=False,
                                comment=(r["title"] or "")[:250], Tag=[{"name": t} for t in tags])
        obj = MISPObject("annotation", standalone=False)
        obj.add_attribute("text", value=f'{r["watch"]} ({", ".join(r["terms"])}) named in "{r["title"]}"; '
                                        f'{_triage(r)}')
        obj.add_attribute("type", value="Other")
        obj.comment = f'leakmon hit {r["id"]}, first seen {r["first_seen"]}'
        event.add_object(obj)
    return event.to_json(indent=2)


def stix_bundle(rows: Sequence[dict[str, Any]]) -> str:
    """A STIX 2.1 bundle: a URL object and a Note per hit, and one Report that refers to them all."""
    import stix2

    identity = stix2.Identity(name="leakmon", identity_class="system")
    objects: list[Any] = [identity]
    refs = []
    for r in rows:
        note_refs = []
        if r["url"]:
            url = stix2.URL(value=r["url"])
            objects.append(url)
            note_refs.append(url.id)
        note = stix2.Note(
            abstract=f'{r["watch"]} named on {r["source"]}',
            content=f'{r["title"]}\nterms: {", ".join(r["terms"])}\nseverity: {r["severity"]}\n'
                    f'first seen: {r["first_seen"]}' + (" (retro-hunt)" if r["retro"] else "") + f"\n{_triage(r)}",
            object_refs=note_refs or [identity.id], labels=[r["watch"]], created_by_ref=identity.id,
        )
        objects.append(note)
        refs += [note.id, *note_refs]
    report = stix2.Report(name=f"leakmon: {len(rows)} leak mentions of watched names",
                          report_types=["threat-report"], published=datetime.now(UTC),
                          object_refs=refs or [identity.id], created_by_ref=identity.id)
    objects.append(report)
    return str(stix2.Bundle(objects=objects).serialize(pretty=True))


