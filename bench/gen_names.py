"""Synthetic benchmark data: French health-establishment names and a forum-like corpus.

Writes, under ``bench/data/`` (git-ignored), deterministically from ``--seed``:

- ``establishments.csv``: columns ``name, alias, domain`` (``--rows`` rows, default 100,000),
  names shaped like real ones ("Centre hospitalier de Saint-Étienne-sur-Loire",
  "Clinique Saint-Joseph de Vallon-les-Bains", "CHU de Rennes", ``ch-rennes.fr``);
- ``names.txt``: every name, alias and domain, one per line (the ``grep -F -f`` pattern file);
- ``corpus.txt``: ``--mb`` MB of forum-like text, one post per line; a share of the lines
  carries ONE planted name, written exactly, without accents and lower-cased, upper-cased,
  with hyphens and spaces swapped, or as a defanged domain;
- ``planted.json``: the planted occurrences (line number, variant, watch name, term) and
  counts per variant, so a benchmark can check what it found.

Usage::

    python bench/gen_names.py --rows 100000 --mb 40 --seed 7
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import unicodedata
from pathlib import Path

DATA = Path(__file__).parent / "data"

KINDS = [
    ("Centre hospitalier", "CH", "ch"),
    ("Centre hospitalier universitaire", "CHU", "chu"),
    ("Centre hospitalier régional", "CHR", "chr"),
    ("Clinique", "", "clinique"),
    ("Polyclinique", "", "polyclinique"),
    ("Hôpital privé", "HP", "hopital-prive"),
    ("Hôpital", "", "hopital"),
    ("EHPAD", "", "ehpad"),
    ("Centre de radiologie", "", "radiologie"),
    ("Centre de rééducation fonctionnelle", "CRF", "crf"),
    ("Laboratoire d'analyses médicales", "LABM", "labm"),
    ("Maison de santé pluriprofessionnelle", "MSP", "msp"),
    ("Groupe hospitalier", "GH", "gh"),
    ("Centre médico-psychologique", "CMP", "cmp"),
    ("Institut de cancérologie", "", "institut-cancerologie"),
    ("Résidence médicalisée", "", "residence"),
]

QUALIFIERS = [
    "Saint-Joseph", "Sainte-Marie", "Saint-Jean", "Saint-Luc", "Saint-Martin", "Sainte-Anne",
    "Saint-Vincent-de-Paul", "Notre-Dame", "Sainte-Thérèse", "Saint-Benoît", "Les Tilleuls",
    "Les Lilas", "Les Érables", "Le Parc", "La Roseraie", "Les Glycines", "Bon-Secours",
    "Pasteur", "Ambroise-Paré", "Claude-Bernard", "Jeanne-d'Arc", "de l'Espérance",
    "du Val-d'Ouest", "Belle-Île", "Émile-Zola", "Léonard-de-Vinci",
]

CITIES = [
    "Rennes", "Nantes", "Brest", "Lorient", "Vannes", "Saint-Brieuc", "Quimper", "Angers",
    "Le Mans", "Tours", "Orléans", "Bourges", "Besançon", "Dijon", "Mâcon", "Chalon-sur-Saône",
    "Saint-Étienne", "Lyon", "Villeurbanne", "Grenoble", "Chambéry", "Annecy", "Valence",
    "Nîmes", "Montpellier", "Béziers", "Perpignan", "Toulouse", "Albi", "Rodez", "Cahors",
    "Agen", "Pau", "Bayonne", "Mont-de-Marsan", "Bordeaux", "Périgueux", "Angoulême",
    "La Rochelle", "Niort", "Poitiers", "Limoges", "Guéret", "Clermont-Ferrand", "Aurillac",
    "Le Puy-en-Velay", "Évreux", "Rouen", "Le Havre", "Caen", "Cherbourg-en-Cotentin",
    "Alençon", "Amiens", "Beauvais", "Compiègne", "Lille", "Roubaix", "Tourcoing", "Arras",
    "Reims", "Châlons-en-Champagne", "Troyes", "Metz", "Nancy", "Épinal", "Strasbourg",
    "Colmar", "Mulhouse", "Belfort", "Marseille", "Aix-en-Provence", "Toulon", "Nice",
    "Cannes", "Antibes", "Avignon", "Ajaccio", "Bastia", "Fort-de-France", "Pointe-à-Pitre",
    "Saint-Denis", "Créteil", "Bobigny", "Versailles", "Évry-Courcouronnes", "Cergy",
    "Pontoise", "Nanterre", "Argenteuil", "Meaux", "Melun", "Fontainebleau", "Étampes",
]

# Syllables for more places than France has big towns: "Beaumont-sur-Loire", "Vallon-les-Bains".
PLACE_HEADS = [
    "Beau", "Mont", "Ville", "Val", "Roche", "Font", "Châtel", "Neuf", "Bois", "Clair",
    "Belle", "Haut", "Grand", "Pont", "Mar", "Saint-Ger", "Sainte-Foy", "Ros", "Lan", "Ker",
    "Plou", "Tré", "Pen", "Cha", "Bour", "Sau", "Vil", "Mau", "Bré", "Aube",
]
PLACE_TAILS = [
    "mont", "ville", "court", "val", "bourg", "fort", "champ", "lieu", "noy", "nac", "gny",
    "ac", "ay", "ière", "elles", "ignac", "eau", "ais", "ourt", "ères", "ouze", "igné",
    "an", "ec", "ouët", "oux", "ens", "ange",
]
PLACE_SUFFIXES = [
    "", "", "", "-sur-Mer", "-sur-Loire", "-sur-Saône", "-les-Bains", "-le-Château",
    "-en-Forêt", "-la-Rivière", "-sous-Bois", "-d'Azergues", "-le-Vieux", "-Sainte-Croix",
]

FILLER = ["selling", "fresh", "dump", "database", "full", "access", "admin", "panel", "shell", "price", "btc", "xmr", "escrow", "only", "contact", "me", "on", "telegram", "jabber", "tox", "session", "sample", "below", "records", "rows", "patients", "fichier", "base", "de", "données", "vente", "accès", "complet", "prix", "négociable", "dossier", "médical", "mutuelle", "numéro", "sécurité", "sociale", "nom", "prénom", "date", "naissance", "adresse", "téléphone", "email", "hash", "password", "leaked", "yesterday", "still", "valid", "vouch", "reputation", "new", "thread", "bump", "reply", "quote", "sold", "out", "the", "of", "and", "for", "with", "from", "this", "that", "is", "are", "was", "will", "all", "your", "our", "un", "une", "des", "les", "du", "la", "le", "pour", "avec", "sans", "sur", "dans", "par", "plus", "très"]

VARIANTS = ("exact", "folded", "upper", "hyphen_swap", "defanged")


def slug(text: str) -> str:
    """"Saint-Étienne" -> "saint-etienne" (ASCII, hyphens)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = "".join(ch.lower() if ch.isalnum() else "-" for ch in plain)
    return "-".join(part for part in out.split("-") if part)


