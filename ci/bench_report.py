#!/usr/bin/env python3
"""Reads the outputs of `core/benches/maps.rs` and `core/benches/ets_bench.escript` (lines
`R<TAB>section<TAB>workload<TAB>map<TAB>size<TAB>threads<TAB>value`), prints the results and
their ratios, and writes the report (Markdown) and a bar chart of the ratios (PNG). With
`--cache`, the cache layer's section follows: the tables `core/benches/cache.rs` printed, after
its explanation, which is kept from the previous report like the main analysis.

Used by ci/bench; see `ci/bench --help`."""

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
from collections import defaultdict

HASH_PEERS = ["dashmap", "papaya", "scc-HashMap", "scc-HashIndex"]
ORDERED_PEERS = ["SkipMap", "scc-TreeIndex"]
MIXES = ["ReadHeavy", "Exchange", "RapidGrow"]
ETS_OPS = ["insert", "lookup", "update_counter"]
ETS_TARGET = 5.0
ANALYSIS_BEGIN = "<!-- analysis:begin (kept when the report is regenerated) -->"
ANALYSIS_END = "<!-- analysis:end -->"
CACHE_BEGIN = "<!-- cache-analysis:begin (kept when the report is regenerated) -->"
CACHE_END = "<!-- cache-analysis:end -->"
CACHE_HEADING = "## Cache layer"


def kept_block(old, begin, end):
    """The text between the markers `begin` and `end` in the previous report, or None."""
    match = re.search(re.escape(begin) + r"(.*?)" + re.escape(end), old, re.S)
    return match.group(1).strip("\n") if match else None


def cache_explanation(old):
    """The cache section's explanation in the previous report: its kept block, or, in a report
    written before the block existed, the prose between the section's heading and its first
    table heading."""
    kept = kept_block(old, CACHE_BEGIN, CACHE_END)
    if kept is not None:
        return kept
    at = old.find("\n" + CACHE_HEADING)
    if at < 0:
        return None
    body = old[at + 1:].split("\n", 1)[1] if "\n" in old[at + 1:] else ""
    prose = re.split(r"^(?:### |## |<!-- )", body, maxsplit=1, flags=re.M)[0].strip("\n")
    return prose or None


def cache_section(tables, old, quick):
    """The cache layer's section: heading, kept explanation, the bench's tables."""
    explanation = cache_explanation(old) or "(No explanation written yet for these results.)"
    command = "cargo bench -p rets-core --bench cache" + (" -- --quick" if quick else "")
    return f"""
{CACHE_HEADING}: hit ratio, get throughput, memory (`{command}`)

{CACHE_BEGIN}
{explanation}
{CACHE_END}

{tables.strip(chr(10))}
"""


def records(path):
    """The lines of one results file: ("R", key, value) and ("I", fields)."""
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if parts[0] == "R" and len(parts) == 7:
            _, section, workload, name, size, threads, value = parts
            yield "R", (section, workload, name, int(size), int(threads)), float(value)
        elif parts[0] == "P" and len(parts) == 8:
            _, section, workload, name, size, threads, rep, value = parts
            key = (section, workload, name, int(size), int(threads))
            yield "P", key, (int(rep), float(value))
        elif parts[0] == "I":
            yield "I", parts[1:], None


