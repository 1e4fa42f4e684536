"""The Trainer: ``fit`` / ``evaluate`` / ``predict`` for a model, a loss and an optimizer.

``train_step(batch)`` is the one place that says what a training step is (forward, loss, backward,
optimizer step); a trainer for another kind of model (a GAN, say) overrides it and keeps the loop.
"""

from __future__ import annotations

from pathlib import Path

from ..autograd import no_grad
from ..backend import numpy, validate_device
from ..backend.random import default_generator
from ..data import DataLoader, Dataset
from ..data.arguments import check_int
from ..io import load_training_state, save_training_state
from ..nn import Module
from ..nn import fuse as nn_fuse
from ..nn.modes import eval_mode
from ._callback_state import callback_keys, callback_states, restore_callbacks
from ._checks import (
    NO_BATCHES,
    batch_count,
    batch_fields,
    check_batch,
    check_callbacks,
    check_coverage,
    check_flags,
    check_path,
    check_weights,
    keras_arguments,
    non_finite_weights,
    resolve_loss,
    score_options,
    split_validation,
    training_mode,
)
from ._grad_options import GradOptions
from ._loading import batch_tensors, make_loader
from ._predict import empty_output, host_output, join_outputs
from .callbacks import LAST_STATE, Callback, CallbackList, LearningRateScheduler, TerminateOnNaN
from .history import History
from .metrics import MeanTracker, as_log, metric_list
from .reporting import ProgressBar
from .resume import (
    LazySignature,
    check_epoch_closed,
    check_epochs,
    check_same_run,
    layer_generators,
    loader_generators,
    own_data_stream,
    set_sampler_epoch,
    signature,
)

__all__ = ["Trainer"]