def strip_accents(text: str) -> str:
    """Accents removed, case kept."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def make_places(rng: random.Random, count: int) -> list[str]:
    """Real cities first, then invented ones, all distinct."""
    places = list(CITIES)
    seen = set(places)
    count = min(count, len(CITIES) + len(PLACE_HEADS) * len(PLACE_TAILS) * len(set(PLACE_SUFFIXES)) // 2)
    while len(places) < count:
        place = rng.choice(PLACE_HEADS) + rng.choice(PLACE_TAILS) + rng.choice(PLACE_SUFFIXES)
        if place not in seen:
            seen.add(place)
            places.append(place)
    return places


def de(place: str) -> str:
    """French "de" with elision: "d'Évreux", "du Mans", "de Rennes"."""
    if place.startswith("Le "):
        return "du " + place[3:]
    if place.startswith("La "):
        return "de la " + place[3:]
    if strip_accents(place[0]).upper() in "AEIOUH":
        return "d'" + place
    return "de " + place


def make_rows(rng: random.Random, rows: int) -> list[tuple[str, str, str]]:
    """``rows`` distinct (name, alias, domain) triples."""
    places = make_places(rng, max(200, rows // 20))
    out: list[tuple[str, str, str]] = []
    names: set[str] = set()
    domains: set[str] = set()
    while len(out) < rows:
        kind, acronym, prefix = rng.choice(KINDS)
        place = rng.choice(places)
        qualifier = rng.choice(QUALIFIERS) if rng.random() < 0.45 else ""
        name = f"{kind} {qualifier} {de(place)}" if qualifier else f"{kind} {de(place)}"
        if name in names:
            continue
        alias = ""
        if acronym and not qualifier:
            alias = f"{acronym} {place}"
        elif qualifier and rng.random() < 0.5:
            alias = f"{kind.split()[0]} {qualifier}"  # "Clinique Saint-Joseph": ambiguous, as in life
        domain = f"{prefix}-{slug(qualifier) + '-' if qualifier else ''}{slug(place)}.fr"
        if domain in domains:
            domain = ""
        names.add(name)
        if domain:
            domains.add(domain)
        out.append((name, alias, domain))
    return out


def variant_text(rng: random.Random, variant: str, name: str, domain: str) -> tuple[str, str]:
    """(text to plant, term it stands for)."""
    if variant == "exact":
        return name, name
    if variant == "folded":
        return strip_accents(name).lower(), name
    if variant == "upper":
        return name.upper(), name
    if variant == "hyphen_swap":
        swapped = "".join("-" if ch == " " else " " if ch == "-" else ch for ch in name)
        return swapped, name
    return domain.replace(".", rng.choice(["[.]", "(.)", "[dot]"])), domain


def filler(rng: random.Random, words: int) -> str:
    """A few sentences of forum chatter."""
    parts: list[str] = []
    for _ in range(words):
        word = rng.choice(FILLER)
        roll = rng.random()
        if roll < 0.06:
            word += ","
        elif roll < 0.1:
            word += "."
        elif roll < 0.11:
            word = f"{rng.randrange(10**3, 10**6)}"
        elif roll < 0.12:
            word = f"{rng.getrandbits(64):016x}"
        parts.append(word)
    return " ".join(parts)


def write_corpus(rng: random.Random, rows: list[tuple[str, str, str]], mb: float, path: Path,
                 plant_rate: float) -> dict:
    """Forum lines, one planted name on ``plant_rate`` of them; returns the manifest."""
    target = int(mb * 1_000_000)
    planted: list[dict] = []
    counts = dict.fromkeys(VARIANTS, 0)
    size = 0
    line_no = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        while size < target:
            text = filler(rng, rng.randint(8, 60))
            if rng.random() < plant_rate:
                name, _alias, domain = rng.choice(rows)
                variant = rng.choice(VARIANTS if domain else VARIANTS[:-1])
                planted_text, term = variant_text(rng, variant, name, domain)
                cut = text.rfind(" ", 0, rng.randrange(1, len(text)))
                if cut < 0:
                    text = f"{planted_text} {text}"
                else:
                    text = f"{text[:cut]} {planted_text}{rng.choice(['', ',', '.', ' :', ''])}{text[cut:]}"
                planted.append({"line": line_no, "variant": variant, "watch": name, "term": term})
                counts[variant] += 1
            line = f"[post] {rng.choice(['anon', 'x0r', 'dumper', 'N3tw1z', 'léa_dbs'])}: {text}\n"
            out.write(line)
            size += len(line.encode("utf-8"))
            line_no += 1
    return {"lines": line_no, "bytes": size, "planted": len(planted), "by_variant": counts,
            "occurrences": planted}


def main() -> None:
    """Generate the CSV, the grep pattern file, the corpus and its manifest."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--mb", type=float, default=40.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plant-rate", type=float, default=0.02, help="share of lines with a planted name")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    rows = make_rows(rng, args.rows)
    with (args.out / "establishments.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "alias", "domain"])
        writer.writerows(rows)
    with (args.out / "names.txt").open("w", encoding="utf-8") as handle:
        for row in rows:
            for term in row:
                if term:
                    handle.write(term + "\n")
    manifest = write_corpus(rng, rows, args.mb, args.out / "corpus.txt", args.plant_rate)
    (args.out / "planted.json").write_text(json.dumps(manifest), encoding="utf-8")
    print(f"{len(rows)} rows -> {args.out / 'establishments.csv'}; corpus {manifest['bytes'] / 1e6:.1f} MB, "
          f"{manifest['lines']} lines, {manifest['planted']} planted {manifest['by_variant']}")


if __name__ == "__main__":
    main()
