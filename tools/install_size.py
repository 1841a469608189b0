"""How much a plain install of mini_fastai adds to an environment beyond torch and torch's own dependencies.

Run it with the Python of the environment to measure (a fresh virtual environment holding the wheel and torch):

    venv/bin/python tools/install_size.py [--max-mb 160] [--forbid scipy pandas ...]

It adds up the files each installed distribution lists in its RECORD, leaves out torch, the distributions
torch depends on (followed transitively through `Requires-Dist`, extras aside) and the installers a new
virtual environment starts with (pip, setuptools), prints a table of the rest, largest first, and exits
with an error when the total is over `--max-mb` or a forbidden distribution is installed.

Two sizes are shown: the files the wheels unpack, and those plus the bytecode (`__pycache__/*.pyc`) that
pip compiles after unpacking (what `pip install --no-compile` skips, and Python would write on first import
anyway). `--max-mb` applies to the first, the size of what is installed from the wheels themselves.
"""
import argparse, re, sys
from importlib import metadata
from pathlib import Path

FORBIDDEN = ['scipy', 'pandas', 'scikit-learn', 'mlxtend', 'starlette', 'uvicorn', 'python-fasthtml']
BASE = {'pip', 'setuptools', 'wheel'}

def norm(name): return re.sub(r'[-_.]+', '-', name).lower()

def dist_size(d, bytecode=False):
    "Bytes of the files distribution `d` installed (its RECORD), each counted once; compiled bytecode only if `bytecode`."
    root = Path(d.locate_file(''))
    files = {root/f for f in (d.files or [])}
    return sum(p.stat().st_size for p in files if p.is_file() and (bytecode or p.parent.name != '__pycache__'))

def requires(d):
    "Names `d` depends on, without those of its extras (only installed ones matter here)."
    out = []
    for r in d.requires or []:
        name, _, marker = r.partition(';')
        if 'extra' in marker: continue
        out.append(norm(re.match(r'\s*([A-Za-z0-9._-]+)', name).group(1)))
    return out

def closure(dists, root):
    "`root` and everything installed that it depends on, transitively."
    seen, todo = set(), [root]
    while todo:
        n = todo.pop()
        if n in seen or n not in dists: continue
        seen.add(n)
        todo += requires(dists[n])
    return seen

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--max-mb', type=float, default=None, help='fail when the added size is over this (MB, 10^6 bytes)')
    p.add_argument('--forbid', nargs='*', default=FORBIDDEN, help='distributions that must not be installed')
    args = p.parse_args(argv)
    dists = {norm(d.metadata['Name']): d for d in metadata.distributions()}
    if 'torch' not in dists: sys.exit('torch is not installed in this environment')
    skip = closure(dists, 'torch') | BASE
    rows = sorted(((dist_size(d), dist_size(d, bytecode=True), n, d.version) for n, d in dists.items() if n not in skip), reverse=True)
    total, total_pyc = sum(r[0] for r in rows), sum(r[1] for r in rows)
    print(f"{'distribution':<28} {'version':<16} {'MB':>8} {'with .pyc':>10}")
    for size, size_pyc, n, v in rows: print(f"{n:<28} {v:<16} {size / 1e6:8.1f} {size_pyc / 1e6:10.1f}")
    torch_mb = sum(dist_size(dists[n]) for n in skip if n in dists and n not in BASE) / 1e6
    print(f"added beyond torch and its dependencies ({torch_mb:.0f} MB): {total / 1e6:.1f} MB in {len(rows)} distributions "
          f"({total_pyc / 1e6:.1f} MB with pip's compiled bytecode)")
    bad = sorted(n for n in map(norm, args.forbid) if n in dists)
    if bad: sys.exit(f"forbidden distributions installed: {', '.join(bad)}")
    if args.max_mb is not None and total / 1e6 > args.max_mb:
        sys.exit(f"the install adds {total / 1e6:.1f} MB, more than the {args.max_mb:g} MB allowed")

if __name__ == '__main__': main()
