"""func_programs.py runs unchanged on PyTorch and on chainrule, from the same weights."""

import numpy as np
import pytest

from . import func_programs as programs
from .test_programs import _run_both


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:There is a performance drop:UserWarning")  # torch's vmap
def test_dp_sgd_of_an_orthogonal_rnn_trains_alike():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, (4, 2, 4)).astype(np.float32)
    y = rng.integers(0, 3, 4)

    results = _run_both(programs.orthogonal_rnn, lambda lib, m: programs.train_dp_sgd(lib, m, x, y))
    losses, norms, gaps = results["chainrule"]
    assert losses[-1] < losses[0] and len(norms) == 4 and max(gaps) < 1e-5
    if "torch" in results:
        theirs = results["torch"]
        np.testing.assert_allclose(losses, theirs[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(norms, theirs[1], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(gaps, theirs[2], atol=1e-5)
