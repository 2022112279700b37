"""The parsed document tree of the handbook is pinned: any change to parsing changes the fingerprint.

The expected digest was recorded from the parser before it was rebuilt as a line classifier, so the
rebuild is checked to give exactly the same blocks, sections and profiles.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from assistant.config import ROOT
from assistant.ingest.corpus import Document, parse_document

HANDBOOK = ROOT / "corpus" / "handbook.txt"
EXPECTED = "0a8a89d8032e9dd069116dfd729cb933efa7c1452190299cbc5cb86a2b2b7975"


def canonical_tree(doc: Document) -> str:
    """Blocks (kind, offsets, path, table, footnotes, company), sections and profiles as sorted JSON."""
    tree = {
        "title": doc.title,
        "blocks": [[b.kind, b.start, b.end, list(b.path), b.table, b.table_span, b.footnotes, b.company]
                   for b in doc.blocks],
        "sections": [[list(s.path), s.start, s.end] for s in doc.sections],
        "profiles": [dataclasses.asdict(p) for p in doc.profiles],
    }
    return json.dumps(tree, ensure_ascii=False, sort_keys=True, default=str)


def test_handbook_tree_matches_the_recorded_fingerprint():
    digest = hashlib.sha256(canonical_tree(parse_document(HANDBOOK)).encode("utf-8")).hexdigest()
    assert digest == EXPECTED


def test_fingerprint_sees_a_one_character_change():
    doc = parse_document(HANDBOOK)
    before = canonical_tree(doc)
    doc.blocks[5] = dataclasses.replace(doc.blocks[5], end=doc.blocks[5].end - 1)
    assert canonical_tree(doc) != before
