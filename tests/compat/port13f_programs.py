"""Public PyTorch programs written from memory, run with ``torch`` = PyTorch or chainrule
(test_port13_programs.py): CuriousAI/mean-teacher's PyTorch training step: an EMA model made by
``param.detach_()`` on every parameter, ``update_ema_variables`` by the deprecated
``ema_param.data.mul_(alpha).add_(1 - alpha, param.data)``, ``softmax_mse_loss`` with the legacy
``size_average=False``, ``CrossEntropyLoss(size_average=False, ignore_index=NO_LABEL)`` over a
half-labelled batch (``target_var.data.ne(NO_LABEL).sum()``), ``Variable(ema_logit.detach().data,
requires_grad=False)`` and the sigmoid ramp-up of the consistency weight.
"""

from __future__ import annotations

import numpy as np

NO_LABEL = -1


def sigmoid_rampup(current, rampup_length):
    """Exponential rampup from https://arxiv.org/abs/1610.02242"""
    if rampup_length == 0:
        return 1.0
    current = np.clip(current, 0.0, rampup_length)
    phase = 1.0 - current / rampup_length
    return float(np.exp(-5.0 * phase * phase))


def mean_teacher(torch):
    nn = torch.nn

    def create_model(ema=False):
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        if ema:
            for param in model.parameters():
                param.detach_()
        return model

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = create_model()
            self.ema_model = create_model(ema=True)

    return Both()


def train_mean_teacher(torch, both, batches, epochs=3, ema_decay=0.9, consistency=10.0,
                       consistency_rampup=3):
    F = torch.nn.functional
    Variable = torch.autograd.Variable
    model, ema_model = both.model, both.ema_model

    def update_ema_variables(model, ema_model, alpha, global_step):
        # Use the true average until the exponential average is more correct
        alpha = min(1 - 1 / (global_step + 1), alpha)
        for ema_param, param in zip(ema_model.parameters(), model.parameters()):
            ema_param.data.mul_(alpha).add_(1 - alpha, param.data)

    def softmax_mse_loss(input_logits, target_logits):
        assert input_logits.size() == target_logits.size()
        input_softmax = F.softmax(input_logits, dim=1)
        target_softmax = F.softmax(target_logits, dim=1)
        num_classes = input_logits.size()[1]
        return F.mse_loss(input_softmax, target_softmax, size_average=False) / num_classes

    def get_current_consistency_weight(epoch):
        return consistency * sigmoid_rampup(epoch, consistency_rampup)

    class_criterion = torch.nn.CrossEntropyLoss(size_average=False, ignore_index=NO_LABEL)
    consistency_criterion = softmax_mse_loss
    optimizer = torch.optim.SGD(model.parameters(), 0.1, momentum=0.9, weight_decay=1e-4,
                                nesterov=True)
    global_step = 0
    history = []
    for epoch in range(epochs):
        model.train()
        ema_model.train()
        for (input, ema_input), target in batches:  # noqa: A001
            input_var = Variable(input)
            with torch.no_grad():
                ema_input_var = Variable(ema_input)
            target_var = Variable(target)

            minibatch_size = len(target_var)
            labeled_minibatch_size = target_var.data.ne(NO_LABEL).sum()
            assert labeled_minibatch_size > 0

            ema_model_out = ema_model(ema_input_var)
            model_out = model(input_var)
            logit1 = model_out
            ema_logit = ema_model_out
            class_logit, cons_logit = logit1, logit1

            ema_logit = Variable(ema_logit.detach().data, requires_grad=False)
            class_loss = class_criterion(class_logit, target_var) / minibatch_size
            ema_class_loss = class_criterion(ema_logit, target_var) / minibatch_size

            consistency_weight = get_current_consistency_weight(epoch)
            consistency_loss = consistency_weight * consistency_criterion(
                cons_logit, ema_logit) / minibatch_size

            loss = class_loss + consistency_loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            global_step += 1
            update_ema_variables(model, ema_model, ema_decay, global_step)
            history.append((class_loss.item(), ema_class_loss.item(), consistency_loss.item(),
                            int(labeled_minibatch_size)))
    ema_grads = [p.requires_grad or p.grad is not None for p in ema_model.parameters()]
    return history, ema_grads, {k: v.detach().numpy().copy()
                                for k, v in both.state_dict().items()}