def median(values):
    """The middle value (the upper one of an even count, as the Rust bench's)."""
    return sorted(values)[len(values) // 2]


def parse(paths):
    """{(section, workload, map, size, threads): value} and info lines. A figure given more
    than once (ci/bench runs rets's and ETS's benchmarks in alternating rounds) is the median
    of its values."""
    values, info = defaultdict(list), []
    for path in paths:
        if not os.path.exists(path):
            continue
        for kind, key, value in records(path):
            if kind == "R":
                values[key].append(value)
            elif key not in info:
                info.append(key)
    return {key: median(v) for key, v in values.items()}, info


def parse_repetitions(paths):
    """{key: {repetition: value}}: the maps bench's figure of each repetition of a cell (its
    maps take turns within a repetition, so one repetition's figures were taken moments apart)."""
    reps = defaultdict(dict)
    for path in paths:
        if not os.path.exists(path):
            continue
        for kind, key, value in records(path):
            if kind == "P":
                reps[key][value[0]] = value[1]
    return reps


def paired_ratio(reps, key_a, key_b, a, b):
    """a / b, as the median of the repetitions' own ratios where both maps have them (so that a
    change of the host's speed between repetitions, which this host's two-thread figures show,
    does not skew it), else the ratio of the medians a and b."""
    ra, rb = reps.get(key_a, {}), reps.get(key_b, {})
    common = sorted(set(ra) & set(rb))
    if common and all(rb[i] for i in common):
        return median([ra[i] / rb[i] for i in common])
    return ratio(a, b)


def parse_rounds(paths):
    """{key: {round: value}} from the files of rounds (`NAME-ROUND.tsv`, as ci/bench writes
    rets's and ETS's alternating rounds)."""
    rounds = defaultdict(dict)
    for path in paths:
        m = re.search(r"-(\d+)\.tsv$", path)
        if not m or not os.path.exists(path):
            continue
        for kind, key, value in records(path):
            if kind == "R":
                rounds[key][int(m.group(1))] = value
    return rounds


def sizes_threads(results, section):
    sizes = sorted({k[3] for k in results if k[0] == section})
    threads = sorted({k[4] for k in results if k[0] == section})
    return sizes, threads


def fmt_size(n):
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def fmt(v, digits=2):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def mark(ok):
    if ok is None:
        return "–"
    return "met" if ok else "**missed**"


def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    cpu = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": sh("nproc"),
        "cpu": cpu,
        "memory": mem,
        "kernel": platform.release(),
        "rustc": sh("rustc --version"),
        "commit": sh("git rev-parse --short HEAD") + (" (with local changes)" if sh("git status --porcelain") else ""),
    }


# ---------------------------------------------------------------------------------------------
# Tables


def hash_tables(results, reps):
    """Markdown table and ratio rows for the hash maps (ratios paired by repetition)."""
    sizes, threads = sizes_threads(results, "maps")
    header = "| workload | keys | threads | rets-set | rets-set-plain | " + " | ".join(HASH_PEERS) + \
        " | rets / best peer | rets / dashmap |\n|---|---|---|---|---|" + "---|" * len(HASH_PEERS) + "---|---|\n"
    rows, ratios = [], []
    for workload in ["lookup"] + MIXES:
        for n in sizes:
            for t in threads:
                rets = results.get(("maps", workload, "rets-set", n, t))
                plain = results.get(("maps", workload, "rets-set-plain", n, t))
                peers = {p: results.get(("maps", workload, p, n, t)) for p in HASH_PEERS}
                present = [v for v in peers.values() if v is not None]
                if rets is None and not present:
                    continue
                best_name = max((p for p in HASH_PEERS if peers[p] is not None), key=lambda p: peers[p], default=None)
                best = peers.get(best_name) if best_name else None
                key = ("maps", workload, "rets-set", n, t)
                r_best = best_name and paired_ratio(reps, key, ("maps", workload, best_name, n, t), rets, best)
                r_dash = paired_ratio(reps, key, ("maps", workload, "dashmap", n, t), rets, peers["dashmap"])
                ratios.append((workload, n, t, r_best, r_dash, best_name))
                cells = " | ".join(fmt(peers[p]) for p in HASH_PEERS)
                rows.append(f"| {workload} | {fmt_size(n)} | {t} | {fmt(rets)} | {fmt(plain)} | {cells} | "
                            f"{fmt(r_best, 3)} ({best_name}) | {fmt(r_dash, 3)} |")
    return header + "\n".join(rows) + "\n", ratios


def ordered_tables(results, reps):
    sizes, threads = sizes_threads(results, "maps")
    header = "| workload | keys | threads | rets-ordered | rets-ordered-plain | " + " | ".join(ORDERED_PEERS) + \
        " | rets / best peer |\n|---|---|---|---|---|" + "---|" * len(ORDERED_PEERS) + "---|\n"
    rows, ratios = [], []
    for workload in ["lookup", "scan100"] + MIXES:
        for n in sizes:
            for t in threads:
                rets = results.get(("maps", workload, "rets-ordered", n, t))
                plain = results.get(("maps", workload, "rets-ordered-plain", n, t))
                peers = {p: results.get(("maps", workload, p, n, t)) for p in ORDERED_PEERS}
                if rets is None and all(v is None for v in peers.values()):
                    continue
                best_name = max((p for p in ORDERED_PEERS if peers[p] is not None), key=lambda p: peers[p], default=None)
                best = peers.get(best_name) if best_name else None
                key = ("maps", workload, "rets-ordered", n, t)
                r_best = best_name and paired_ratio(reps, key, ("maps", workload, best_name, n, t), rets, best)
                ratios.append((workload, n, t, r_best, best_name))
                cells = " | ".join(fmt(peers[p]) for p in ORDERED_PEERS)
                rows.append(f"| {workload} | {fmt_size(n)} | {t} | {fmt(rets)} | {fmt(plain)} | {cells} | {fmt(r_best, 3)} ({best_name}) |")
    return header + "\n".join(rows) + "\n", ratios


