"""torch.nn.attention.SDPBackend / sdpa_kernel and torch.backends.cuda's attention switches
(nn/sdpa_backend.py, backends/cuda.py): accepted with PyTorch's names and values, attention
computed the math way inside them (the same values and gradients as PyTorch's), the deprecated
sdp_kernel with PyTorch's FutureWarning and its flags restored after the block."""

import numpy as np
import pytest

import chainrule as cr

pytestmark = pytest.mark.kernel_free


@pytest.mark.torch
def test_attention_under_sdpa_kernel_and_the_switches_matches_pytorch():
    # SDPBackend and sdpa_kernel were an AttributeError
    torch = pytest.importorskip("torch")
    q0 = np.random.default_rng(0).standard_normal((2, 2, 5, 4))
    out = {}
    for L in (cr, torch):
        from_attention = L.nn.attention
        q = L.tensor(q0, requires_grad=True)
        with from_attention.sdpa_kernel([from_attention.SDPBackend.MATH,
                                         from_attention.SDPBackend.EFFICIENT_ATTENTION]):
            y = L.nn.functional.scaled_dot_product_attention(q, q * 0.5, q.flip(2),
                                                             is_causal=True)
        y.pow(2).sum().backward()
        members = {k: int(v) for k, v in from_attention.SDPBackend.__members__.items()}
        cuda = L.backends.cuda
        flags = []
        cuda.enable_flash_sdp(False)
        flags.append(cuda.flash_sdp_enabled())
        cuda.enable_flash_sdp(True)
        with pytest.warns(FutureWarning, match=r"`torch.backends.cuda.sdp_kernel\(\)` is "
                                               r"deprecated"):
            with cuda.sdp_kernel(enable_flash=False, enable_mem_efficient=False):
                flags += [cuda.flash_sdp_enabled(), cuda.mem_efficient_sdp_enabled(),
                          cuda.math_sdp_enabled(), cuda.cudnn_sdp_enabled()]
        flags += [cuda.flash_sdp_enabled(), cuda.mem_efficient_sdp_enabled()]
        out[L.__name__] = (y.detach().numpy(), q.grad.numpy(), members, flags)
    ours, theirs = out["chainrule"], out["torch"]
    for a, b in zip(ours[:2], theirs[:2]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert ours[2] == theirs[2] and ours[3] == theirs[3]


def test_sdpa_kernel_refusals_name_the_argument():
    with pytest.raises(TypeError, match="sdpa_kernel: backends must be an SDPBackend or a list "
                                        "of them, got 'math'"):
        with cr.nn.attention.sdpa_kernel("math"):
            pass
    with pytest.raises(TypeError, match="enable_math_sdp: enabled must be True or False, got 1"):
        cr.backends.cuda.enable_math_sdp(1)
