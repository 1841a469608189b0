"""Side-by-side benchmarks of mini_fastai's training toolbox against a hand-written PyTorch loop, fastai and torch-lr-finder.

    python benchmarks/run.py            # full run: 5 timed rounds, ActivationStats at bs 64 and 512, 1,000 batches for memory
    python benchmarks/run.py --quick    # 3 rounds, ActivationStats at bs 64, 250 batches (under 2 minutes on 2 CPU cores)
    python benchmarks/run.py --save     # also write benchmarks/results.json and benchmarks/results.md

`ActivationStats` is what `from mini_fastai.all import *` gives (the hooks chapter's class); `FastActivationStats`
(the fast statistics chapter's packed engine, a subclass) is timed beside it. The Learner is the one practitioners
get: with the Learner extras' default callbacks (the check of one batch before training, the stop at a loss that
is not a number).

Method: one workload (the convolutions chapter's `simple_cnn`, with batch norm, on `mnist_sample()`); every contender starts from
the same initial weights (a copied `state_dict`) and reads the same `DataLoader` objects; timed runs are interleaved
(A B C, B C A, ...), the first round is a discarded warm-up, and each figure is the median of the timed rounds.
A ratio is the median over rounds of the ratio measured within a round, so that a change of machine load between
rounds does not bias it. fastai and torch-lr-finder are references only: without them their columns read nan.
"""
import argparse, contextlib, copy, io, json, math, os, platform, resource, statistics, subprocess, sys, tempfile, time, warnings
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path: sys.path.insert(0, str(ROOT))

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

NAN = float('nan')


# ---------------------------------------------------------------------------------------------------------------
# Optional references
WITH_REFERENCES = True  # `--no-references` pretends fastai and torch-lr-finder are not installed

def _fastai():
    "The fastai names used here, or `None` when fastai is not installed."
    if not WITH_REFERENCES: return None
    try:
        from mini_fastai.compat import import_torchvision
        import_torchvision()  # fastai imports torchvision, which needs the compat fix on this torch build
        import fastai
        from fastai.learner import Learner
        from fastai.data.core import DataLoaders
        from fastai.metrics import accuracy
        from fastai.callback.hook import ActivationStats
        import fastai.callback.schedule  # noqa: F401  (adds lr_find and fit_one_cycle to Learner)
    except Exception: return None
    return dict(version=fastai.__version__, Learner=Learner, DataLoaders=DataLoaders, accuracy=accuracy,
                ActivationStats=ActivationStats)

def _torch_lr_finder():
    if not WITH_REFERENCES: return None
    try:
        import torch_lr_finder
        from torch_lr_finder import LRFinder
    except Exception: return None
    return dict(version=getattr(torch_lr_finder, '__version__', '?'), LRFinder=LRFinder)

def _pkg_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception: return None


