"The benchmark script runs end to end on a tiny configuration, with and without the reference libraries, and its checks can fail."
import importlib.util, re, subprocess, sys
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
LAST_LINE = re.compile(r'learner_overhead_vs_torch=(\S+) actstats_hist_overhead=(\S+) fastai_overhead_vs_torch=(\S+)')
TINY = ['--quick', '--n-train', '128', '--n-valid', '64', '--rounds', '1', '--num-it', '16', '--oc-epochs', '1',
        '--mem-batches', '5', '--skip', 'imports']

@pytest.fixture(scope='module')
def bench():
    spec = importlib.util.spec_from_file_location('bench_run', ROOT/'benchmarks'/'run.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

def _run(*args):
    p = subprocess.run([sys.executable, str(ROOT/'benchmarks'/'run.py'), *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout

def test_quick_without_references_prints_nan():
    out = _run(*TINY, '--no-references')
    last = out.strip().splitlines()[-1]
    m = LAST_LINE.fullmatch(last)
    assert m, last
    assert m.group(3) == 'nan'
    float(m.group(1)), float(m.group(2))  # mini_fastai's figures are numbers
    assert 'fastai not installed' in out and 'torch-lr-finder not installed' in out

def test_bitwise_compare_catches_changes(bench):
    opt = torch.optim.Adam([torch.nn.Parameter(torch.ones(3))], lr=1e-3)
    before = bench.torch_opt_snapshot(opt)
    assert bench._same(before, bench.torch_opt_snapshot(opt))
    opt.param_groups[0]['lr'] = 1e-3 + 1e-12
    after = bench.torch_opt_snapshot(opt)
    assert not bench._same(before['hypers'], after['hypers'])
    assert bench._diff_hypers(before['hypers'], after['hypers'])[0].startswith('group 0 lr')
    # -0.0 == 0.0 numerically, but not bitwise
    assert not bench._same(torch.tensor([0.0]), torch.tensor([-0.0]))
    assert bench._same(torch.tensor([float('nan')]), torch.tensor([float('nan')]))

def test_deep_bytes_counts_storage_once(bench):
    t = torch.zeros(1000)
    assert bench.deep_bytes([t, t]) < bench.deep_bytes([t, torch.zeros(1000)])
    assert bench.deep_bytes(t) >= 4000
