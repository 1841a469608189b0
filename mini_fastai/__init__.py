"""Learn deep learning with PyTorch and the fastai training toolbox, from tensors to a DCGAN

```python
import torch, numpy as np
from torch import nn
import torch.nn.functional as F
from mini_fastai.compat import *
from mini_fastai.data import *
from mini_fastai.downloads import *
from mini_fastai.conv import *
from mini_fastai.learner import *
from mini_fastai.learner_extras import *
from mini_fastai.schedule import *
from mini_fastai.hooks import *
from mini_fastai.fast_stats import *
from mini_fastai.lenet import *
from mini_fastai.transfer import *
from mini_fastai.gan import *
from mini_fastai.scale import *
from mini_fastai.widgets import *
```

```python
# nbdev writes `__all__` from the names defined in exported cells; this module only re-exports,
# so list every public name it holds.
__all__ = [n for n in globals() if not n.startswith('_') and n not in ('In', 'Out', 'get_ipython', 'exit', 'quit')]
```"""

__version__ = "0.1.0"

# The one hand-written part of the package (nbdev writes the docstring above from nbs/index.ipynb).
# Importing mini_fastai makes a later plain `import torchvision` work on a CPU-only PyTorch: this adds an
# import hook and imports neither torch nor torchvision (nbs/17_compat.ipynb, the appendix, explains it).
from . import compat
compat.install_torchvision_fix()
