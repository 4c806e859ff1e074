"""Two corpora for the tampering scan (``instructor.audit.code_scan.tampering``).

``LEGITIMATE``: code students really write, which must never be flagged: the habits of
careful students and of notebook editors. (``tests/test_hostile.py`` adds every catalogue
variant and reference answer to it.) ``HOSTILE``: code that rebinds or patches what the
tests rely on, each of which must be flagged.
"""

LEGITIMATE = {
    "gc.collect and empty_cache after an epoch": "import gc\nfor epoch in range(3):\n    pass\n    gc.collect()\n    torch.cuda.empty_cache()",
    "inspect.signature": "import inspect\nprint(inspect.signature(VAE.forward))",
    "inspect.getsource": "import inspect\nprint(inspect.getsource(kl_loss))",
    "importlib.reload of a helper": "import importlib\nimport helpers.plotting\nimportlib.reload(helpers.plotting)",
    "tqdm progress bar": "from tqdm.auto import tqdm\nfor x, y in tqdm(train_iter):\n    pass",
    "matplotlib magics": "%matplotlib inline\n%config InlineBackend.figure_formats = ['png']\nimport matplotlib.pyplot as plt",
    "timing magics": "%time z = torch.randn(10)\n%timeit torch.randn(10)",
    "cell magic": "%%time\nmodel = VAE().to(device)",
    "magics as editors write them": "get_ipython().run_line_magic('matplotlib', 'inline')\nget_ipython().run_cell_magic('time', '', 'x = 1')",
    "globals() lookup": "if 'model' in globals():\n    print(globals()['model'])\nnames = list(globals().keys())",
    "vars() of a model": "print(vars(model).keys())",
    "own helper functions": "def show(img):\n    plt.imshow(img.squeeze(), cmap='gray')\n    plt.show()\n\ndef count(model):\n    return sum(p.numel() for p in model.parameters())",
    "setattr on self": "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        for i in range(3):\n            setattr(self, f'layer{i}', nn.Linear(4, 4))",
    "plotting settings": "plt.rcParams['figure.figsize'] = (8, 6)\nnp.set_printoptions(precision=3)\ntorch.set_printoptions(precision=3)",
    "determinism settings": "torch.backends.cudnn.deterministic = True\ntorch.manual_seed(0)\nimport os\nos.environ['CUBLAS_WORKSPACE_CONFIG'] = ':4096:8'",
    "warnings filter": "import warnings\nwarnings.filterwarnings('ignore')",
    "sys.path and sys.modules reads": "import sys\nprint(sys.version, 'torch' in sys.modules)\nmods = sys.modules.get('numpy')",
    "copy and deepcopy": "import copy\nbest = copy.deepcopy(model.state_dict())",
    "a local variable named like a module attribute": "allclose = torch.allclose(a, b)\nresult = {'torch': 1}\nresult['torch'] = 2",
    "logging": "import logging\nlogging.basicConfig(level=logging.INFO)\nlogging.info('epoch done')",
    "functools and itertools": "import functools, itertools\n@functools.lru_cache\ndef f(n):\n    return n\nfor a, b in itertools.product(range(2), range(2)):\n    pass",
    "IPython display": "from IPython.display import display, clear_output\nclear_output(wait=True)\ndisplay(plt.gcf())",
    "assertions of their own": "assert x.shape == (64, 1, 28, 28), 'bad shape'\ntry:\n    check()\nexcept AssertionError as err:\n    print(err)",
    "tensor in-place updates": "with torch.no_grad():\n    model.encoder_mean.weight[:] = 0\n    model.encoder_mean.bias.fill_(0)",
}

HOSTILE = {
    "patch a torch function": "torch.allclose = lambda *a, **k: True",
    "patch through an alias": "import torch as t\nt.isclose = lambda a, b, **k: t.ones_like(a, dtype=t.bool)",
    "patch a tensor method": "torch.Tensor.__lt__ = lambda a, b: True",
    "patch numpy testing": "np.testing.assert_allclose = lambda *a, **k: None",
    "setattr on torch": "setattr(torch, 'allclose', lambda *a, **k: True)",
    "delete a torch function": "del torch.isclose",
    "patch the course's test helpers": "import helpers.checks\nhelpers.checks.quietly = None",
    "patch the helpers through from-import": "from helpers import checks\nchecks.normal_bounds = lambda *a, **k: {'mean': (-1e9, 1e9), 'var': (-1e9, 1e9)}",
    "patch builtins": "import builtins\nbuiltins.isinstance = lambda *a: True",
    "rebind AssertionError": "AssertionError = Warning",
    "rebind __builtins__": "__builtins__ = {}",
    "swap a module in sys.modules": "import sys\nsys.modules['torch'] = object()",
    "update sys.modules": "import sys\nsys.modules.update({'numpy': None})",
    "write through globals()": "def kl_loss(m, lv):\n    globals()['expected'] = 0\n    return 0",
    "update globals()": "globals().update(np=None)",
    "write a caller's frame": "import sys\ndef kl_loss(m, lv):\n    sys._getframe(1).f_globals['expected'] = 0",
    "inspect frames": "import inspect\nframe = inspect.currentframe().f_back",
    "replace a function's code": "kl_loss.__code__ = (lambda m, lv: 0).__code__",
    "find grader objects": "import gc\nfor obj in gc.get_objects():\n    pass",
    "patch IPython's cell runner": "get_ipython().run_cell = lambda cell, *a, **k: None",
    "register an IPython event": "get_ipython().events.register('pre_run_cell', lambda *a: None)",
    "hide tracebacks": "get_ipython().showtraceback = lambda *a, **k: None",
    "trace the tests": "import sys\nsys.settrace(lambda *a: None)",
    "exec hides a patch": "exec('torch.allclose = lambda *a, **k: True')",
    "__import__ hides a module": "m = __import__('torch')\nm.allclose = None",
    "import the reference answers": "from grading.vae_cvae import reference_vae_loss",
    "excepthook": "import sys\nsys.excepthook = lambda *a: None",
}
