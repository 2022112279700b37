"""Questions that train-split writers asked, as document expansion ("doc2query").

Every single-turn question of the blind bank's train split, and the first turn of each of its
conversations, is stored with its query embedding, its writer and its evidence (built by
`assistant doc2query`, devtools/doc2query.py). An answer unit inherits
the questions whose evidence it holds, so a new wording of an old question finds the unit even when it
shares no word with it ("那家做锂电设备的佛山公司" asked before about the unit that names the company).
What comes from it:
- a third retrieval ranking: the chunks that answer the closest stored questions (retrieval.AskedRetriever);
- asked_before: the closest question someone asked about this unit, leaving out those about other places
  (a feature, evidence.py): "深圳…有多少家获得融资" asked of the 深圳 sentence says nothing for it when
  东莞 is asked;
- novel_idf / novel_year: asked words the unit lacks that no earlier question about it used either;
- q_answerable_before / q_unanswerable_before: the closest question any writer asked that the handbook
  answers / does not answer (a tempting unanswerable resembles earlier tempting unanswerables).
Only train-split writers are stored, so dev and sealed stay unseen. A question of a stored writer (the
train split in `assistant eval`, the rows `assistant train` fits on) is scored without its own writer's
entries (`excluding`), so the features look on train as they will on a writer nobody has read.
"""

from __future__ import annotations

import contextvars
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from ..text import bare_text

# The writers whose entries the current question may not use (its own writer's, when it has one).
_EXCLUDED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("doc2query_excluded", default=frozenset())


@dataclass(frozen=True)
class AskedQuestions:
    """The stored questions: one row per question, vectors normalised."""

    vecs: np.ndarray  # (n, dim) float32
    writers: tuple[str, ...]
    answerable: np.ndarray  # (n,) bool
    evidence: tuple[tuple[tuple[str, int, int], ...], ...]  # per question: (doc, start, end) of its evidence
    must_contain: tuple[tuple[str, ...], ...]
    questions: tuple[str, ...]  # the wording itself: which words an earlier writer used for this unit
    embedder: str
    provenance: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.writers)

    def save(self, path: Path) -> None:
        meta = {"writers": list(self.writers), "evidence": [[list(s) for s in ev] for ev in self.evidence],
                "must_contain": [list(m) for m in self.must_contain], "questions": list(self.questions),
                "embedder": self.embedder,
                "provenance": self.provenance}
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:  # float16 halves the file; cosines move by < 1e-3
            np.savez_compressed(fh, vecs=self.vecs.astype(np.float16), answerable=self.answerable,
                                meta=np.array(json.dumps(meta, ensure_ascii=False)))


EMPTY = AskedQuestions(np.zeros((0, 1), np.float32), (), np.zeros(0, bool), (), (), (), "")


@lru_cache(maxsize=4)
def load(path: Path | None) -> AskedQuestions:
    """The stored questions; none when the file is absent or unreadable (the features are then 0)."""
    if path is None or not Path(path).exists():
        return EMPTY
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            return AskedQuestions(z["vecs"].astype(np.float32), tuple(meta["writers"]), z["answerable"].astype(bool),
                                  tuple(tuple((d, int(s), int(e)) for d, s, e in ev) for ev in meta["evidence"]),
                                  tuple(tuple(m) for m in meta["must_contain"]), tuple(meta["questions"]), meta["embedder"],
                                  meta.get("provenance", {}))
    except (OSError, ValueError, KeyError, TypeError):
        return EMPTY


@contextmanager
def excluding(*writers: str):
    """Score questions inside this block without these writers' entries."""
    token = _EXCLUDED.set(frozenset(w for w in writers if w))
    try:
        yield
    finally:
        _EXCLUDED.reset(token)


def writer_of(item_id: str) -> str:
    """The bank writer of a question id ("w3-s001" -> "w3"); "" for ids of other sets."""
    head = item_id.split("-", 1)[0]
    return head if len(head) >= 2 and head[0] == "w" and head[1:].isdigit() else ""


