"""Structure-first, jieba-aware chunking into citable chunks and answer units.

A `Chunk` is what retrieval ranks; a `Unit` is the smallest citable fact inside a chunk (a
sentence, a table row, a dated profile event, a profile highlight) and is what the answerer
quotes. Both keep exact spans into the source. Chunks break at every section boundary and
every company profile; within a section, sentences are packed up to a size counted in jieba
tokens, with an overlap of whole sentences, so no cut ever falls inside a word or a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import jieba

from .config import Config
from .ingest.lines import FOOTNOTE_MARK
from .text import sentence_spans
from .types import Block, CompanyProfile, Document, Span

jieba.setLogLevel(60)

CLAUSE_END = re.compile(r"[，、：,:]")
HTML_TAG = re.compile(r"<[^>]+>")

DOMAIN_WORDS = ("小巨人", "专精特新", "新三板", "科创板", "创业板", "北交所", "深交所", "单项冠军", "链主",
                "以投代招", "工业上楼", "深创投", "深投控", "粤科金融", "高新投", "引导基金", "数字化转型",
                "上市率", "专利申请", "政府补助", "政府采购", "首席信息官", "长三角", "珠三角", "深广莞佛")
STOPWORDS = set("的 了 和 是 在 与 及 或 等 也 都 为 对 把 被 从 以 向 有 个 这 那 其 之 中 上 下 就 还 而 并 又 于 着 给 让 吗 呢 吧 啊 呀 么 "
                "什么 怎么 怎样 如何 哪些 哪个 哪家 多少 几 请问 一下 一个 我们 我 你 他 她 它 他们 手册 里 说 呢".split())


@dataclass
class Unit:
    """The smallest citable fact: what the answerer quotes."""

    id: int
    chunk: int
    spans: tuple[Span, ...]  # cited spans (a dated event cites its date and its event)
    text: str  # display form used in answers (markers and layout line breaks removed)
    kind: str
    section: str
    company: str | None = None
    joins_next: bool = False  # split at ；— the next unit continues this sentence


@dataclass
class Chunk:
    id: int
    doc: str
    start: int
    end: int
    text: str  # exactly source[start:end]
    section: str
    kind: str  # paragraph | table | profile | footnote | chart | toc
    company: str | None
    embed_text: str  # section path (and company) prefixed, layout cleaned: what is embedded and BM25-indexed
    units: list[int] = field(default_factory=list)


def init_jieba(extra_words: tuple[str, ...] = ()) -> None:
    jieba.initialize()  # loads the dictionary (and its word frequencies) once, from jieba's cache
    for w in DOMAIN_WORDS + extra_words:
        jieba.add_word(w, freq=20000)
    tokens.cache_clear()  # tokens cut before these words were known would depend on call order


@lru_cache(maxsize=50000)
def tokens(text: str) -> tuple[str, ...]:
    return tuple(t for t in jieba.lcut(text) if t.strip())


def search_tokens(text: str) -> list[str]:
    """Tokens for BM25: jieba's search mode (adds sub-words of long words), no stopwords/punctuation."""
    return [t for t in jieba.lcut_for_search(text.lower()) if t.strip() and t not in STOPWORDS and re.search(r"\w", t)]


def count_tokens(text: str) -> int:
    return len(tokens(text))


def clean(text: str) -> str:
    """Display form: drop footnote markers, HTML tags and layout line breaks inside sentences."""
    text = FOOTNOTE_MARK.sub("", text)
    text = HTML_TAG.sub(" ", text)
    text = re.sub(r"(?<=[^\x00-\x7f])\s*\n\s*(?=[^\x00-\x7f])", "", text)
    text = re.sub(r"[ \t\n]+", " ", text)
    return text.strip()


