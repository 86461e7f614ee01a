#!/usr/bin/python3
"""Turn bench/run's results.tsv into the table it prints.

Point rows: key, req/s, p50 us, p99 us, status errors, socket errors, and
the cores used by HAProxy, the agent ("-" when none), the upstream, wrk and
everything else on the machine. Note rows: key and free text. Targets are printed as PASS/MISS beside the figures; nothing
here fails.
"""

import sys

ALGS = (("rs1", "RS256"), ("es1", "ES256"), ("hs1", "HS256"))
PATHS = (("b", "(b) native"), ("c", "(c) edgeseal"))
MODES = (("one", "one token"), ("many", "every token new"))

# Targets from the issue: (numerator, denominator, minimum).
TARGETS = [
    ("c.rs1.one", "a", 0.8), ("c.es1.one", "a", 0.8),
    ("c.hs1.one", "a", 0.8),
    ("c.rs1.one", "b.rs1.one", 1.6), ("c.es1.one", "b.es1.one", 2.0),
    ("c.rs1.many", "b.rs1.many", 1.0), ("c.es1.many", "b.es1.many", 1.0),
]
NOTIFY_PER_CORE = 150000
RSS_MAX_KIB = 32 * 1024
# Above this many cores of unrelated work during a point, it is flagged.
OTHER_MAX = 0.2


def load(path):
    """Points (best round per key, with the spread) and notes."""
    runs, notes = {}, []
    with open(path) as f:
        for raw in f:
            cols = raw.rstrip("\n").split("\t")
            if len(cols) == 11:
                runs.setdefault(cols[0], []).append({
                    "rps": float(cols[1]), "p50": int(cols[2]),
                    "p99": int(cols[3]), "err": int(cols[4]) + int(cols[5]),
                    "hap": cols[6], "agent": cols[7], "ups": cols[8],
                    "wrk": cols[9], "other": float(cols[10])})
            elif len(cols) == 2:
                notes.append((cols[0], cols[1]))
    points = {}
    for key, rs in runs.items():
        best = max(rs, key=lambda r: r["rps"])
        best["spread"] = 1 - min(r["rps"] for r in rs) / best["rps"]
        best["rounds"] = len(rs)
        # A failure in any round invalidates the point.
        best["err"] = max(r["err"] for r in rs)
        points[key] = best
    return points, notes


def note(notes, key, default=None):
    for k, v in notes:
        if k == key:
            return v
    return default


def valid(points, key, secs):
    """A point counts only if it exists and almost nothing failed."""
    p = points.get(key)
    if p is None:
        return None
    if p["err"] > 0.001 * p["rps"] * secs:
        return None
    return p


def label(key):
    if key == "a":
        return "(a) no authentication"
    path, alg, mode = key.split(".")
    return "%s %s, %s" % (dict(PATHS)[path], dict(ALGS)[alg],
                          dict(MODES)[mode])


def point_table(points, secs):
    out = ["%-35s %7s %6s %6s %6s %6s %5s %5s %5s %5s %5s" % (
        "path", "req/s", "spread", "p50", "p99", "errors",
        "hap", "agent", "upstr", "wrk", "other")]
    keys = ["a"] + ["%s.%s.%s" % (p, a, m) for p, _ in PATHS
                    for a, _ in ALGS for m, _ in MODES]
    noisy = False
    for key in keys:
        p = points.get(key)
        if p is None:
            continue
        flag = "" if valid(points, key, secs) else "  INVALID (errors)"
        if p["other"] > OTHER_MAX:
            flag += "  *"
            noisy = True
        spread = "%5.0f%%" % (100 * p["spread"]) if p["rounds"] > 1 \
            else "-"
        out.append("%-35s %7.0f %6s %6.2f %6.2f %6d %5s %5s %5s %5s %5.2f%s"
                   % (label(key), p["rps"], spread, p["p50"] / 1000,
                      p["p99"] / 1000, p["err"], p["hap"], p["agent"],
                      p["ups"], p["wrk"], p["other"], flag))
    out.append("Best of the rounds; spread: how much lower the worst "
               "round was. p50, p99 in ms.")
    out.append("Cores used during the point (CPU seconds per second): hap "
               "HAProxy, agent edgeseal-spoa,")
    out.append("upstr the upstream, wrk the client, other everything else "
               "on the machine.")
    if noisy:
        out.append("* more than %.2f cores went to other work on the "
                   "machine during this point: treat it as noisy"
                   % OTHER_MAX)
    return out


def ratio_table(points, secs):
    out = ["", "%-38s %8s %8s" % ("ratios, same run", "(c)/(a)", "(c)/(b)")]
    for a, alg in ALGS:
        for m, mode in MODES:
            c = valid(points, "c.%s.%s" % (a, m), secs)
            if c is None:
                continue
            ra = valid(points, "a", secs)
            rb = valid(points, "b.%s.%s" % (a, m), secs)
            out.append("%-38s %8s %8s" % (
                "%s, %s" % (alg, mode),
                "%.2f" % (c["rps"] / ra["rps"]) if ra else "-",
                "%.2f" % (c["rps"] / rb["rps"]) if rb else "-"))
    return out


