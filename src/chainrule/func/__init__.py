"""Function transforms, PyTorch's ``torch.func``: ``grad``, ``vjp``, ``jvp``, ``jacrev``,
``jacfwd``, ``hessian``, ``vmap``, ``linearize``, ``functionalize`` (a no-op wrapper: see
``_linearize``), and ``functional_call``/``stack_module_state`` to turn a
model into a function of its weights.

Everything is built on chainrule's one way to differentiate, reverse mode: ``jvp`` and
``jacfwd`` give PyTorch's values by reverse-mode means (docs/autograd.md), and ``vmap`` is a loop
over the mapped dimension (correct, not fast). Per-sample gradients of a model:

>>> import chainrule as cr
>>> from chainrule import nn
>>> from chainrule.func import functional_call, grad, vmap
>>> model = nn.Linear(3, 1, rng=cr.Generator().manual_seed(0))
>>> params = {k: v.detach() for k, v in model.named_parameters()}
>>> def loss(p, x, y):
...     return ((functional_call(model, p, (x,)) - y) ** 2).sum()
>>> x, y = cr.randn(4, 3, rng=cr.Generator().manual_seed(1)), cr.zeros(4, 1)
>>> per_sample = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
>>> tuple(per_sample["weight"].shape)
(4, 1, 3)
"""

from ..nn.utils.stateless import _functional_call as functional_call
from ._batch_norm import replace_all_batch_norm_modules_
from ._linearize import debug_unwrap, functionalize, linearize
from ._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from ._vmap import stack_module_state, vmap

__all__ = ["debug_unwrap", "functional_call", "functionalize", "grad", "grad_and_value",
           "hessian", "jacfwd", "jacrev", "jvp", "linearize", "replace_all_batch_norm_modules_",
           "stack_module_state", "vjp", "vmap"]
