"""Time one training epoch of the activation-statistics chapter's CNN on `mnist_sample()`: plain, with
`ActivationStats(with_hist=True)`, and with a hook written the way fastai's is (three `.item()` per layer
per batch). Prints the best of `--repeats` epochs in wall-clock seconds and in CPU seconds of this
process (steadier on a shared machine; with several threads it adds up the threads), with the ratios
to the plain epoch.

    python benchmarks/activation_stats.py [--bs 64] [--repeats 3] [--device cpu|cuda] [--threads N]
"""
import argparse, time
import torch
from torch import nn
from torch.utils.data import TensorDataset
from mini_fastai.data import mnist_sample, DataLoaders, default_device
from mini_fastai.learner import Learner, accuracy
from mini_fastai.conv import simple_cnn
from mini_fastai.hooks import ActivationStats


class ItemActivationStats(ActivationStats):
    "fastai's way: a Python float per statistic, i.e. one device synchronization per `.item()`."
    def hook(self, m, i, o):
        if not self.training: return None
        o = o.float()
        res = [o.mean().item(), o.std().item(), (o <= 0.05).long().sum().item() / o.numel()]
        if self.with_hist: return torch.cat([torch.tensor(res, device=o.device), o.histc(40, 0, 10)])
        return torch.tensor(res)


def epoch_time(dls, cbs, device):
    torch.manual_seed(0)
    learn = Learner(dls, simple_cnn(10, chans=(1, 8, 16, 32, 64), first_ks=5), loss_func=nn.CrossEntropyLoss(),
                    metrics=accuracy, cbs=cbs, device=device)
    with learn.no_logging(), learn.no_bar():
        learn.fit(1, 0.01)  # warm-up (allocations, kernels)
        if device.type == 'cuda': torch.cuda.synchronize()
        start, cpu_start = time.perf_counter(), time.process_time()
        learn.fit(1, 0.01)
        if device.type == 'cuda': torch.cuda.synchronize()
    return time.perf_counter() - start, time.process_time() - cpu_start


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--device', default=None)
    p.add_argument('--threads', type=int, default=None)
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    device = torch.device(a.device) if a.device else default_device()
    x, y, xv, yv = mnist_sample()
    m, s = x.mean(), x.std()
    dls = DataLoaders.from_dsets(TensorDataset((x - m) / s, y), TensorDataset((xv - m) / s, yv), bs=a.bs, device=device)
    runs = {'plain': lambda: [], 'ActivationStats(with_hist=True)': lambda: [ActivationStats(with_hist=True)],
            'fastai-style .item() hooks, with_hist': lambda: [ItemActivationStats(with_hist=True)]}
    wall, cpu = {k: float('inf') for k in runs}, {k: float('inf') for k in runs}
    for _ in range(a.repeats):
        for k, cbs in runs.items():
            w, c = epoch_time(dls, cbs(), device)
            wall[k], cpu[k] = min(wall[k], w), min(cpu[k], c)
    print(f"device={device}, threads={torch.get_num_threads()}, bs={a.bs}, {len(dls.train)} training batches per epoch")
    print(f"{'':<40} {'wall s':>8} {'ratio':>7} {'CPU s':>8} {'ratio':>7}")
    for k in runs: print(f"{k:<40} {wall[k]:8.3f} {wall[k] / wall['plain']:7.3f} {cpu[k]:8.3f} {cpu[k] / cpu['plain']:7.3f}")


if __name__ == '__main__': main()