# ---------------------------------------------------------------------------------------------------------------
# Workload
def _conv(ni, nf, ks=3, act=True):
    "Chapter 13's block: stride-2 convolution, ReLU, batch norm."
    layers = [nn.Conv2d(ni, nf, kernel_size=ks, stride=2, padding=ks // 2)]
    if act: layers.append(nn.ReLU())
    layers.append(nn.BatchNorm2d(nf))
    return nn.Sequential(*layers)

def _local_simple_cnn():
    return nn.Sequential(_conv(1, 8, ks=5), _conv(8, 16), _conv(16, 32), _conv(32, 64), _conv(64, 10, act=False), nn.Flatten())

def make_model():
    "Chapter 13's `simple_cnn` with batch norm (from `mini_fastai.conv` when it is there); returns `(model, source)`."
    try:
        from mini_fastai.conv import simple_cnn
        return simple_cnn(n_out=10, chans=(1, 8, 16, 32, 64), first_ks=5, bn=True), 'mini_fastai.conv.simple_cnn'
    except (ImportError, TypeError): return _local_simple_cnn(), 'local copy of the convolutions chapter simple_cnn'

class Workload:
    "Data, initial weights and `DataLoader`s shared by every contender."
    def __init__(self, n_train=None, n_valid=None, seed=42):
        from mini_fastai.data import mnist_sample
        xt, yt, xv, yv = mnist_sample()
        if n_train: xt, yt = xt[:n_train], yt[:n_train]
        if n_valid:  # evenly spaced: the validation images are stored class by class
            idx = torch.linspace(0, len(xv) - 1, n_valid).long()
            xv, yv = xv[idx], yv[idx]
        self.train_ds, self.valid_ds = TensorDataset(xt, yt), TensorDataset(xv, yv)
        torch.manual_seed(seed)
        model, self.model_source = make_model()
        self.init = {k: v.clone() for k, v in model.state_dict().items()}
        self.seed, self._dls = seed, {}

    def reinit(self, seed):
        "The same data and `DataLoader`s, with the model initialized from `seed`."
        if seed == self.seed: return self
        w = copy.copy(self)
        torch.manual_seed(seed)
        w.init, w.seed = {k: v.clone() for k, v in make_model()[0].state_dict().items()}, seed
        return w

    def model(self):
        "A fresh model holding the shared initial weights."
        m, _ = make_model()
        m.load_state_dict(self.init)
        return m

    def dls(self, bs):
        "The same pair of `DataLoader` objects for a batch size every time (the shuffle generator re-seeded)."
        if bs not in self._dls:
            g = torch.Generator()
            self._dls[bs] = (DataLoader(self.train_ds, batch_size=bs, shuffle=True, generator=g),
                             DataLoader(self.valid_ds, batch_size=bs * 2), g)
        train, valid, g = self._dls[bs]
        g.manual_seed(0)
        return train, valid


# ---------------------------------------------------------------------------------------------------------------
# Contenders: each builds its learner (untimed) and returns a function that runs the timed part
def plain_epoch(model, opt, loss_func, train_dl, valid_dl):
    "A hand-written epoch: forward, backward, step on every training batch, then validation loss and accuracy."
    model.train()
    for xb, yb in train_dl:
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.eval()
    tot_loss, tot_acc, n = 0., 0., 0
    with torch.no_grad():
        for xb, yb in valid_dl:
            pred = model(xb)
            tot_loss += loss_func(pred, yb) * len(yb)
            tot_acc += (pred.argmax(dim=-1) == yb).float().sum()
            n += len(yb)
    return float(tot_loss / n), float(tot_acc / n)

def plain_param_groups(model, wd=0.01):
    "Weight decay `wd` on the weights of convolutions and linear layers, none on biases and batch-norm parameters."
    bn = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
    no_wd = {id(p) for m in model.modules() for name, p in m.named_parameters(recurse=False) if isinstance(m, bn) or name == 'bias'}
    ps = list(model.parameters())
    return [{'params': [p for p in ps if id(p) not in no_wd], 'weight_decay': wd},
            {'params': [p for p in ps if id(p) in no_wd], 'weight_decay': 0.}]

def setup_plain(wl, bs, lr=1e-3):
    "The hand-written loop with the optimizer recipe both Learners use by default: AdamW, betas (0.9, 0.99), eps 1e-5, wd 0.01."
    model, (train, valid) = wl.model(), wl.dls(bs)
    def run():
        opt = torch.optim.AdamW(plain_param_groups(model), lr=lr, betas=(0.9, 0.99), eps=1e-5)
        plain_epoch(model, opt, nn.CrossEntropyLoss(), train, valid)
    return run

def _mini_activation_stats(fast=False):
    "mini_fastai's `ActivationStats` (the default), or with `fast` its `FastActivationStats`; `None` where missing."
    try:
        if fast: from mini_fastai.fast_stats import FastActivationStats as AS
        else: from mini_fastai.hooks import ActivationStats as AS
    except ImportError: return None
    return AS

def _mini_modules():
    "Import what `from mini_fastai.all import *` adds to `Learner`: schedules (`fit_one_cycle`, `lr_find`), the extras' default callbacks, the hooks."
    for m in ('mini_fastai.schedule', 'mini_fastai.learner_extras', 'mini_fastai.hooks', 'mini_fastai.fast_stats'):
        with contextlib.suppress(ImportError): __import__(m)

def mini_learner(wl, bs, cbs=None):
    _mini_modules()
    from mini_fastai.learner import Learner, accuracy
    from mini_fastai.data import DataLoaders
    train, valid = wl.dls(bs)
    return Learner(DataLoaders(train, valid, device='cpu'), wl.model(), loss_func=nn.CrossEntropyLoss(),
                   metrics=accuracy, cbs=cbs, path=tempfile.mkdtemp(prefix='mf_bench_'))

def fastai_learner(fa, wl, bs, cbs=None):
    train, valid = wl.dls(bs)
    return fa['Learner'](fa['DataLoaders'](train, valid), wl.model(), loss_func=nn.CrossEntropyLoss(),
                         metrics=fa['accuracy'], cbs=cbs, path=tempfile.mkdtemp(prefix='fa_bench_'))

def _fit1(learn):
    def run():
        with learn.no_bar(), learn.no_logging(): learn.fit(1)
    return run

def setup_mini(wl, bs, with_hist=None, fast=False):
    "mini_fastai `Learner.fit(1)` (Recorder and metrics on, no bar); with `ActivationStats` (`FastActivationStats` if `fast`) when `with_hist` is a bool."
    cbs = None
    if with_hist is not None:
        AS = _mini_activation_stats(fast)
        if AS is None: return None
        cbs = AS(with_hist=with_hist)
    return _fit1(mini_learner(wl, bs, cbs))

def setup_fastai(fa, wl, bs, with_hist=None):
    if fa is None: return None
    cbs = None if with_hist is None else fa['ActivationStats'](with_hist=with_hist)
    return _fit1(fastai_learner(fa, wl, bs, cbs))


# ---------------------------------------------------------------------------------------------------------------
# Timing
def interleaved(setups, rounds, warmup=1):
    "Time each `name: setup()` (returning a run function, or `None` when unavailable) in interleaved rounds."
    times, names = {k: [] for k in setups}, list(setups)
    for r in range(warmup + rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:  # rotate the order: no contender always runs first
            run = setups[name]()
            if run is None: continue
            t0 = time.perf_counter()
            run()
            dt = time.perf_counter() - t0
            if r >= warmup: times[name].append(dt)
    return times

def median(xs): return statistics.median(xs) if xs else NAN

def paired_ratio(times, num, den):
    "Median over rounds of `times[num][i] / times[den][i]`."
    a, b = times.get(num, []), times.get(den, [])
    return median([x / y for x, y in zip(a, b)]) if a and b else NAN


# ---------------------------------------------------------------------------------------------------------------
# Measures 1, 2, 3: epoch times
def measure_epochs(wl, fa, bss, rounds, with_actstats_bss):
    res = {}
    for bs in bss:
        setups = {'plain': lambda bs=bs: setup_plain(wl, bs),
                  'mini': lambda bs=bs: setup_mini(wl, bs),
                  'fastai': lambda bs=bs: setup_fastai(fa, wl, bs)}
        if bs in with_actstats_bss:
            setups.update({'mini_hist': lambda bs=bs: setup_mini(wl, bs, True),
                           'mini_nohist': lambda bs=bs: setup_mini(wl, bs, False),
                           'mini_fast_hist': lambda bs=bs: setup_mini(wl, bs, True, fast=True),
                           'mini_fast_nohist': lambda bs=bs: setup_mini(wl, bs, False, fast=True),
                           'fastai_hist': lambda bs=bs: setup_fastai(fa, wl, bs, True),
                           'fastai_nohist': lambda bs=bs: setup_fastai(fa, wl, bs, False)})
        times = interleaved(setups, rounds)
        res[bs] = dict(times=times, median={k: median(v) for k, v in times.items()},
                       mini_vs_plain=paired_ratio(times, 'mini', 'plain'),
                       fastai_vs_plain=paired_ratio(times, 'fastai', 'plain'),
                       mini_hist=paired_ratio(times, 'mini_hist', 'mini'),
                       mini_nohist=paired_ratio(times, 'mini_nohist', 'mini'),
                       mini_fast_hist=paired_ratio(times, 'mini_fast_hist', 'mini'),
                       mini_fast_nohist=paired_ratio(times, 'mini_fast_nohist', 'mini'),
                       fastai_hist=paired_ratio(times, 'fastai_hist', 'fastai'),
                       fastai_nohist=paired_ratio(times, 'fastai_nohist', 'fastai'))
    return res


# ---------------------------------------------------------------------------------------------------------------
# Measure 4: lr_find wall time and exactness
def _clone(o):
    if isinstance(o, torch.Tensor): return o.detach().clone()
    if isinstance(o, dict): return {k: _clone(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return type(o)(_clone(v) for v in o)
    return o

def _same(a, b):
    "Bitwise equality of nested containers of tensors and numbers (nan equals nan)."
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and torch.equal(a.view(-1).view(torch.uint8) if a.numel() and a.dtype.is_floating_point else a,
                                                       b.view(-1).view(torch.uint8) if b.numel() and b.dtype.is_floating_point else b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b): return True
    return type(a) == type(b) and a == b

def _diff_hypers(a, b):
    "Hyper-parameters that differ: `['lr: 0.001 -> 0.0063', ...]`."
    out = []
    for i, (ga, gb) in enumerate(zip(a, b)):
        for k in sorted(set(ga) | set(gb)):
            if not _same(ga.get(k), gb.get(k)): out.append(f"group {i} {k}: {ga.get(k)!r} -> {gb.get(k)!r}")
    return out

def torch_opt_snapshot(opt):
    sd = opt.state_dict()
    return dict(state=_clone(sd['state']), hypers=[{k: _clone(v) for k, v in g.items() if k != 'params'} for g in sd['param_groups']])

def fastai_opt_snapshot(opt):
    sd = opt.state_dict()
    return dict(state=_clone(sd['state']), hypers=_clone(list(sd['hypers'])))

def snapshot(model, opt_snap):
    return dict(model=_clone(model.state_dict()), **opt_snap)

def compare(before, after):
    return dict(weights=_same(before['model'], after['model']), opt_state=_same(before['state'], after['state']),
                hypers=_same(before['hypers'], after['hypers']), hyper_changes=_diff_hypers(before['hypers'], after['hypers']))

# Before the LR finder runs, the optimizer is left as a previous fit would leave it: a few steps of state (Adam's averages)
# and a learning rate and momentum that differ from the learner's defaults (as after `fit_one_cycle`), so that a
# finder that resets them to the defaults instead of restoring them is caught.
WARM_LR, WARM_MOM = 3e-3, 0.95

def _warm(model, opt, batches, loss_func=nn.CrossEntropyLoss()):
    "A few training steps, so that the optimizer has state to lose."
    model.train()
    for xb, yb in batches:
        loss_func(model(xb), yb).backward()
        opt.step()
        opt.zero_grad()

def _warm_batches(wl, bs, n=3):
    g = torch.Generator().manual_seed(1)
    return list(DataLoader(wl.train_ds, batch_size=bs, shuffle=True, generator=g))[:n]

def lrfind_mini(wl, bs, num_it, results):
    _mini_modules()
    from mini_fastai.learner import Learner
    if not hasattr(Learner, 'lr_find'): return None
    learn = mini_learner(wl, bs)
    learn.create_opt()
    learn.opt.set_hypers(lr=WARM_LR, mom=WARM_MOM)
    _warm(learn.model, learn.opt, _warm_batches(wl, bs))
    before = snapshot(learn.model, torch_opt_snapshot(learn.opt.opt))
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            learn.lr_find(num_it=num_it, show_plot=False)
        results.append(dict(iters=len(learn.recorder.lrs), **compare(before, snapshot(learn.model, torch_opt_snapshot(learn.opt.opt)))))
    return run

def lrfind_fastai(fa, wl, bs, num_it, results):
    if fa is None: return None
    learn = fastai_learner(fa, wl, bs)
    learn.create_opt()
    learn.opt.set_hypers(lr=WARM_LR, mom=WARM_MOM)
    _warm(learn.model, learn.opt, _warm_batches(wl, bs))
    before = snapshot(learn.model, fastai_opt_snapshot(learn.opt))
    def run():
        with warnings.catch_warnings(), learn.no_bar():
            warnings.simplefilter('ignore')
            learn.lr_find(num_it=num_it, show_plot=False)
        results.append(dict(iters=len(learn.recorder.lrs), **compare(before, snapshot(learn.model, fastai_opt_snapshot(learn.opt)))))
    return run

def lrfind_tlrf(tl, wl, bs, num_it, results):
    if tl is None: return None
    model, (train, _) = wl.model(), wl.dls(bs)
    opt = torch.optim.Adam(model.parameters(), lr=WARM_LR, betas=(WARM_MOM, 0.999))
    _warm(model, opt, _warm_batches(wl, bs))
    before = snapshot(model, torch_opt_snapshot(opt))
    def run():
        finder = tl['LRFinder'](model, opt, nn.CrossEntropyLoss(), device='cpu')
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            finder.range_test(train, start_lr=1e-7, end_lr=10, num_iter=num_it)
        finder.reset()
        results.append(dict(iters=len(finder.history['lr']), **compare(before, snapshot(model, torch_opt_snapshot(opt)))))
    return run

def measure_lr_find(wl, fa, tl, bs, num_it, rounds):
    checks = {'mini': [], 'fastai': [], 'tlrf': []}
    setups = {'mini': lambda: lrfind_mini(wl, bs, num_it, checks['mini']),
              'fastai': lambda: lrfind_fastai(fa, wl, bs, num_it, checks['fastai']),
              'tlrf': lambda: lrfind_tlrf(tl, wl, bs, num_it, checks['tlrf'])}
    times = interleaved(setups, rounds)
    def summary(k):
        cs = checks[k]
        if not cs: return None
        return dict(iters=[c['iters'] for c in cs], weights=all(c['weights'] for c in cs), opt_state=all(c['opt_state'] for c in cs),
                    hypers=all(c['hypers'] for c in cs), hyper_changes=sorted({h for c in cs for h in c['hyper_changes']}))
    return dict(times=times, median={k: median(v) for k, v in times.items()}, exact={k: summary(k) for k in checks},
                mini_vs_fastai=paired_ratio(times, 'mini', 'fastai'), mini_vs_tlrf=paired_ratio(times, 'mini', 'tlrf'))


# ---------------------------------------------------------------------------------------------------------------
# Measure 5: fit_one_cycle accuracy
def measure_one_cycle(wl, fa, bs, n_epoch, lr_max, seeds=(42,)):
    "Valid accuracy after `fit_one_cycle(n_epoch, lr_max)` with each library's defaults, once per model-initialization seed."
    runs = {'mini': [], 'fastai': []}
    _mini_modules()
    from mini_fastai.learner import Learner
    for seed in seeds:
        w = wl.reinit(seed)
        if hasattr(Learner, 'fit_one_cycle'):
            learn = mini_learner(w, bs)
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n_epoch, lr_max)
            runs['mini'].append(float(learn.recorder.values[-1][-1]))
        if fa is not None:
            learn = fastai_learner(fa, w, bs)
            with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n_epoch, lr_max)
            runs['fastai'].append(float(learn.recorder.values[-1][-1]))
    res = {k: statistics.mean(v) for k, v in runs.items() if v}
    res.update(seeds=list(seeds), runs={k: v for k, v in runs.items() if v})
    return res


# ---------------------------------------------------------------------------------------------------------------
# Measure 6: import time, each in a fresh interpreter
IMPORTS = {
    'torch': "import torch",
    'mini': "import mini_fastai.all",
    'fastai': "import mini_fastai.compat as c; c.import_torchvision(); import fastai.vision.all",
}

def _import_child(stmt):
    code = (f"import sys, time; t0 = time.perf_counter(); {stmt}; t = time.perf_counter() - t0; "
            "print(repr((t, 'torchvision' in sys.modules, 'matplotlib.pyplot' in sys.modules)))")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, cwd=str(ROOT))
    if p.returncode: return None
    return eval(p.stdout.strip().splitlines()[-1])

def measure_imports(fa_available, rounds, warmup=1):
    names = [k for k in IMPORTS if k != 'fastai' or fa_available]
    times, flags = {k: [] for k in IMPORTS}, {}
    for r in range(warmup + rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            out = _import_child(IMPORTS[k])
            if out is None: continue
            if r >= warmup: times[k].append(out[0])
            flags[k] = dict(torchvision=out[1], pyplot=out[2])
    med = {k: median(v) for k, v in times.items()}
    return dict(times=times, median=med, flags=flags,
                mini_minus_torch=median([a - b for a, b in zip(times['mini'], times['torch'])]) if times['mini'] else NAN)


# ---------------------------------------------------------------------------------------------------------------
# Measure 7: memory kept by ActivationStats(with_hist=True), in a fresh process
def deep_bytes(o, seen=None):
    "Bytes held by `o`: tensor storages (each counted once) plus the Python objects that hold them."
    seen = set() if seen is None else seen
    if id(o) in seen: return 0
    seen.add(id(o))
    if isinstance(o, torch.Tensor):
        st = o.untyped_storage()
        key = ('storage', st.data_ptr())
        n = sys.getsizeof(o)
        if key not in seen and st.data_ptr():
            seen.add(key)
            n += st.nbytes()
        return n
    n = sys.getsizeof(o)
    if isinstance(o, dict): n += sum(deep_bytes(k, seen) + deep_bytes(v, seen) for k, v in o.items())
    elif isinstance(o, (list, tuple, set, frozenset)): n += sum(deep_bytes(v, seen) for v in o)
    elif hasattr(o, 'items') and isinstance(getattr(o, 'items', None), list): n += deep_bytes(o.items, seen)  # fastcore's L
    elif hasattr(o, 'nbytes') and hasattr(o, 'dtype'): n += int(o.nbytes)  # numpy
    return n

def _peak_rss():
    "Peak resident memory of this process (VmHWM: unlike `ru_maxrss`, not inherited from the parent across exec)."
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'): return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def _rss_now():
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')

def memory_child(which, n_batches, bs, threads):
    "Train `n_batches` batches with `ActivationStats(with_hist=True)`; print bytes kept per batch per layer and peak RSS."
    torch.set_num_threads(threads)
    wl = Workload()
    train = DataLoader(wl.train_ds, batch_size=bs, sampler=RandomSampler(wl.train_ds, replacement=True, num_samples=n_batches * bs,
                                                                        generator=torch.Generator().manual_seed(0)))
    valid = DataLoader(TensorDataset(*wl.valid_ds[:bs]), batch_size=bs)
    warnings.filterwarnings('ignore', message='You are shadowing an attribute')
    if which == 'mini':
        AS = _mini_activation_stats()
        if AS is None: return print(json.dumps(None))
        from mini_fastai.learner import Learner, accuracy
        from mini_fastai.data import DataLoaders
        cb = AS(with_hist=True)
        learn = Learner(DataLoaders(train, valid, device='cpu'), wl.model(), loss_func=nn.CrossEntropyLoss(), metrics=accuracy, cbs=cb)
    else:
        fa = _fastai()
        if fa is None: return print(json.dumps(None))
        cb = fa['ActivationStats'](with_hist=True)
        learn = fa['Learner'](fa['DataLoaders'](train, valid), wl.model(), loss_func=nn.CrossEntropyLoss(), metrics=fa['accuracy'], cbs=cb,
                              path=tempfile.mkdtemp(prefix='fa_bench_'))
    learn.add_cb(_PeakRSS(which)) if which == 'mini' else learn.add_cb(_fastai_peak_cb())
    rss0 = _rss_now()
    with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        learn.fit(1)
    stats = cb.stats
    n_layers = len(getattr(cb, 'modules', None) or getattr(cb, 'hooks', None) or stats[0])
    n_kept = len(stats) if which == 'fastai' else getattr(cb, 'n_batches', len(stats))
    kept = deep_bytes(stats)
    print(json.dumps(dict(batches=n_batches, kept_batches=n_kept, layers=n_layers, bytes_kept=kept,
                          bytes_per_batch_per_layer=kept / max(1, n_kept * n_layers),
                          peak_rss_mb=_peak_rss() / 2**20,
                          rss_growth_mb=(_RSS_PEAK[0] - rss0) / 2**20)))

_RSS_PEAK = [0]
def _track_rss(): _RSS_PEAK[0] = max(_RSS_PEAK[0], _rss_now())

def _PeakRSS(_):
    from mini_fastai.learner import Callback
    class RSSTracker(Callback):
        order = 100
        def after_batch(self): _track_rss()
    return RSSTracker()

def _fastai_peak_cb():
    from fastai.callback.core import Callback
    class RSSTracker(Callback):
        order = 100
        def after_batch(self): _track_rss()
    return RSSTracker()

def measure_memory(n_batches, bs, threads, fa_available):
    out = {}
    for which in ['mini'] + (['fastai'] if fa_available else []):
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get('PYTHONPATH', ''))
        p = subprocess.run([sys.executable, __file__, '--memory-child', which, '--mem-batches', str(n_batches), '--threads', str(threads)],
                           capture_output=True, text=True, env=env, cwd=str(ROOT))
        try: out[which] = json.loads(p.stdout.strip().splitlines()[-1])
        except Exception: out[which] = None
        if p.returncode: print(f"memory measure for {which} failed:\n{p.stderr[-2000:]}", file=sys.stderr)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Report
def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'): cpu = line.split(':', 1)[1].strip(); break
    except OSError: pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"

def _f(v, fmt='{:.3f}'):
    if v is None or (isinstance(v, float) and math.isnan(v)): return 'nan'
    return fmt.format(v)

def _x(v): return _f(v, '{:.2f}×')
def _s(v): return _f(v, '{:.3f} s')
def _yes(c, key):
    if c is None: return 'nan'
    if c[key]: return 'yes'
    return 'no' + (f" ({'; '.join(c['hyper_changes'])})" if key == 'hypers' and c['hyper_changes'] else '')

def build_rows(r):
    "Table rows: `(key, figure, mini_fastai, plain PyTorch, fastai, torch-lr-finder, ratio)`."
    rows = []
    for bs, e in r['epochs'].items():
        m = e['median']
        rows.append((f'epoch_bs{bs}', f'epoch time, bs {bs}', _s(m.get('mini')), _s(m.get('plain')), _s(m.get('fastai')), '',
                     f"mini_fastai {_x(e['mini_vs_plain'])}, fastai {_x(e['fastai_vs_plain'])} the plain loop"))
        if 'mini_hist' in m:
            rows.append((f'actstats_hist_bs{bs}', f'epoch with ActivationStats(with_hist=True), bs {bs}', _s(m.get('mini_hist')), '',
                         _s(m.get('fastai_hist')), '', f"mini_fastai {_x(e['mini_hist'])}, fastai {_x(e['fastai_hist'])} its own plain fit"))
            rows.append((f'actstats_nohist_bs{bs}', f'epoch with ActivationStats(with_hist=False), bs {bs}', _s(m.get('mini_nohist')), '',
                         _s(m.get('fastai_nohist')), '', f"mini_fastai {_x(e['mini_nohist'])}, fastai {_x(e['fastai_nohist'])} its own plain fit"))
        if 'mini_fast_hist' in m:
            rows.append((f'fast_actstats_hist_bs{bs}', f'epoch with FastActivationStats(with_hist=True), bs {bs}', _s(m.get('mini_fast_hist')), '',
                         '', '', f"mini_fastai {_x(e.get('mini_fast_hist'))} its plain fit"))
            rows.append((f'fast_actstats_nohist_bs{bs}', f'epoch with FastActivationStats(with_hist=False), bs {bs}', _s(m.get('mini_fast_nohist')), '',
                         '', '', f"mini_fastai {_x(e.get('mini_fast_nohist'))} its plain fit"))
    lf = r['lr_find']
    m, ex = lf['median'], lf['exact']
    it = lambda k: '/'.join(map(str, sorted(set(ex[k]['iters'])))) if ex[k] else 'nan'
    rows.append(('lr_find_time', f"lr_find(num_it={r['settings']['num_it']}) wall time, bs {r['settings']['lr_find_bs']}",
                 _s(m.get('mini')), '', _s(m.get('fastai')), _s(m.get('tlrf')),
                 f"mini_fastai {_x(lf['mini_vs_fastai'])} fastai, {_x(lf['mini_vs_tlrf'])} torch-lr-finder"))
    rows.append(('lr_find_iters', 'lr_find batches run (stops early on divergence)', it('mini'), '', it('fastai'), it('tlrf'), ''))
    for key, label in [('weights', 'model weights and BN statistics'), ('opt_state', 'optimizer state'), ('hypers', 'optimizer hyper-parameters')]:
        rows.append((f'lr_find_restores_{key}', f'lr_find restores {label} bitwise', _yes(ex['mini'], key), '', _yes(ex['fastai'], key),
                     _yes(ex['tlrf'], key), ''))
    oc = r['one_cycle']
    diff = oc['mini'] - oc['fastai'] if 'mini' in oc and 'fastai' in oc else NAN
    seeds = oc.get('seeds', [])
    each = lambda k: '' if len(seeds) < 2 or k not in oc.get('runs', {}) else ' (' + ', '.join(f'{v:.1%}' for v in oc['runs'][k]) + ')'
    rows.append(('one_cycle_accuracy', f"fit_one_cycle({r['settings']['oc_epochs']}, {r['settings']['oc_lr']}) valid accuracy, bs {r['settings']['oc_bs']}"
                 + (f", mean of {len(seeds)} model initializations (seeds {', '.join(map(str, seeds))})" if len(seeds) > 1 else ''),
                 _f(oc.get('mini'), '{:.2%}') + each('mini'), '', _f(oc.get('fastai'), '{:.2%}') + each('fastai'), '',
                 f"{_f(diff * 100, '{:+.2f}')} points vs fastai"))
    im = r['imports']
    fl = im['flags']
    tv = lambda k: ('' if k not in fl else ' (torchvision loaded)' if fl[k]['torchvision'] else '')
    rows.append(('import_time', 'import time in a fresh process', _s(im['median'].get('mini')) + tv('mini'),
                 _s(im['median'].get('torch')) + ' (torch alone)', _s(im['median'].get('fastai')) + tv('fastai'), '',
                 f"mini_fastai.all {_f(im['mini_minus_torch'], '{:+.2f} s')} over torch"))
    mem = r['memory']
    g = lambda k, f, fmt: _f(mem[k][f], fmt) if mem.get(k) else 'nan'
    rows.append(('actstats_bytes', 'ActivationStats(with_hist=True): bytes kept per batch per layer',
                 g('mini', 'bytes_per_batch_per_layer', '{:,.0f} B'), '', g('fastai', 'bytes_per_batch_per_layer', '{:,.0f} B'), '', ''))
    nb = r['settings']['mem_batches']
    rows.append(('peak_rss', f'peak RSS over {nb:,} batches with ActivationStats(with_hist=True) (growth while training)',
                 g('mini', 'peak_rss_mb', '{:,.0f} MB') + ' (' + g('mini', 'rss_growth_mb', '{:+,.1f} MB') + ')', '',
                 g('fastai', 'peak_rss_mb', '{:,.0f} MB') + ' (' + g('fastai', 'rss_growth_mb', '{:+,.1f} MB') + ')', '', ''))
    return rows

COLUMNS = ['figure', 'mini_fastai', 'plain PyTorch', 'fastai', 'torch-lr-finder', 'ratio']

def markdown(r):
    m = r['meta']
    head = [f"Measured {m['date']} on {m['machine']} (load average {m['load_start']} at start, {m['load_end']} at end), "
            f"{m['threads']} torch threads, {'quick' if r['settings']['quick'] else 'full'} run.",
            '', 'Versions: ' + ', '.join(f"{k} {v}" for k, v in m['versions'].items()) + '.', '',
            f"Workload: {m['model']} on `mnist_sample()` ({m['n_train']:,} training and {m['n_valid']:,} validation images); "
            f"each time is the median of {r['settings']['rounds']} interleaved rounds after a discarded warm-up; "
            "ratios are medians of the per-round ratios. The plain PyTorch loop steps the same optimizer recipe as both "
            "Learners' defaults (AdamW, betas 0.9/0.99, eps 1e-5, weight decay 0.01 except on biases and batch norm).", '']
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for row in r['rows']: lines.append('| ' + ' | '.join(c if c else '—' for c in row[1:]) + ' |')
    return '\n'.join(head + lines) + '\n'

def last_line(r):
    e = r['epochs'][min(r['epochs'])]
    return (f"learner_overhead_vs_torch={_f(e['mini_vs_plain'])} actstats_hist_overhead={_f(e['mini_hist'])} "
            f"fastai_overhead_vs_torch={_f(e['fastai_vs_plain'])}")

def _load(): return '/'.join(f'{x:.2f}' for x in os.getloadavg())

def _jsonable(o):
    if isinstance(o, dict): return {str(k): _jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)): return [_jsonable(v) for v in o]
    if isinstance(o, float) and math.isnan(o): return None
    return o


# ---------------------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--quick', action='store_true', help='3 rounds, ActivationStats at bs 64 only, 250 batches for memory: under 2 minutes on 2 CPU cores')
    p.add_argument('--save', action='store_true', help='write benchmarks/results.json and benchmarks/results.md')
    p.add_argument('--threads', type=int, default=2, help='torch.set_num_threads for every measure')
    p.add_argument('--rounds', type=int, help='timed rounds after the warm-up (default 5, quick 3)')
    p.add_argument('--n-train', type=int, help='training images (default all 4,000; fewer only to try the script out)')
    p.add_argument('--n-valid', type=int, help='validation images (default all 1,000)')
    p.add_argument('--num-it', type=int, default=100, help='lr_find iterations')
    p.add_argument('--mem-batches', type=int, help='batches for the memory measure (default 1,000; quick 250)')
    p.add_argument('--oc-epochs', type=int, default=5, help='fit_one_cycle epochs')
    p.add_argument('--oc-seeds', type=int, help='model initializations (at most 5) for the fit_one_cycle accuracy (default 3, quick 1)')
    p.add_argument('--skip', default='', help='comma-separated measures to skip: epochs,lr_find,one_cycle,imports,memory')
    p.add_argument('--no-references', action='store_true', help='run as if fastai and torch-lr-finder were not installed')
    p.add_argument('--memory-child', choices=['mini', 'fastai'], help=argparse.SUPPRESS)
    return p.parse_args(argv)

def main(argv=None):
    a = parse_args(argv)
    q = a.quick
    rounds = a.rounds or (3 if q else 5)
    mem_batches = a.mem_batches or (250 if q else 1000)
    if a.memory_child: return memory_child(a.memory_child, mem_batches, 64, a.threads)
    global WITH_REFERENCES
    WITH_REFERENCES = not a.no_references
    torch.set_num_threads(a.threads)
    warnings.filterwarnings('ignore', message='You are shadowing an attribute')  # fastai's ActivationStats
    skip = set(filter(None, a.skip.split(',')))
    load_start = _load()
    t_start = time.perf_counter()
    fa, tl = _fastai(), _torch_lr_finder()
    wl = Workload(a.n_train, a.n_valid)
    settings = dict(quick=q, rounds=rounds, num_it=a.num_it, lr_find_bs=64, oc_epochs=a.oc_epochs, oc_lr=0.1, oc_bs=64,
                    oc_seeds=[42, 1, 2, 3, 4][:a.oc_seeds or (1 if q else 3)],
                    mem_batches=mem_batches, bss=[64, 512])
    r = dict(settings=settings)
    log = lambda s: print(f"[{time.perf_counter() - t_start:6.1f} s, load {_load()}] {s}", file=sys.stderr, flush=True)
    log('epoch timings')
    r['epochs'] = measure_epochs(wl, fa, [64, 512], rounds, [64] if q else [64, 512]) if 'epochs' not in skip else {
        64: dict(median={}, mini_vs_plain=NAN, fastai_vs_plain=NAN, mini_hist=NAN, mini_nohist=NAN, fastai_hist=NAN, fastai_nohist=NAN)}
    log('lr_find')
    r['lr_find'] = measure_lr_find(wl, fa, tl, 64, a.num_it, rounds) if 'lr_find' not in skip else dict(
        median={}, exact={'mini': None, 'fastai': None, 'tlrf': None}, mini_vs_fastai=NAN, mini_vs_tlrf=NAN)
    log('fit_one_cycle')
    r['one_cycle'] = measure_one_cycle(wl, fa, 64, a.oc_epochs, 0.1, settings['oc_seeds']) if 'one_cycle' not in skip else {}
    log('imports')
    # quick: no warm-up round, the files are already in the page cache (this process imported them all)
    r['imports'] = measure_imports(fa is not None, rounds, warmup=0 if q else 1) if 'imports' not in skip else dict(median={}, flags={}, mini_minus_torch=NAN)
    log('memory')
    r['memory'] = measure_memory(mem_batches, 64, a.threads, fa is not None) if 'memory' not in skip else {}
    log('done')
    import mini_fastai
    versions = {'python': platform.python_version(), 'torch': torch.__version__, 'mini_fastai': mini_fastai.__version__,
                'fastai': fa['version'] if fa else 'not installed',
                'torch-lr-finder': (_pkg_version('torch-lr-finder') or tl['version']) if tl else 'not installed'}
    r['meta'] = dict(date=datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), machine=machine(), threads=a.threads,
                     load_start=load_start, load_end=_load(), versions=versions, model=wl.model_source,
                     n_train=len(wl.train_ds), n_valid=len(wl.valid_ds), wall_s=round(time.perf_counter() - t_start, 1),
                     skipped=sorted(skip))
    r['rows'] = build_rows(r)
    r['markdown'] = markdown(r)
    r['last_line'] = last_line(r)
    print(r['markdown'])
    if a.save:
        (HERE / 'results.md').write_text(r['markdown'])
        (HERE / 'results.json').write_text(json.dumps(_jsonable(r), indent=1) + '\n')
    if q: print(r['last_line'])
    return r

if __name__ == '__main__': main()