def split_long(src: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Split an over-long sentence at clause punctuation; a clause boundary never cuts a word or number."""
    if count_tokens(src[start:end]) <= limit:
        return [(start, end)]
    cuts = [start] + [start + m.end() for m in CLAUSE_END.finditer(src[start:end])] + [end]
    pieces, a, size = [], start, 0
    for x, y in zip(cuts, cuts[1:]):
        n = count_tokens(src[x:y])
        if size and size + n > limit:
            pieces.append((a, x))
            a, size = x, 0
        size += n
    pieces.append((a, end))
    return [(x, y) for x, y in pieces if src[x:y].strip()]


def _cn_date(date: str) -> str:
    """2015-07 -> 2015年7月: how people ask and quote dates."""
    y, m = date.split("-")
    return f"{y}年{int(m)}月"


def path_str(path: tuple[str, ...]) -> str:
    return " > ".join(path)


class _Builder:
    def __init__(self, doc: Document, cfg: Config, chunks: list[Chunk], units: list[Unit]):
        self.doc, self.cfg, self.chunks, self.units = doc, cfg, chunks, units

    def span(self, s: int, e: int) -> Span:
        return Span(self.doc.doc, s, e, self.doc.text[s:e])

    def chunk(self, start: int, end: int, section: str, kind: str, company: str | None, body: str,
              unit_specs: list[tuple[tuple[Span, ...], str, bool]]) -> None:
        cid = len(self.chunks)
        # The section path (not just the nearest heading) is what lets a sentence be found by its topic.
        prefix = section + (f" | {company}" if company else "")
        c = Chunk(cid, self.doc.doc, start, end, self.doc.text[start:end], section, kind, company, f"{prefix}\n{body}")
        for spans, text, joins, *unit_kind in unit_specs:
            # a unit inherits its chunk's kind unless it is a byline inside a prose chunk
            u = Unit(len(self.units), cid, spans, text, (unit_kind and unit_kind[0]) or kind, section, company, joins)
            self.units.append(u)
            c.units.append(u.id)
        self.chunks.append(c)

    # -- prose: pack sentences within one section
    def prose(self, blocks: list[Block]) -> None:
        src, section = self.doc.text, path_str(blocks[0].path)
        sents: list[tuple[int, int, bool]] = []
        block_of: list[int] = []
        byline_lines: dict[int, list[tuple[int, int]]] = {}  # sentence index -> the byline's lines
        for bi, b in enumerate(blocks):
            lines = sentence_spans(b.text, b.start, split_lines=b.kind != "paragraph")
            if b.kind == "byline" and lines:
                # One unit for the whole byline: the name with its titles answers "他是什么职位", a
                # title line alone does not say whose title it is.
                byline_lines[len(sents)] = [(x, y) for x, y, _ in lines]
                sents.append((lines[0][0], lines[-1][1], False))
                block_of.append(bi)
                continue
            for s, e, semi in lines:
                for x, y in split_long(src, s, e, self.cfg.chunk_tokens):
                    sents.append((x, y, semi and y == e))
                    block_of.append(bi)
        kind_of = [blocks[bi].kind if blocks[bi].kind == "byline" else None for bi in block_of]
        sizes = [count_tokens(src[s:e]) for s, e, _ in sents]
        i = 0
        while i < len(sents):
            j, size = i, 0
            while j < len(sents) and (j == i or size + sizes[j] <= self.cfg.chunk_tokens):
                size += sizes[j]
                j += 1
            group = sents[i:j]
            specs = []
            body = ""
            for n, (s, e, semi) in enumerate(group):
                if i + n in byline_lines:
                    name, *titles = [clean(src[x:y]) for x, y in byline_lines[i + n]]
                    text = f"{name}：{' '.join(titles)}" if titles else name
                    spans = tuple(self.span(x, y) for x, y in byline_lines[i + n])
                else:
                    text, spans = clean(src[s:e]), (self.span(s, e),)
                body += ("\n" if n and block_of[i + n] != block_of[i + n - 1] else "") + text
                specs.append((spans, text, semi, kind_of[i + n]))
            self.chunk(group[0][0], group[-1][1], section, blocks[0].kind if blocks[0].kind in ("footnote", "toc") else "paragraph",
                       blocks[0].company, body, specs)
            if j >= len(sents):
                break
            # overlap: carry whole trailing sentences up to overlap_tokens into the next chunk
            k, carried = j, 0
            while k - 1 > i and carried + sizes[k - 1] <= self.cfg.overlap_tokens:
                k -= 1
                carried += sizes[k]
            i = k

    def table(self, rows: list[Block]) -> None:
        section = path_str(rows[0].path)
        caption = rows[0].table
        packed: list[list[Block]] = [[]]
        size = 0
        for r in rows:
            n = count_tokens(clean(r.text))
            if packed[-1] and size + n > self.cfg.chunk_tokens:
                packed.append([])
                size = 0
            packed[-1].append(r)
            size += n
        for group in packed:
            specs = []
            for r in group:
                cells = " ".join(c.strip() for c in clean(r.text.replace("\t", " | ")).split(" | ") if c.strip())
                row_text = "，".join(x for x in re.split(r"\s*\|\s*", cells) if x)
                text = f"{caption}：{row_text}" if caption else row_text
                specs.append(((self.span(r.start, r.end),), text, False))
            body = "\n".join(t for _, t, _ in specs)
            self.chunk(group[0].start, group[-1].end, section, "table", None, body, specs)

    def chart(self, b: Block) -> None:
        text = "；".join(clean(x) for x in b.text.splitlines() if x.strip())
        self.chunk(b.start, b.end, path_str(b.path), "chart", None, f"图表：{text}", [((self.span(b.start, b.end),), f"图表“{clean(b.text.splitlines()[0])}”", False)])

    def profile(self, p: CompanyProfile) -> None:
        section, name = path_str(p.path), p.name
        head = [x for x in (p.name_span, p.title, p.intro) if x]
        hs, he = min(x.start for x in head), max(x.end for x in head)
        specs = []
        if p.title:  # the name line is cited with the title: "which companies" is answered by these units
            specs.append(((p.name_span, p.title), f"{name}：{clean(p.title.text)}", False))
        if p.intro:
            specs.append(((p.intro,), f"{name}：{clean(p.intro.text)}", False))
        self.chunk(hs, he, section, "profile", name, "\n".join(t for _, t, _ in specs), specs)
        if p.timeline:
            specs = [((t.date, t.event), f"{name}：{t.date.text}（{_cn_date(t.date.text)}）{clean(t.event.text).rstrip('；;。')}。", False)
                     for t in p.timeline]
            s = min(min(t.date.start, t.event.start) for t in p.timeline)
            e = max(max(t.date.end, t.event.end) for t in p.timeline)
            self.chunk(s, e, section + " > 发展历程", "profile", name, "发展历程：\n" + "\n".join(t for _, t, _ in specs), specs)
        for cat, items in p.highlights.items():
            if not items:
                continue
            specs = [((h,), f"{name}（{cat}）：{clean(h.text)}", False) for h in items]
            self.chunk(items[0].start, items[-1].end, section + f" > 企业亮点 > {cat}", "profile", name,
                       f"企业亮点（{cat}）：\n" + "\n".join(clean(h.text) for h in items), specs)


def _group(b: Block) -> str:
    return {"table_row": "table", "footnote": "footnote", "toc": "toc"}.get(b.kind, "prose")


def chunk_documents(docs: list[Document], cfg: Config) -> tuple[list[Chunk], list[Unit]]:
    init_jieba(tuple(a for d in docs for p in d.profiles for a in p.aliases))
    chunks: list[Chunk] = []
    units: list[Unit] = []
    for doc in docs:
        b = _Builder(doc, cfg, chunks, units)
        profiles = {p.start: p for p in doc.profiles}
        run: list[Block] = []

        def flush() -> None:
            if run:
                (b.table if run[0].kind == "table_row" else b.prose)(list(run))
                run.clear()

        for blk in doc.blocks:
            if blk.kind == "profile":
                flush()
                b.profile(profiles[blk.start])
                continue
            if blk.kind == "chart":
                flush()
                b.chart(blk)
                continue
            if run:
                prev = run[0]
                if (prev.path != blk.path or _group(prev) != _group(blk) or prev.table != blk.table
                        or blk.kind == "footnote"):
                    flush()
            run.append(blk)
        flush()
    return chunks, units