def ets_tables(results, rounds):
    """The rets-against-ETS table. With rounds (ci/bench alternates rets and ETS), a ratio is
    the median of the rounds' own ratios: each round's two figures were taken minutes apart at
    most, where the medians of each side alone may pair a fast stretch of one with a slow
    stretch of the other. The rounds' ratios are shown too."""
    sizes, threads = sizes_threads(results, "ets")
    header = ("| table | operation | keys | procs/threads | ETS | rets | rets / ETS | rounds' ratios |\n"
              "|---|---|---|---|---|---|---|---|\n")
    rows, ratios = [], []
    for table in ["set", "ordered_set"]:
        for op in ETS_OPS:
            for n in sizes:
                for t in threads:
                    ets = results.get(("ets-erl", op, table, n, t))
                    rets = results.get(("ets", op, table, n, t))
                    if ets is None and rets is None:
                        continue
                    ets_rounds = rounds.get(("ets-erl", op, table, n, t), {})
                    rets_rounds = rounds.get(("ets", op, table, n, t), {})
                    paired = [ratio(rets_rounds[i], ets_rounds[i])
                              for i in sorted(set(ets_rounds) & set(rets_rounds))]
                    paired = [p for p in paired if p is not None]
                    r = median(paired) if paired else ratio(rets, ets)
                    per_round = " / ".join(fmt(p, 2) for p in paired) if len(paired) > 1 else ""
                    ratios.append((table, op, n, t, r))
                    rows.append(f"| {table} | {op} | {fmt_size(n)} | {t} | {fmt(ets)} | {fmt(rets)} "
                                f"| {fmt(r, 3)} | {per_round} |")
    return header + "\n".join(rows) + "\n", ratios


def memory_table(results):
    rows, ratios = [], []
    for table in ["set", "ordered_set"]:
        keys = [k for k in results if k[0] == "memory" and k[2] == table and k[1] == "info"]
        for k in keys:
            n = k[3]
            info = results[k]
            rss = results.get(("memory", "rss", table, n, 1))
            ets = results.get(("memory-ets", "info", table, n, 1))
            r = ratio(info, ets)
            ratios.append((table, n, r))
            rows.append(f"| {table} | {fmt_size(n)} | {fmt(ets, 1)} | {fmt(info, 1)} | {fmt(rss, 1)} | {fmt(r, 3)} |")
    header = ("| table | objects | ETS `info(memory)` B/object | rets `info().memory` B/object "
              "| rets RSS growth B/object | rets / ETS |\n|---|---|---|---|---|---|\n")
    return header + "\n".join(rows) + "\n", ratios


# ---------------------------------------------------------------------------------------------
# Targets


def targets(hash_r, ord_r, ets_r, mem_r):
    """[(target, cell, value text, ok)]"""
    out = []
    for workload, n, t, r_best, _r_dash, best in hash_r:
        if workload == "lookup":
            out.append(("lookups ≥ best hash peer", f"{fmt_size(n)} {t}T", f"{fmt(r_best, 3)}× {best}",
                        None if r_best is None else r_best >= 1.0))
    for workload, n, t, r_best, best in ord_r:
        if workload == "lookup":
            out.append(("ordered lookups ≥ best ordered peer", f"{fmt_size(n)} {t}T", f"{fmt(r_best, 3)}× {best}",
                        None if r_best is None else r_best >= 1.0))
    for workload, n, t, r_best, best in ord_r:
        if workload == "scan100":
            out.append(("scan100 ≥ 0.5× best ordered peer", f"{fmt_size(n)} {t}T", f"{fmt(r_best, 3)}× {best}",
                        None if r_best is None else r_best >= 0.5))
    for workload, n, t, _r_best, r_dash, _best in hash_r:
        if workload in ("ReadHeavy", "Exchange"):
            out.append((f"{workload} ≥ dashmap", f"{fmt_size(n)} {t}T", f"{fmt(r_dash, 3)}×",
                        None if r_dash is None else r_dash >= 1.0))
    for table, op, n, t, r in ets_r:
        out.append((f"{op} ≥ 5× ETS ({table})", f"{fmt_size(n)} {t}T", f"{fmt(r, 3)}×",
                    None if r is None else r >= ETS_TARGET))
    for table, n, r in mem_r:
        out.append((f"memory/object ≤ 0.8× ETS ({table})", f"{fmt_size(n)}", f"{fmt(r, 3)}×",
                    None if r is None else r <= 0.8))
    return out


