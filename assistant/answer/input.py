"""Input validation: what can be a question, with the one-line Chinese message for what cannot."""

from __future__ import annotations

import re

from ..config import MAX_QUESTION_CHARS


class BadInput(ValueError):
    """One-line Chinese message for input that cannot be a question."""



def check_question(question) -> str:
    """Normalise user input or raise BadInput with the message the CLI and UI show."""
    if isinstance(question, bytes):
        try:
            question = question.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInput("无法识别的输入：请用中文文字提问。")
    if not isinstance(question, str):
        raise BadInput("无法识别的输入：请用中文文字提问。")
    if "\x00" in question or sum(1 for ch in question if ord(ch) < 32 and ch not in "\t\n\r") > max(3, len(question) // 10):
        raise BadInput("输入包含二进制或控制字符，请用中文文字提问。")
    q = re.sub(r"\s+", " ", "".join(ch for ch in question if ch.isprintable() or ch in "\t\n ")).strip()
    if not q:
        raise BadInput("问题为空：请输入一个关于《广东专精特新“小巨人”成长手册》的问题。")
    if len(q) > MAX_QUESTION_CHARS:
        raise BadInput(f"问题过长（{len(q)} 字）：请控制在 {MAX_QUESTION_CHARS} 字以内。")
    return q