def unit_questions(units, store: AskedQuestions) -> list[np.ndarray]:
    """Per unit, the answerable stored questions it answers (an index array, often empty): the unit
    overlaps the question's evidence or holds every required string, the rule that labels the
    confidence model's positives. Vectorised: it runs once per index, before the first answer."""
    found: list[set[int]] = [set() for _ in units]
    bare = [bare_text(u.text) for u in units]
    holding: dict[str, set[int]] = {}  # required string -> units holding it
    for q in np.flatnonzero(store.answerable):
        need = [bare_text(m) for m in store.must_contain[q]]
        for m in need:
            if m not in holding:
                holding[m] = {i for i, b in enumerate(bare) if m in b}
        for i in set.intersection(*(holding[m] for m in need)) if need else ():
            found[i].add(int(q))
    ev = [(d, s, e, q) for q in np.flatnonzero(store.answerable) for d, s, e in store.evidence[q]]
    if ev:
        docs = np.array([d for d, *_ in ev])
        starts, ends, qs = (np.array([x[k] for x in ev]) for k in (1, 2, 3))
        for i, u in enumerate(units):
            for sp in u.spans:
                found[i].update(int(q) for q in qs[(docs == sp.doc) & (starts < sp.end) & (sp.start < ends)])
    return [np.array(sorted(f), dtype=np.int64) for f in found]


@dataclass
class Prior:
    """What earlier writers asked, seen from one new question."""

    sims: np.ndarray  # cosine of the question with every stored question (-1 for excluded ones)
    by_unit: list[np.ndarray]
    answerable: np.ndarray
    questions: tuple[str, ...] = ()
    elsewhere: np.ndarray | None = None  # per stored question: it names places, none of them this one's
    unplaced: np.ndarray | None = None  # per stored question: it names no place (set when this one names some)

    def wordings(self, uid: int) -> str:
        """The (lower-cased) earlier questions about this unit that this question may use."""
        qs = self.by_unit[uid] if uid < len(self.by_unit) else ()
        return " ".join(self.questions[q].lower() for q in qs if self.sims[q] > -1.0)

    def asked_before(self, uid: int, of_its_place: bool = True) -> float:
        """The closest stored question this unit answers. of_its_place False: the unit does not name the place this
        question asks about, so only stored questions naming that place count ("广州小巨人集中在哪些赛道" is not
        asked before of the province's sentence because someone asked "小巨人集中在哪些赛道" of it)."""
        qs = self.by_unit[uid] if uid < len(self.by_unit) else ()
        if len(qs) and self.elsewhere is not None:
            qs = qs[~self.elsewhere[qs]]
        if len(qs) and not of_its_place and self.unplaced is not None:
            qs = qs[~self.unplaced[qs]]
        return max(0.0, float(self.sims[qs].max())) if len(qs) else 0.0

    def closest(self, answerable: bool) -> float:
        mask = self.answerable == answerable
        return max(0.0, float(self.sims[mask].max())) if mask.any() else 0.0


def prior(index, qvec: np.ndarray, places: frozenset[str] = frozenset(),
          places_of: Callable[[str], frozenset[str]] | None = None) -> Prior:
    """The stored questions compared with this one (nothing stored, or another embedder: all zero).
    places: the places this question asks about; places_of(question): a stored question's."""
    store = load(index.cfg.doc2query)
    if not len(store) or store.embedder != index.manifest.get("fingerprint", {}).get("embedder") \
            or store.vecs.shape[1] != qvec.shape[0]:
        return Prior(np.zeros(0), [], np.zeros(0, bool))
    by_unit = index.extra(f"doc2query_units:{index.cfg.doc2query}", lambda: unit_questions(index.units, store))
    sims = (store.vecs @ qvec).astype(np.float64)
    excluded = _EXCLUDED.get()
    if excluded:
        sims[np.array([w in excluded for w in store.writers])] = -1.0
    elsewhere = unplaced = None
    if places and places_of is not None:
        stored = index.extra(f"doc2query_places:{index.cfg.doc2query}", lambda: [places_of(q) for q in store.questions])
        elsewhere = np.array([bool(p) and not (p & places) for p in stored], dtype=bool)
        unplaced = np.array([not p for p in stored], dtype=bool)
    return Prior(np.clip(sims, -1.0, 1.0), by_unit, store.answerable, store.questions, elsewhere, unplaced)