def verdict(ok):
    return "PASS" if ok else "MISS"


def target_lines(points, notes, secs):
    out = ["", "targets (printed, never asserted)"]
    for num, den, want in TARGETS:
        n, d = valid(points, num, secs), valid(points, den, secs)
        what = "%s >= %.1fx %s" % (label(num), want,
                                   label(den).split(" ")[0])
        if n is None or d is None:
            out.append("  %-62s  n/a" % what)
            continue
        r = n["rps"] / d["rps"]
        out.append("  %-62s %5.2f %s" % (what, r, verdict(r >= want)))

    per_core = note(notes, "loadgen.cached_per_core")
    what = "agent alone, cache hits >= %d NOTIFY/s per core" % NOTIFY_PER_CORE
    if per_core:
        v = float(per_core)
        out.append("  %-62s %5.0f %s" % (what, v,
                                         verdict(v >= NOTIFY_PER_CORE)))
    else:
        out.append("  %-62s  n/a" % what)

    ratio = note(notes, "seal.verify_vs_hmac")
    what = "libedgeseal verification >= 0.5x raw HMAC"
    if ratio:
        out.append("  %-62s %5.2f %s" % (what, float(ratio),
                                         verdict(float(ratio) >= 0.5)))
    else:
        out.append("  %-62s  n/a" % what)

    rss = note(notes, "rss.rss_kib")
    hwm = note(notes, "rss.hwm_kib")
    what = "agent RSS <= 32 MiB holding 100,000 cached tokens"
    if hwm:
        v = max(int(hwm), int(rss or 0))
        out.append("  %-62s %5.1f %s" % (what, v / 1024,
                                         verdict(v <= RSS_MAX_KIB)))
    else:
        out.append("  %-62s  n/a" % what)
    return out


def memory_lines(notes):
    out = []
    peak = note(notes, "c.peak_kib")
    if peak:
        out.append("agent peak RSS (VmHWM) over the (c) runs: %.1f MiB"
                   % (int(peak) / 1024))
    if note(notes, "rss.hwm_kib"):
        out.append("agent with %s distinct tokens pushed through: "
                   "VmRSS %.1f MiB, VmHWM %.1f MiB (fresh agent: %.1f MiB)"
                   % (note(notes, "rss.tokens"),
                      int(note(notes, "rss.rss_kib")) / 1024,
                      int(note(notes, "rss.hwm_kib")) / 1024,
                      int(note(notes, "rss.base_kib")) / 1024))
        out.append("  wrk: %s" % note(notes, "rss.wrk", "")[6:])
        hm = note(notes, "rss.cache", "- -").split()
        if "-" not in hm:
            out.append("  agent cache counters after it: %s hits, %s "
                       "misses" % (hm[0], hm[1]))
    out += churn_lines(notes)
    return [""] + out if out else []


def churn_lines(notes):
    """Cache hit ratio during the every-token-new runs, from the metrics."""
    parts = []
    for a, alg in ALGS:
        v = note(notes, "c.%s.many.cache" % a)
        if v is None:
            continue
        f = v.split()
        if "-" in f:
            parts.append("%s n/a" % alg)
            continue
        hits = int(f[2]) - int(f[0])
        total = hits + int(f[3]) - int(f[1])
        parts.append("%s %.1f%%" % (alg, 100.0 * hits / total if total
                                    else 0.0))
    if not parts:
        return []
    return ["(c) every token new, agent cache hit ratio (metrics): " +
            ", ".join(parts)]


def side_lines(notes):
    out = []
    sections = (("loadgen", "agent alone (edgeseal-spop-loadgen)"),
                ("jwt", "JWT validation bench (edgeseal-jwt-bench)"),
                ("seal", "seal bench (edgeseal-seal-bench)"))
    for prefix, title in sections:
        lines = [v for k, v in notes
                 if k in (prefix + ".line", prefix + ".skip")]
        if lines:
            out += ["", title] + ["  " + v for v in lines]
    skips = [v for k, v in notes if k.endswith(".skip")
             and k.split(".")[0] in ("a", "b", "c")]
    if skips:
        out += [""] + skips
    return out


def main():
    points, notes = load(sys.argv[1])
    secs = int(note(notes, "run.secs", "10"))
    head = [
        "edgeseal benchmark, %s run (%s x %d s per point, wrk -t1 -c32), %s"
        % (note(notes, "run.mode"), note(notes, "run.rounds", "1"), secs,
           note(notes, "run.date")),
        "machine: %s cores, %s; HAProxy %s; commit %s"
        % (note(notes, "run.nproc"), note(notes, "run.cpu"),
           note(notes, "run.haproxy"), note(notes, "run.commit")),
        ""]
    lines = head + point_table(points, secs) + ratio_table(points, secs)
    lines += memory_lines(notes) + side_lines(notes)
    lines += target_lines(points, notes, secs)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