def targets_summary(ts):
    groups = defaultdict(list)
    for name, cell, value, ok in ts:
        groups[name].append((cell, value, ok))
    lines = ["| target | met in | cells (ratio) |", "|---|---|---|"]
    for name, cells in groups.items():
        met = sum(1 for c in cells if c[2])
        detail = "; ".join(f"{c[0]}: {c[1]}{'' if c[2] else ' ✗'}" for c in cells)
        lines.append(f"| {name} | {met}/{len(cells)} | {detail} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Plot


def plot(path, hash_r, ord_r, ets_r, mem_r, title):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is missing: no plot", file=sys.stderr)
        return False

    fig, axes = plt.subplots(3, 1, figsize=(13, 13))

    def bars(ax, labels, series, ylabel, lines, heading):
        import numpy as np

        x = np.arange(len(labels))
        width = 0.8 / max(1, len(series))
        for i, (name, values) in enumerate(series):
            vals = [v if v is not None else 0 for v in values]
            ax.bar(x + (i - (len(series) - 1) / 2) * width, vals, width, label=name)
        for y, style in lines:
            ax.axhline(y, color="black", linestyle=style, linewidth=0.8)
        ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel(ylabel)
        ax.set_title(heading, fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(axis="y", which="both", alpha=0.3)

    labels = [f"{w} {fmt_size(n)} {t}T" for w, n, t, *_ in hash_r]
    bars(axes[0], labels,
         [("rets-set / best hash peer", [r[3] for r in hash_r]),
          ("rets-set / dashmap", [r[4] for r in hash_r])],
         "ratio (log)", [(1.0, "-")], "Hash: rets set vs dashmap, papaya, scc (target: ≥ 1)")
    labels = [f"{w} {fmt_size(n)} {t}T" for w, n, t, *_ in ord_r]
    bars(axes[1], labels, [("rets-ordered / best ordered peer", [r[3] for r in ord_r])],
         "ratio (log)", [(1.0, "-")], "Ordered: rets ordered_set vs crossbeam SkipMap, scc TreeIndex (target: ≥ 1 for lookups)")
    labels = [f"{tb} {op} {fmt_size(n)} {t}T" for tb, op, n, t, _ in ets_r] + \
        [f"memory {tb} {fmt_size(n)} (ETS / rets)" for tb, n, _ in mem_r]
    values = [r[4] for r in ets_r] + [(1 / r[2]) if r[2] else None for r in mem_r]
    bars(axes[2], labels, [("rets / ETS (memory: ETS / rets)", values)], "ratio (log)",
         [(1.0, "-"), (ETS_TARGET, "--")], "rets vs real ETS (target: ≥ 5 for operations, dashed; memory ≥ 1)")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    return True


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", nargs="+", required=True)
    ap.add_argument("--abi", help="output of the C ABI overhead bench, if it ran")
    ap.add_argument("--read-through", help="output of the read-through (get_or_load) bench, if it ran")
    ap.add_argument("--range-select", help="output of the range select bench, if it ran")
    ap.add_argument("--instructions", help="the table ci/instructions printed, if it ran")
    ap.add_argument("--cache", help="output of the cache layer bench (core/benches/cache.rs), if it ran")
    ap.add_argument("--command", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--plot", required=True)
    ap.add_argument("--plot-link", required=True, help="the plot's path as linked from the report")
    ap.add_argument("--load", default="", help="load averages seen during the run")
    args = ap.parse_args()

    results, info = parse(args.results)
    m = machine()
    otp = next((i for i in info if i and i[0] == "otp"), None)
    reps = parse_repetitions(args.results)
    hash_md, hash_r = hash_tables(results, reps)
    ord_md, ord_r = ordered_tables(results, reps)
    ets_md, ets_r = ets_tables(results, parse_rounds(args.results))
    mem_md, mem_r = memory_table(results)
    ts = targets(hash_r, ord_r, ets_r, mem_r)
    summary = targets_summary(ts)

    print("\n== hash maps (Mops/s)\n" + hash_md)
    print("== ordered maps (Mops/s; scan100 in Mkeys/s)\n" + ord_md)
    print("== rets vs ETS (Mops/s)\n" + ets_md)
    print("== memory per object\n" + mem_md)
    print("== targets\n" + summary)

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = f"rets ratios, {date}, {m['nproc']} × {m['cpu']}" + (" (quick run)" if args.quick else "")
    plotted = plot(args.plot, hash_r, ord_r, ets_r, mem_r, title)

    old = ""
    if os.path.exists(args.markdown):
        old = open(args.markdown, encoding="utf-8").read()
    analysis = kept_block(old, ANALYSIS_BEGIN, ANALYSIS_END)
    if not analysis:
        analysis = "(No analysis written yet for these results.)"

    abi = ""
    if args.abi and os.path.exists(args.abi):
        abi = open(args.abi, encoding="utf-8").read().strip()
    read_through = ""
    if args.read_through and os.path.exists(args.read_through):
        read_through = open(args.read_through, encoding="utf-8").read().strip()
    instructions = ""
    if args.instructions and os.path.exists(args.instructions):
        instructions = open(args.instructions, encoding="utf-8").read().strip()
    range_select = ""
    if args.range_select and os.path.exists(args.range_select):
        # The bench's tab-separated rows are for machines; its closing line says it for people.
        lines = open(args.range_select, encoding="utf-8").read().splitlines()
        range_select = "\n".join(line for line in lines if line and not line.startswith("R\t"))

    md = f"""# Benchmarks

Made by `{args.command}` on {date}{" — a quick smoke run: small sizes, one repetition; not the reported figures" if args.quick else ""}.
Everything below comes from that one run; regenerate it with the same command.

**Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['memory']} RAM, Linux {m['kernel']}; {m['rustc']};
{("Erlang/OTP " + otp[1] + ", " + otp[2]) if otp else "Erlang/OTP: not run"}; rets at commit {m['commit']}.
Load averages during the run: {args.load or "not recorded"}.

This machine has 2 cores, shared with other work, and slow random memory access (about
130–170 ns a miss over large sets): compare **ratios within this run**, never absolute numbers
across runs. Each figure is the median of several short repetitions (wall clock from a barrier to
the last thread's end), in millions of operations per second over all threads; a measurement
stops early once a thread has spent 0.5 s on it (RapidGrow excepted), so slow maps do not
stretch the run. 10k keys is cache-resident, 1M keys is memory-bound. A cell's maps take turns
within each repetition, and a ratio between two maps is the median of the repetitions' own
ratios (against ETS: of the rounds' own ratios), so that a change of the host's speed between
repetitions does not skew it.

![ratios]({args.plot_link})

## Targets (SPEC §9)

{summary}
## Analysis

{ANALYSIS_BEGIN}
{analysis}
{ANALYSIS_END}

## What is measured

- **Maps** (`core/benches/maps.rs`): every workload is written once over a small trait with one
  adapter per map. Keys are `u64`. The peers store a `[u8; 16]` value and use the hasher rets
  uses (foldhash, quality), so hashing costs the same; rets stores the object `[K, <<16 bytes>>]`
  in a public set (or ordered_set) and is driven through its public `Table` API: integer keys
  (`impl ToKey for u64`), `lookup_with` for reads (no copy), `insert` of MessagePack bytes
  (`Msgpack`, the path the bindings take; the bytes are validated and copied), `delete`, and
  `update_element` for updates. papaya pins one guard per thread (as conc-map-bench does);
  so does rets in its `rets-set` and `rets-ordered` columns (`Table::pin`, refreshed every 1,024
  operations), while `rets-set-plain` and `rets-ordered-plain` read through the plain per-call
  API (`Table::lookup_with`; lookups and ReadHeavy only: the other mixes are writes).
  - The maps of a section (hash, ordered) take turns: every cell's repetitions go round the
    maps (rets, peer, peer, ..., rets, ...), so that each map's median covers the same stretch
    of time; on the benchmark's host two threads run in one of two modes about 3× apart for
    seconds to minutes at a time.
  - *lookup*: the map holds keys `0..n` (inserted in a scattered order); each thread looks up
    random present keys.
  - *ReadHeavy* (98/1/1/0 read/insert/remove/update, prefill 75%), *Exchange* (10/40/40/10,
    prefill 75%), *RapidGrow* (5/80/5/10, from empty to about n keys): the conc-map-bench mixes,
    run as bustle runs them (each thread owns a random key sequence; inserts take the next key,
    removes the oldest, reads and updates pick keys by an LCG, so they hit and miss).
    ReadHeavy and Exchange run a fixed number of operations on a map kept near 0.75 n keys.
  - *scan100* (ordered maps): 100 consecutive keys from a random start, in Mkeys/s, reading
    each key and the first byte of its value. `rets-ordered` reads them as one chunk
    (`Table::chunk_with(Included(start), 100, ..)`: one descent, then each object read in place
    inside the storage's pass), as SkipMap's and TreeIndex's `range(start..)` hand out
    references into the map under a guard; `rets-ordered-plain` iterates `Table::range(start..)`,
    which reads chunks of 64 keys (one descent each) into a reused buffer, so that no guard is
    held between items, and hands out each object there (`Iter::next_ref`).
- **ETS** (`core/benches/ets_bench.escript`, run by `escript`, compiled mode; Debian's
  erlang-nox): objects `{{K, 0, {{v, K}}}}`, integer keys, `set` and `ordered_set`, public with
  read_concurrency and write_concurrency; *insert* of n keys into an empty table in a scattered
  order (small sizes repeat it on fresh tables), *lookup* and *update_counter*
  (`ets:update_counter(T, K, 1)`) of random present keys (an inline LCG); 1 and 2 processes (one
  per scheduler). rets runs the same operations
  on the same objects (`[K, 0, ["v", K]]`) through `Table::insert` (MessagePack), `lookup_with`
  and `update_counter`, with 1 and 2 threads (the `ets` section of the Rust bench); its
  update_counter runs on a table of its own whose objects are counters already (each updated
  once, untimed: a key's first update_counter stores its object as changeable, a rebuild, and
  the later ones change it in place), its lookups on objects as inserted. The two run
  in separate processes, in three alternating rounds of one repetition each (rets, ETS, rets,
  ETS, ...), and each figure is the median of its rounds; a ratio is the median of the rounds'
  own ratios (the table shows them), each round's two figures being minutes apart at most.
- **Memory**: n objects with a 16-byte binary key and a 64-byte binary value; ETS
  `ets:info(T, memory) × wordsize` against rets `Table::info().memory`, both divided by n. The
  growth of the resident set of the process while filling (measured first thing in a fresh
  process) cross-checks rets's own accounting.

## Hash maps (Mops/s)

{hash_md}
## Ordered maps (Mops/s; scan100 in Mkeys/s)

{ord_md}
## rets against ETS (Mops/s)

{ets_md}
## Memory per object

{mem_md}
## Instructions per operation (callgrind)

`ci/instructions`: each operation's instructions at 10k keys on one thread, the difference of two
callgrind counts (100,000 and 200,000 operations after the same setup); exact whatever the
machine's load (each table's random hash seed moves them by a few).

{instructions if instructions else "Not measured in this run."}

## C ABI overhead

{("```" + chr(10) + abi + chr(10) + "```") if abi else "Not measured in this run (`ffi/benches/abi_overhead.rs` was not present)."}

## Read-through: get_or_load miss cost

`core/benches/read_through.rs` (`cargo bench -p rets-core --bench read_through`): the cache's own
work per call on a miss (the loader returns at once) and on a hit, beside moka and quick_cache.

{("```" + chr(10) + read_through + chr(10) + "```") if read_through else "Not measured in this run."}

## Select over a key range

`core/benches/range_select.rs` (`cargo bench -p rets-core --bench range_select`): on a 1M-object
ordered_set, a `select` whose pattern binds the key's first element (`{{G, '_'}}`, 100 objects,
read as one key range) beside 100 lookups of the same objects and a select that has to scan the
whole table (the key unbound).

{("```" + chr(10) + range_select + chr(10) + "```") if range_select else "Not measured in this run."}
"""
    if args.cache and os.path.exists(args.cache):
        md += cache_section(open(args.cache, encoding="utf-8").read(), old, args.quick)
    if not plotted:
        md = md.replace(f"![ratios]({args.plot_link})\n", "(matplotlib was not available: no plot.)\n")
    with open(args.markdown, "w", encoding="utf-8") as f:
        f.write(md)
    print(f"wrote {args.markdown}" + (f" and {args.plot}" if plotted else ""))


if __name__ == "__main__":
    main()
