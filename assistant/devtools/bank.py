"""The blind question bank (eval/bank/): writers' files and their train / dev / sealed splits.

eval/bank/splits.toml names the writers of each split; each writer's folder holds single.jsonl,
english.jsonl, traditional.jsonl and conversations.jsonl. A split is always a set of whole writers.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from ..config import ROOT
from .evalset import EvalItem, EvalSetError, load

BANK = ROOT / "eval" / "bank"
SPLITS = ("train", "dev", "sealed")
KINDS = ("single", "english", "traditional", "conversations")
# Older own sets, written before the bank: extra labelled data for training, a regression set for CI.
LEGACY_TRAIN = (ROOT / "eval" / "qa.jsonl", ROOT / "eval" / "dev2.jsonl", ROOT / "eval" / "holdout.jsonl")


def writers(split: str, bank: Path = BANK) -> list[str]:
    if split not in SPLITS:
        raise EvalSetError(f"未知的划分 “{split}”，应为 {'|'.join(SPLITS)}")
    try:
        table = tomllib.loads((bank / "splits.toml").read_text("utf-8"))["splits"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as e:
        raise EvalSetError(f"无法读取题库划分 {bank / 'splits.toml'}（{type(e).__name__}）")
    return list(table.get(split, []))


def files(split: str, kind: str = "single", bank: Path = BANK) -> list[Path]:
    """The split's files of one kind that exist (a writer may still be writing)."""
    return [p for w in writers(split, bank) if (p := bank / w / f"{kind}.jsonl").exists()]


def items(split: str, sources: dict[str, str], kind: str = "single", bank: Path = BANK) -> list[EvalItem]:
    out: list[EvalItem] = []
    for p in files(split, kind, bank):
        out += load(p, sources)
    return out
