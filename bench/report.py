#!/usr/bin/env python3
"""Turns bench/run's Google Benchmark JSON into report.md and PNG plots.

Each benchmark's label says which pair it belongs to and on which side
(annals or baseline): every pair is one row, with the ratio between the
Annals figure and each baseline from the same run.
"""
import json
import os
import shutil
import subprocess
import sys
from collections import OrderedDict


def parse_label(label):
    fields = {}
    for part in (label or "").split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            fields[k.strip()] = v.strip()
    return fields


def fmt_rate(x):
    if x is None:
        return "–"
    if x >= 1e6:
        return "%.2fM" % (x / 1e6)
    if x >= 1e3:
        return "%.1fk" % (x / 1e3)
    return "%.0f" % x


def fmt_us(x):
    if x is None:
        return "–"
    if x >= 10000:
        return "%.1f ms" % (x / 1000)
    if x >= 100:
        return "%.0f µs" % x
    return "%.1f µs" % x


def load(out):
    """Per (file, benchmark name): median and best of its repetitions."""
    entries = OrderedDict()
    for fname in sorted(os.listdir(out)):
        if not fname.endswith(".json") or fname == "machine.json":
            continue
        try:
            with open(os.path.join(out, fname)) as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            print("report: cannot read %s: %s" % (fname, e), file=sys.stderr)
            continue
        for b in data.get("benchmarks", []):
            name = b.get("run_name") or b.get("name")
            key = (fname[:-5], name)
            e = entries.setdefault(key, {"runs": [], "median": None, "label": "", "error": None})
            if b.get("label"):
                e["label"] = b["label"]
            if b.get("error_occurred"):
                e["error"] = b.get("error_message", "error")
                continue
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    e["median"] = b
            else:
                e["runs"].append(b)
    return entries


