#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the machine-readable lines of a make bench run into tables and plots.

    bench/report.py DATA OUTDIR

DATA holds the lines written in the guest (bench/run-all.sh):
    perftest TEST SIZE CONFIG ROUND VALUE   MB/s, or usec for *_lat
    odpf MSG KIND ROUND MIB_S                odp_fault, one WRITE in flight
    trunc FS OP SIZE_MIB KIND NMR MEDIAN P99 MIN MAX SAMPLES   (ms)
    scale FS KIND SIZE_MIB MEDIAN MIN MAX ROUNDS REVOKED_KIB  (ms)
    memcpy SIZE GBIT_S
    faults KIND MIB_S PAGES_S               odp_fault, 1 MiB messages
Writes OUTDIR/results.md (the tables), OUTDIR/*.dat and, with gnuplot,
OUTDIR/*.png; prints the tables.
"""
import collections
import os
import statistics
import subprocess
import sys

CONFIGS = [
    ('stock', 'stock rxe, pinned DRAM (baseline)'),
    ('pinned', 'ours, pinned DRAM'),
    ('odp', 'ours, ODP warm (perftest --odp)'),
    ('odpf-pinned', 'ours, pinned DRAM (odp_fault)'),
    ('cold', 'ours, ODP cold (odp_fault)'),
    ('odpf-warm', 'ours, ODP warm (odp_fault)'),
    ('pref', 'ours, ODP prefetched (odp_fault)'),
    ('dax', 'ours, revocable on XFS-DAX'),
    ('daxodp', 'ours, ODP on XFS-DAX'),
    ('stock-mtu4k', 'stock rxe, RoCE MTU 4096 (vs stock at 1024)'),
    ('mtu4k', 'ours pinned, RoCE MTU 4096 (vs stock at 4096)'),
    ('stock-veth', 'stock rxe over a veth wire (vs stock on loopback)'),
    ('veth', 'ours pinned over a veth wire (vs stock over it)'),
]
# A row's baseline when it is not stock at MTU 1024.
BASE = {'mtu4k': 'stock-mtu4k', 'veth': 'stock-veth'}
RATIOS = {}
BLOCKS = {}
SIZES = []
ODPF = {'pinned': 'odpf-pinned', 'odp-cold': 'cold', 'odp-warm': 'odpf-warm',
        'odp-pref': 'pref'}


def size_name(s):
    s = int(s)
    if s >= 1 << 20:
        return '%d MiB' % (s >> 20)
    if s >= 1 << 10:
        return '%d KiB' % (s >> 10)
    return '%d B' % s


def main():
    data, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    pt = collections.defaultdict(list)     # (test, size, config) -> values
    odpf = collections.defaultdict(list)   # (size, kind) -> MiB/s
    trunc, scale, memcpy, faults = [], [], {}, []
    qps = collections.defaultdict(list)    # (nqp, config) -> MB/s
    for line in open(data):
        f = line.split()
        if not f:
            continue
        try:
            if f[0] == 'perftest' and len(f) == 6:
                pt[(f[1], int(f[2]), f[3])].append(float(f[5]))
            elif f[0] == 'qps' and len(f) == 7:
                qps[(int(f[3]), f[4])].append(float(f[6]))
            elif f[0] == 'odpf' and len(f) == 5:
                odpf[(int(f[1]), f[2])].append(float(f[4]))
            elif f[0] == 'trunc' and len(f) == 11:
                trunc.append(f[1:])
            elif f[0] == 'scale' and len(f) == 9:
                scale.append(f[1:])
            elif f[0] == 'memcpy' and len(f) == 3:
                memcpy[int(f[1])] = float(f[2])
            elif f[0] == 'faults' and len(f) == 4:
                faults.append(f[1:])
        except ValueError:
            pass
    md = []
    tests = sorted({k[0] for k in pt}, key=lambda t: (t.endswith('lat'), t))
    sizes = sorted({k[1] for k in pt})
    # The stock baseline of odp_fault comes from its own stock run.
    for (s, k), v in list(odpf.items()):
        if k in ODPF:
            pt[('ib_write_bw', s, ODPF[k])] = v
    stock_odpf = {s: statistics.median(v) for (s, k), v in odpf.items()
                  if k == 'stock-pinned'}
    md.append('### Bandwidth and latency, ratio to stock rxe (pinned DRAM)\n')
    md.append('Cells: ratio of medians, (min-max of the runs / the baseline '
              'median), runs. Latency rows are stock latency / ours '
              '(> 1 is faster). Cold and prefetched ODP come from '
              '`odp_fault` (one WRITE in flight) against the stock module '
              'running the same program with a pinned MR.\n')
    ratios = {}
    for t in tests:
        lat = t.endswith('_lat')
        md.append('#### `%s`\n' % t)
        md.append('| row | ' + ' | '.join(size_name(s) for s in sizes) + ' |')
        md.append('|---' * (len(sizes) + 1) + '|')
        for c, name in CONFIGS:
            cells, any_ = [], False
            for s in sizes:
                v = pt.get((t, s, c))
                if c in ODPF.values():
                    base = stock_odpf.get(s)
                else:
                    b = pt.get((t, s, BASE.get(c, 'stock')))
                    base = statistics.median(b) if b else None
                if not v or not base:
                    cells.append('')
                    continue
                any_ = True
                m = statistics.median(v)
                if c == 'stock':
                    unit = 'us' if lat else 'MB/s'
                    cells.append('%.4g %s (%.4g-%.4g), %d' %
                                 (m, unit, min(v), max(v), len(v)))
                    ratios[(t, s, c)] = (1.0, min(v) / m, max(v) / m)
                    continue
                if lat:
                    r, lo, hi = base / m, base / max(v), base / min(v)
                else:
                    r, lo, hi = m / base, min(v) / base, max(v) / base
                ratios[(t, s, c)] = (r, lo, hi)
                cells.append('**%.3f** (%.2f-%.2f), %d' % (r, lo, hi, len(v)))
            if any_:
                md.append('| %s | %s |' % (name, ' | '.join(cells)))
        md.append('')
    for t in tests:
        BLOCKS[t] = []
        with open(os.path.join(out, 'ratio-%s.dat' % t), 'w') as fd:
            for c, _ in CONFIGS:
                rows = [(s,) + ratios[(t, s, c)] for s in sizes if (t, s, c) in ratios]
                if not rows:
                    continue
                BLOCKS[t].append(c)
                fd.write('# %s\n' % c)
                for row in rows:
                    fd.write('%d %.4f %.4f %.4f\n' % row)
                fd.write('\n\n')

    if memcpy:
        md.append('### Ceiling: single-thread memcpy in the same guest\n')
        md.append('| size | memcpy MB/s | stock `ib_write_bw` MB/s | ours pinned MB/s | ours / memcpy |')
        md.append('|---|---|---|---|---|')
        for s in sorted(memcpy):
            st = pt.get(('ib_write_bw', s, 'stock'))
            ou = pt.get(('ib_write_bw', s, 'pinned'))
            sm = statistics.median(st) if st else float('nan')
            om = statistics.median(ou) if ou else float('nan')
            mc = memcpy[s] * 125.0     # Gb/s to MB/s
            md.append('| %s | %.1f | %.2f | %.2f | %.5f |' %
                      (size_name(s), mc, sm, om, om / mc))
        md.append('')

    if qps:
        md.append('### `ib_write_bw` of 64 KiB over many QPs at once (MB/s)\n')
        md.append('| QPs | stock | ours pinned | ours / stock |')
        md.append('|---|---|---|---|')
        with open(os.path.join(out, 'qps.dat'), 'w') as fd:
            for n in sorted({k[0] for k in qps}):
                st, ou = qps.get((n, 'stock')), qps.get((n, 'pinned'))
                if not st or not ou:
                    continue
                sm, om = statistics.median(st), statistics.median(ou)
                md.append('| %d | %.4g (%.4g-%.4g) | %.4g (%.4g-%.4g) | **%.3f** |' %
                          (n, sm, min(st), max(st), om, min(ou), max(ou), om / sm))
                fd.write('%d %.4f %.4f %.4f %.4f %.4f %.4f\n' %
                         (n, sm, min(st), max(st), om, min(ou), max(ou)))
        md.append('')

    if faults:
        md.append('### ODP fault throughput (first-touch WRITEs, 1 MiB messages)\n')
        md.append('| target | MiB/s | pages/s |')
        md.append('|---|---|---|')
        for k, mib, pages in faults:
            md.append('| %s | %s | %s |' % (k, mib, pages))
        md.append('')

    if trunc:
        md.append('### Truncate / punch of a DAX file under a WRITE flood (ms)\n')
        md.append('Each MR covers the whole file; with 0 MRs the flood goes to '
                  'an anonymous MR. p99 is the nearest-rank 99th percentile; '
                  'with fewer than 100 samples it is the largest sample.\n')
        md.append('| fs | op | file MiB | MRs | median | p99 | min | max | samples | median / no MR |')
        md.append('|---|---|---|---|---|---|---|---|---|---|')
        base = {(r[0], r[1], r[2]): float(r[5]) for r in trunc if r[4] == '0'}
        with open(os.path.join(out, 'truncate.dat'), 'w') as fd:
            groups = collections.defaultdict(list)
            for r in trunc:
                fs, op, size, kind, nmr, med, p99, mn, mx, n = r
                b = base.get((fs, op, size))
                md.append('| %s | %s | %s | %s %s | %s | %s | %s | %s | %s | %s |' %
                          (fs, op, size, nmr, '' if nmr == '0' else kind, med, p99,
                           mn, mx, n, '%.2f' % (float(med) / b) if b else ''))
                groups[(fs, op, kind, nmr)].append((int(size), med, p99))
            for (fs, op, kind, nmr), rows in sorted(groups.items()):
                fd.write('# %s %s %s %s\n' % (fs, op, kind, nmr))
                for row in sorted(rows):
                    fd.write('%d %s %s\n' % row)
                fd.write('\n\n')
        md.append('')

    if scale:
        md.append('### Punching 4 KiB out of a DAX file under an MR of the whole file (ms)\n')
        md.append('| fs | MR | MR size MiB | median | min | max | rounds | revoked range (event) | median / 4 MiB | (MR - none) / none |')
        md.append('|---|---|---|---|---|---|---|---|---|---|')
        small = {}
        none = {(r[0], r[2]): float(r[3]) for r in scale if r[1] == 'none'}
        with open(os.path.join(out, 'scale.dat'), 'w') as fd:
            groups = collections.defaultdict(list)
            for r in scale:
                fs, kind, size, med, mn, mx, n, rev = r
                small.setdefault((fs, kind), float(med))
                rv = '' if rev == '-1' else '%s KiB' % rev
                b = none.get((fs, size))
                own = '%.2f' % ((float(med) - b) / b) if b and kind != 'none' else ''
                md.append('| %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %s |' %
                          (fs, kind, size, med, mn, mx, n, rv,
                           float(med) / small[(fs, kind)], own))
                groups[(fs, kind)].append((int(size), med, mn, mx))
            for (fs, kind), rows in sorted(groups.items()):
                fd.write('# %s %s\n' % (fs, kind))
                for row in sorted(rows):
                    fd.write('%d %s %s %s\n' % row)
                fd.write('\n\n')
        md.append('')

    RATIOS.update(ratios)
    SIZES.extend(sizes)
    text = '\n'.join(md) + '\n'
    open(os.path.join(out, 'results.md'), 'w').write(text)
    print(text)
    plots(out, tests, trunc, scale, qps)


def gnuplot(script):
    try:
        subprocess.run(['gnuplot'], input=script.encode(), check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print('report: gnuplot failed: %s' % e, file=sys.stderr)


def plots(out, tests, trunc, scale, qps):
    head = ('set terminal pngcairo size 1100,800 font "sans,10"\n'
            'set termoption noenhanced\nset grid\nset key outside right top\n')
    if SIZES:
        s = head + 'set output "%s/perftest-ratios.png"\n' % out
        s += 'set multiplot layout 2,2 title "rxe-revoke / stock rxe, median with min-max of runs (1 = stock)"\n'
        s += 'set logscale x 2\nset xlabel "message size (bytes)"\nset ylabel "ratio to stock"\n'
        s += 'set yrange [0:*]\nset xrange [%g:%g]\n' % (min(SIZES) / 1.6, max(SIZES) * 1.6)
        s += 'set xtics (%s)\n' % ', '.join('"%s" %d' % (size_name(z), z) for z in SIZES)
        for t in tests:
            s += 'set title "%s%s"\n' % (t, ' (stock latency / ours)' if t.endswith('lat') else '')
            parts = []
            for i, c in enumerate(BLOCKS[t]):
                parts.append('"%s/ratio-%s.dat" index %d using ($1*(1+0.03*%d)):2:3:4 '
                             'with yerrorlines lt %d title "%s"' %
                             (out, t, i, i - 4, [x for x, _ in CONFIGS].index(c) + 1, c))
            s += 'plot ' + ', '.join(parts) + '\n'
        s += 'unset multiplot\n'
        gnuplot(s)
    if trunc:
        s = head + 'set output "%s/truncate.png"\n' % out
        s += 'set logscale xy\nset xlabel "file size (MiB)"\nset ylabel "median latency (ms)"\n'
        s += 'set title "ftruncate / punch of a DAX file under a WRITE flood, by registered MRs"\n'
        groups = sorted({(r[0], r[1], r[3], r[4]) for r in trunc})
        parts = ['"%s/truncate.dat" index %d using 1:2 with linespoints title "%s %s %s MR %s"' %
                 (out, i, g[0], g[1], g[3], '' if g[3] == '0' else g[2])
                 for i, g in enumerate(groups)]
        s += 'plot ' + ', '.join(parts) + '\n'
        gnuplot(s)
    if qps:
        s = head + 'set output "%s/qps.png"\n' % out
        s += 'set logscale x 2\nset xlabel "QPs at once"\nset ylabel "MB/s (median, min-max)"\n'
        s += 'set yrange [0:*]\n'
        s += 'set title "ib_write_bw of 64 KiB over many QPs, stock and ours pinned"\n'
        s += ('plot "%s/qps.dat" using 1:2:3:4 with yerrorlines title "stock", '
              '"%s/qps.dat" using ($1*1.05):5:6:7 with yerrorlines title "ours pinned"\n'
              % (out, out))
        gnuplot(s)
    if scale:
        s = head + 'set output "%s/revoke-scale.png"\n' % out
        s += 'set logscale xy\nset xlabel "MR size = file size (MiB)"\nset ylabel "punch 4 KiB (ms)"\n'
        s += 'set title "Cost of punching 4 KiB vs the size of the MR over the file (median, min-max)"\n'
        groups = sorted({(r[0], r[1]) for r in scale})
        parts = ['"%s/scale.dat" index %d using 1:2:3:4 with yerrorlines title "%s %s"' %
                 (out, i, g[0], g[1]) for i, g in enumerate(groups)]
        s += 'plot ' + ', '.join(parts) + '\n'
        gnuplot(s)


if __name__ == '__main__':
    main()