class Trainer:
    """Train and evaluate ``model`` with ``loss`` and ``optimizer``, Keras-style.

    Args:
        model: a Module; ``model(*inputs)`` gives the output the loss compares with the target.
        loss: ``loss(output, target) -> scalar Tensor``, e.g. ``chainrule.ops.cross_entropy``, or
            the name of such a function in ``chainrule.ops`` ("cross_entropy", "mse_loss"...).
        optimizer: a ``chainrule.optim`` optimizer over the model's parameters (None only when an
            overridden ``train_step`` brings its own, or for ``evaluate``/``predict`` alone). It
            is checked here against the model: one that holds none of the model's parameters is a
            ValueError; one that leaves some trainable parameters out gets a UserWarning naming
            them (leaving a parameter out is a legitimate way to freeze it, so not an error).
        metrics: names or functions ``fn(y_true, y_pred) -> float`` (see ``metrics.get_metric``),
            averaged over each epoch like the loss.
        callbacks: ``Callback`` objects (``EarlyStopping``, ``ModelCheckpoint``, ``CSVLogger``...).
        scheduler: a learning-rate scheduler stepped once per epoch (a ``LearningRateScheduler``
            callback is added for it).
        device: "cpu" or "cuda"; the model is moved there and so is every batch.
        fuse: fuse each ReLU with the max pooling after it or the layer before it first
            (``nn.fuse``, in place: the same Parameters, values and state dict, and ``repr``
            shows it); False keeps the model's layers as they are.
        perturb: None, or ``perturb(model, inputs, target) -> inputs`` applied to the inputs
            of every training batch before its step (adversarial training:
            ``chainrule.robust.AdversarialTraining``); its ``rng``, if any, is checkpointed.
            If it has a ``penalty(model, clean_inputs, target)`` method, the scalar Tensor that
            returns (None: nothing) is added to the training loss (GradAlign).
        clip_grad_norm, clip_grad_value: None, or clip the gradients of the optimizer's
            parameters before every step to this total L2 norm (``nn.utils.clip_grad_norm_``;
            Lightning's ``gradient_clip_val``, Keras' ``global_clipnorm``) or this magnitude per
            entry (``clip_grad_value_``); one of the two. Non-finite gradients then stop the run
            as diverged, with no step, under ``fit(terminate_on_nan=True)``.
        accumulate_grad_batches: k >= 1; each batch's loss is scaled by 1/k and the optimizer
            steps once per k batches (an epoch's last, shorter group too, scaled by 1/k as
            Lightning's); the logged loss is the batch's own (docs/training.md).

    Batches are tuples ``(*inputs, target)``; float inputs are cast to the model's float dtype.

    Attributes:
        history: the History of the last ``fit``; epoch: the last completed epoch (-1 before any);
        stop_training: set it to True (from a callback) to end ``fit`` after the current batch.
        diverged: True when the last ``fit`` stopped because a logged value (or, at an epoch's
            end, a weight) was NaN or infinite (see ``TerminateOnNaN``); the diverged epoch is not
            recorded, so checkpoints hold the last finite epoch.
        stop_reason: None, or one line saying why the last ``fit`` diverged ("training diverged:
            loss is nan at epoch 3, batch 17"), for a caller to print.
    """

    def __init__(self, model, loss, optimizer, *, metrics=(), callbacks=(), scheduler=None,
                 device: str = "cpu", fuse: bool = True, perturb=None, clip_grad_norm=None,
                 clip_grad_value=None, accumulate_grad_batches: int = 1):
        if not isinstance(model, Module):
            raise TypeError(
                f"Trainer: model must be a chainrule nn.Module, got {type(model).__name__}"
            )
        callbacks = check_callbacks(callbacks)
        for i, c in enumerate(callbacks):
            if not isinstance(c, Callback):
                raise TypeError(
                    f"Trainer: callbacks[{i}] must be a Callback, got {type(c).__name__}"
                )
        self.grad_options = GradOptions(
            clip_grad_norm, clip_grad_value, accumulate_grad_batches,
            overridden=type(self).__name__ if type(self).train_step is not Trainer.train_step
            else None)
        if not isinstance(fuse, bool):
            raise TypeError(f"Trainer: fuse must be True or False, got {fuse!r}")
        if fuse:  # in place, the same Parameters: visible in repr(model) (nn.fuse)
            nn_fuse(model)
        self.model, self.loss, self.optimizer = model, resolve_loss(loss), optimizer
        self.metrics = metric_list(metrics, **score_options(self.loss))  # logits, BCE
        self.callbacks = list(callbacks)
        if scheduler is not None:
            self.callbacks.insert(0, LearningRateScheduler(scheduler))
        if perturb is not None and not callable(perturb):
            raise TypeError(f"Trainer: perturb must be callable, got {type(perturb).__name__}")
        self.perturb = perturb
        self.device = validate_device(device)
        model.to(self.device)
        check_coverage(model, optimizer)
        self.history, self.epoch, self.stop_training, self.params = History(), -1, False, {}
        self.diverged, self.stop_reason, self._train_loader = False, None, None
        self._val_loader = None
        self._data_signature = self._open_epoch = None

    @property
    def scheduler(self):
        """The scheduler of the first LearningRateScheduler callback."""
        found = self._schedulers()
        return found[0] if isinstance(found, list) else found

    def _schedulers(self):
        """What checkpoints save: None, the one scheduler, or a list (a warm-up and a decay)."""
        found = [c.scheduler for c in self.callbacks if isinstance(c, LearningRateScheduler)]
        return found[0] if len(found) == 1 else (found or None)

    def fit(self, train_data, y=None, validation_data=None, *, epochs: int = 1,
            batch_size: int | None = 32, shuffle: bool = True, rng=None, verbose: int = 1,
            resume_from=None, terminate_on_nan: bool = True,
            validation_split: float = 0.0) -> History:
        """Train for ``epochs`` epochs (counted from 0, so a resumed run continues to the same end).

        Both ``fit((x, y), ...)`` and Keras' ``fit(x, y, ...)`` work: a second positional
        argument that is an array (or a Tensor, or a list of numbers) is the targets; one that is
        a tuple of arrays, a Dataset or a DataLoader is the validation data (``fit(train, val)``).

        Args:
            train_data: a DataLoader, a Dataset, or a tuple of arrays ``(x, y)`` (or
                ``(*inputs, y)``); or the inputs ``x`` (an array, or a tuple of arrays for a
                multi-input model) when ``y`` is given.
            y: the targets of array inputs ``x``.
            validation_data: the same kinds as ``train_data`` (with targets); evaluated after
                each epoch into "val_..." logs.
            validation_split: as Keras', the share (0 <= f < 1) of array samples held out for
                validation: the last ones, taken before any shuffling (not with a Dataset).
            epochs: the index of the epoch to stop before.
            batch_size: for arrays and Datasets; None puts all samples in one batch (full batch).
            shuffle: reshuffle arrays and Datasets every epoch (not an ``IterableDataset``, read
                in its own order; an epoch ends when its stream does).
            rng: Generator or seed for the shuffling (None: chainrule's default generator, which
                ``cr.manual_seed`` seeds). A DataLoader
                brings its own. When the loader's Generator is the very one a layer of the model
                draws from (its dropout, say), the loader is given its own stream, derived
                deterministically from that Generator, so the two consumers never interleave.
            verbose: 0 silent; 1 a progress bar fitted to the terminal, with the epoch's full
                logs below it (when stdout is not a terminal: a line every 15 s during an epoch
                and one per epoch, see ``ProgressBar``); 2 one line per epoch.
            resume_from: a checkpoint folder (ModelCheckpoint with ``save_best_only=False``) or a
                file from ``save_checkpoint``: restores weights, optimizer, scheduler, epoch,
                history and random states, so the run continues exactly as if never stopped.
            terminate_on_nan: add a ``TerminateOnNaN`` callback (unless the callbacks hold one):
                the first non-finite loss or logged value stops training with a RuntimeWarning
                and sets ``diverged``. False trains on whatever the numbers become.

        Returns:
            The History, with one entry per completed epoch of this run (and of the run it
            resumed).
        """
        epochs = check_int("fit", "epochs", epochs, low=0)
        check_flags("fit", shuffle=shuffle, terminate_on_nan=terminate_on_nan)
        train_data, validation_data = split_validation("fit", *keras_arguments(
            "fit", train_data, y, validation_data), validation_split)
        self._check_steps("fit")
        loader = self._train_loader = self._loader("fit", train_data, batch_size, shuffle, rng)
        steps = batch_count(loader)  # None: a stream without a length, whose epochs end with it
        if steps == 0:
            raise ValueError(NO_BATCHES)
        own_data_stream(loader, self.model)
        # saved, checked on resume
        self._data_signature = LazySignature(loader, self.model, self.grad_options.signature())
        val_loader = self._val_loader = None if validation_data is None else self._loader(
            "fit", validation_data, batch_size, False, None)
        if val_loader is not None and batch_count(val_loader) == 0:
            raise ValueError(NO_BATCHES.replace("train_data", "validation_data"))
        check_path("fit", "resume_from", resume_from)
        self.history, self.epoch, self._open_epoch = History(), -1, None
        if resume_from is not None:
            self.load_checkpoint(resume_from, epochs=epochs)
        callbacks = self.callbacks
        if not any(isinstance(c, ProgressBar) for c in callbacks):
            callbacks = [*callbacks, ProgressBar(verbose)]
        if terminate_on_nan and not any(isinstance(c, TerminateOnNaN) for c in callbacks):
            callbacks = [*callbacks, TerminateOnNaN()]
        callbacks = CallbackList(callbacks, self)
        self.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        self.stop_training, self.diverged, self.stop_reason, logs = False, False, None, {}
        callbacks.on_train_begin()
        restore_callbacks(self.callbacks, getattr(self, "_callback_states", None))
        self._callback_states = None
        try:
            for epoch in range(self.epoch + 1, epochs):
                if self.stop_training:  # a resumed run that EarlyStopping had ended
                    break
                self._open_epoch = epoch  # until recorded: no checkpoint of a half epoch
                set_sampler_epoch(loader, epoch)
                callbacks.on_epoch_begin(epoch)
                if not self.model.training:  # a submodule kept in eval stays so (Lightning 2.2)
                    self.model.train()
                tracker, step = MeanTracker(), -1
                for step, batch in self.grad_options.batches(loader, callbacks):
                    callbacks.on_batch_begin(step)
                    batch = self._to_tensors(batch)
                    results = self.train_step(batch)
                    tracker.update(results, weight=len(batch[0]))
                    callbacks.on_batch_end(step, results)
                    if self.stop_training:
                        break
                if step < 0:
                    raise ValueError(NO_BATCHES)
                if self.diverged:  # not a completed epoch: no validation, no record, no saving
                    break
                logs = tracker.result()
                if val_loader is not None:
                    # TerminateOnNaN checked the weights (or, turned off, lets NaN through)
                    val = self._evaluate(val_loader, weights_checked=True,
                                         what="fit: validation_data")
                    logs.update({f"val_{k}": v for k, v in val.items()})
                callbacks.on_epoch_logs(epoch, logs)  # TerminateOnNaN: an infinite val_loss
                if self.diverged:
                    break
                self.epoch, self._open_epoch = epoch, None
                self.history.append(epoch, logs)
                callbacks.on_epoch_end(epoch, logs)
                if self.stop_training:
                    break
        finally:
            callbacks.on_train_end(logs)
        return self.history

    def train_step(self, batch) -> dict:
        """One optimization step on ``batch`` (a tuple of Tensors ``(*inputs, target)``); with
        ``accumulate_grad_batches=k``, its share of one: the step comes after a group's last batch.

        Returns:
            Floats to average over the epoch: "loss" and the metrics, computed on this batch.
        """
        self._check_steps("train_step")
        inputs, target = batch_fields("train_step", batch)
        penalty = None
        with training_mode(self.model):  # called directly on a model in eval mode: trains
            if self.perturb is not None:
                clean, inputs = inputs, tuple(self.perturb(self.model, inputs, target))
                if hasattr(self.perturb, "penalty"):
                    penalty = self.perturb.penalty(self.model, clean, target)
            output = self.model(*inputs)
            loss = self.loss(output, target)
            if penalty is not None:
                loss = loss + penalty
            self.grad_options.backward_step(self, loss)  # zero_grad, backward, (clip,) step
        return {"loss": loss.item(), **self.compute_metrics(target, output)}

    def eval_step(self, batch) -> dict:
        """Loss and metrics of ``batch`` without training (runs under no_grad, in eval mode)."""
        inputs, target = batch_fields("eval_step", batch)
        output = self.model(*inputs)
        return {"loss": self.loss(output, target).item(), **self.compute_metrics(target, output)}

    def compute_metrics(self, target, output) -> dict:
        """The metrics of one batch, as floats (precision, recall, F1: with their counts)."""
        return {name: as_log(fn(target._data, output._data)) for name, fn in self.metrics}

    def evaluate(self, data, y=None, *, batch_size: int | None = 32) -> dict:
        """Average loss and metrics over ``data`` (a DataLoader, Dataset or tuple of arrays).

        ``evaluate(x, y)`` works as ``evaluate((x, y))``. Non-finite weights or inputs are a
        ValueError naming the parameter or the batch and field, and how many values are bad.
        """
        data, _ = keras_arguments("evaluate", data, y, None)
        return self._evaluate(self._loader("evaluate", data, batch_size, False, None))

    def _evaluate(self, loader, *, weights_checked: bool = False,
                  what: str = "evaluate: data") -> dict:
        if self.loss is None and type(self).eval_step is Trainer.eval_step:
            raise ValueError("evaluate: this Trainer has no loss (Trainer(model, None, ...)); "
                             "pass one, e.g. 'cross_entropy'")
        if not weights_checked:
            check_weights("evaluate", self.model)
        tracker, i = MeanTracker(), -1
        with no_grad(), eval_mode(self.model):
            for i, batch in enumerate(loader):
                batch = self._to_tensors(batch)
                check_batch(what.replace(": data", ""), batch, i)  # fit: validation_data
                tracker.update(self.eval_step(batch), weight=len(batch[0]))
        if i < 0:  # no numbers to average: an empty result would pass for one without a loss
            raise ValueError(NO_BATCHES.replace("fit: train_data", what))
        return tracker.result()

    def predict(self, x, *, batch_size: int | None = 32):
        """The model's outputs for ``x`` as one NumPy array (a tuple: several), batch by batch.

        Non-finite weights or inputs are a ValueError naming the parameter or the batch and
        input, and how many values are bad: a NaN pixel gives no meaningful answer.

        Args:
            x: an array, a tuple of arrays (the inputs of a multi-input model), or a Dataset or
                DataLoader (whose batches' last field, the target, is dropped when there are
                several).
        """
        drop_target = isinstance(x, (Dataset, DataLoader))
        loader = self._loader("predict", x, batch_size, False, None)
        check_weights("predict", self.model)
        outputs = []
        with no_grad(), eval_mode(self.model):
            for i, batch in enumerate(loader):
                batch = self._to_tensors(batch)
                inputs = batch[:-1] if drop_target and len(batch) > 1 else batch
                check_batch("predict", inputs, i, ("input",) * len(inputs))
                outputs.append(host_output(self.model(*inputs)))  # several: a tuple (Keras)
        return join_outputs(outputs) if outputs else empty_output(self, loader, drop_target)

    def non_finite_weights(self) -> dict:
        """Parameter and float buffer names -> how many of their values are NaN or infinite."""
        return non_finite_weights(self.model)

    def save_checkpoint(self, path, *, config: dict | None = None) -> Path:
        """Write everything ``fit(resume_from=path)`` needs into one safetensors file (at an
        epoch's end: ``on_epoch_end``, or after ``fit``; not in the middle of an epoch)."""
        check_epoch_closed(self._open_epoch)
        return save_training_state(
            path, model=self.model, optimizer=self.optimizer, epoch=self.epoch,
            scheduler=self._schedulers(), rng=self._generators(), config=config,
            extra={"history": self.history.state_dict(), "run": signature(self._data_signature),
                   "callbacks": callback_states(self.callbacks)},
        )

    def load_checkpoint(self, path, *, epochs: int | None = None) -> None:
        """Restore what ``save_checkpoint`` wrote (``path`` may be a ModelCheckpoint folder);
        with ``epochs`` (fit's), a checkpoint already past that epoch is refused."""
        path = Path(path) / LAST_STATE if Path(path).is_dir() else Path(path)
        generators = self._generators()

        def same_run(state):  # the data, batching and random streams must be the saved run's
            check_same_run(path, state, signature=signature(self._data_signature),
                           generators=generators, callbacks=callback_keys(self.callbacks))
            if epochs is not None:
                check_epochs(path, state["epoch"], epochs)

        state = load_training_state(path, model=self.model, optimizer=self.optimizer,
                                    scheduler=self._schedulers(), rng=generators,
                                    history=self.history, whole_run=True, check=same_run)
        self.epoch, self._open_epoch = state["epoch"], None
        self._callback_states = state["extra"].get("callbacks")

    def _generators(self) -> dict:
        """Every random Generator the run draws from: the shuffling one, the samplers', those of
        the layers, the default one (``F.dropout`` without ``rng``, ``cr.randn``...) and those
        of the validation loader."""
        found, seen = {}, set()
        candidates = [*loader_generators("data", self._train_loader),
                      ("perturb", getattr(self.perturb, "rng", None))]
        candidates += [*layer_generators(self.model), ("default", default_generator()),
                       *loader_generators("validation", self._val_loader)]
        for name, value in candidates:
            if isinstance(value, numpy.random.Generator) and id(value) not in seen:
                seen.add(id(value))
                found[name] = value
        return found

    def _check_steps(self, who: str) -> None:
        """The default train_step needs an optimizer and a loss: say so before anything runs."""
        if type(self).train_step is not Trainer.train_step:
            return
        if self.optimizer is None:
            raise ValueError(
                f"{who}: this Trainer has no optimizer (Trainer(model, loss, None) can only "
                "evaluate and predict); pass one, e.g. optim.Adam(model.parameters()), or "
                "override train_step"
            )
        if self.loss is None:
            raise ValueError(f"{who}: this Trainer has no loss (Trainer(model, None, ...)); "
                             "pass one, e.g. 'cross_entropy'")

    def _loader(self, who: str, data, batch_size, shuffle: bool, rng) -> DataLoader:
        return make_loader(who, data, batch_size, shuffle, rng)

    def _to_tensors(self, batch) -> tuple:
        """A batch of arrays as Tensors on the trainer's device, floats in the model's dtype."""
        dtype = next((p.dtype for p in self.model.parameters()), None)
        return batch_tensors(batch, dtype, self.device)