def figures(e):
    runs = e["runs"]
    src = e["median"] or (runs[0] if runs else None)
    if src is None:
        return None
    rate = src.get("items_per_second")
    best = max((r.get("items_per_second") or 0 for r in runs), default=None) or None
    return {
        "rate": rate,
        "best": best if len(runs) > 1 else None,
        "p50": src.get("p50_us"),
        "p99": src.get("p99_us"),
        "reps": len(runs),
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/results"
    machine = {}
    try:
        with open(os.path.join(out, "machine.json")) as f:
            machine = json.load(f)
    except (OSError, ValueError):
        pass
    entries = load(out)

    pairs = OrderedDict()
    skipped = []
    for (fname, name), e in entries.items():
        label = parse_label(e["label"])
        if e["error"]:
            skipped.append((fname, name, e["error"]))
            continue
        pair = label.get("pair", name)
        f = figures(e)
        if f is None:
            continue
        f["what"] = label.get("what", name)
        f["name"] = name
        side = label.get("side", "annals")
        p = pairs.setdefault(pair, {"annals": [], "baseline": [], "file": fname})
        p[side if side in ("annals", "baseline") else "annals"].append(f)

    fsync = None
    for pair, p in pairs.items():
        if pair.startswith("machine/fsync") and p["baseline"]:
            fsync = p["baseline"][0]

    reps = max((f["reps"] for p in pairs.values() for side in ("annals", "baseline")
                for f in p[side]), default=1)
    lines = []
    lines.append("# Annals benchmark report")
    lines.append("")
    lines.append("Measured %s on %s cores (%s), %s GiB RAM, kernel %s; %s run." % (
        machine.get("date", "?"), machine.get("cores", "?"), machine.get("cpu", "?"),
        machine.get("memory_gib", "?"), machine.get("kernel", "?"),
        "quick (small sizes, smoke test: do not quote these)" if machine.get("quick") else "full"))
    if fsync:
        lines.append("One 4 KiB write + fsync on the benchmark disk (%s): p50 %s, p99 %s." % (
            machine.get("tmp", "/tmp"), fmt_us(fsync["p50"]), fmt_us(fsync["p99"])))
    v = machine.get("versions", {})
    if v:
        lines.append("Versions: " + ", ".join("%s %s" % (k, v[k]) for k in v) + ".")
    lines.append("")
    if reps > 1:
        lines.append("Figures are the **median of %d repetitions**; the best of them is in "
                     "parentheses. Throughput is per second of wall time; latencies are per "
                     "operation (p50 / p99). Ratio = Annals ÷ baseline throughput: above 1 Annals "
                     "is faster." % reps)
    else:
        lines.append("Figures are from **a single run** (no repetitions): neither best-of nor "
                     "median. Throughput is per second of wall time; latencies are per operation "
                     "(p50 / p99). Ratio = Annals ÷ baseline throughput: above 1 Annals is faster.")
    lines.append("")

    groups = OrderedDict()
    for pair, p in pairs.items():
        groups.setdefault(pair.split("/")[0], []).append((pair, p))

    plots = []
    for group, items in groups.items():
        lines.append("## %s" % group)
        lines.append("")
        lines.append("| case | Annals /s | p50 / p99 | baseline | baseline /s | p50 / p99 | ratio |")
        lines.append("|---|---:|---:|---|---:|---:|---:|")
        plot_rows = []
        for pair, p in items:
            case = pair[len(group) + 1:] if "/" in pair else pair
            annals = p["annals"][0] if p["annals"] else None
            bases = p["baseline"] or [None]
            for i, b in enumerate(bases):
                a_cells = ["–", "–"]
                if annals and i == 0:
                    rate = fmt_rate(annals["rate"])
                    if annals["best"]:
                        rate += " (%s)" % fmt_rate(annals["best"])
                    a_cells = [rate, "%s / %s" % (fmt_us(annals["p50"]), fmt_us(annals["p99"]))
                               if annals["p50"] is not None else "–"]
                b_cells = ["–", "–", "–"]
                ratio = "–"
                if b:
                    rate = fmt_rate(b["rate"])
                    if b["best"]:
                        rate += " (%s)" % fmt_rate(b["best"])
                    b_cells = [b["what"], rate, "%s / %s" % (fmt_us(b["p50"]), fmt_us(b["p99"]))
                               if b["p50"] is not None else "–"]
                    if annals and annals["rate"] and b["rate"]:
                        ratio = "%.2f×" % (annals["rate"] / b["rate"])
                lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                    case if i == 0 else "", a_cells[0], a_cells[1], b_cells[0], b_cells[1],
                    b_cells[2], ratio))
                if annals and annals["rate"] and i == 0:
                    plot_rows.append((case, annals["rate"], b["rate"] if b and b["rate"] else 0))
        whats = list(OrderedDict.fromkeys(p["annals"][0]["what"] for _, p in items if p["annals"]))
        if whats:
            lines.append("")
            if len(whats) <= 4:
                lines.append("Annals side: " + "; ".join(whats) + ".")
            else:
                lines.append("Annals side, e.g.: " + whats[0] + " (each case's own in the JSON "
                             "labels).")
        lines.append("")
        if plot_rows and group != "machine":
            plots.append((group, plot_rows))

    if skipped:
        lines.append("## Skipped")
        lines.append("")
        for fname, name, err in skipped:
            lines.append("- `%s` %s: %s" % (fname, name, err))
        lines.append("")

    made = []
    if shutil.which("gnuplot"):
        for group, rows in plots:
            slug = "".join(c if c.isalnum() else "_" for c in group).strip("_")
            dat = os.path.join(out, slug + ".dat")
            with open(dat, "w") as f:
                for case, a, b in rows:
                    f.write('"%s" %g %s\n' % (case.replace('"', "'"), a, ("%g" % b) if b else "NaN"))
            png = os.path.join(out, slug + ".png")
            gp = os.path.join(out, slug + ".gp")
            height = max(400, 60 + 28 * len(rows))
            with open(gp, "w") as f:
                f.write('set terminal png size 1000,%d noenhanced\n' % height)
                f.write('set output "%s"\n' % png)
                f.write('set title "%s: Annals vs baseline (per second, log scale)"\n' % group)
                f.write('set style data histogram\nset style histogram clustered gap 1\n')
                f.write('set style fill solid 0.8 border -1\nset logscale y\nset grid ytics\n')
                f.write('set xtics rotate by -35 scale 0 font ",8"\nset key top left\n')
                f.write('set bmargin 8\n')
                f.write('plot "%s" using 2:xtic(1) title "Annals", "" using 3 title "baseline"\n'
                        % dat)
            r = subprocess.run(["gnuplot", gp], capture_output=True, text=True)
            if r.returncode == 0 and os.path.exists(png):
                made.append(os.path.basename(png))
            else:
                print("report: gnuplot failed for %s: %s" % (group, r.stderr.strip()),
                      file=sys.stderr)
    if made:
        lines.append("## Plots")
        lines.append("")
        for m in made:
            lines.append("![%s](%s)" % (m[:-4], m))
        lines.append("")

    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines))
    print("report: %d pairs, %d skipped, %d plots -> %s" % (
        len(pairs), len(skipped), len(made), os.path.join(out, "report.md")))


if __name__ == "__main__":
    main()
