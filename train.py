"""Example training app for the ``hpo_sweeper`` Hydra sweeper plugin.

This is a small but real workload for the sweeper to tune: a multi-layer
perceptron written in plain JAX (no Flax/Optax), trained with a hand-written
AdamW optimiser on scikit-learn's bundled 8x8 *digits* dataset (1797 images,
10 classes; it ships inside scikit-learn, so nothing is downloaded).

* Features are standardised with statistics of the training split; the
  train/validation split is fixed and stratified, seeded by ``data.seed``.
* Each epoch shuffles the training set with ``jax.random`` and runs the
  minibatch updates as one ``jax.lax.scan`` inside a single jit-compiled
  function (the last partial batch is dropped).  Compiled functions are cached
  across calls, so trials in the same process that share shapes (width, depth,
  batch size, activation) do not recompile; learning rate and weight decay are
  traced values.
* The task returns ``{"val_loss", "val_accuracy", "train_loss", "n_params"}``
  as plain Python floats (``n_params``: the weights and biases, a cost to
  trade against the loss in ``+experiment=multiobjective_mlp``).  Diverging
  configurations (e.g. a huge learning rate) are not an error: the loss is
  returned as NaN/inf and the sweeper records the trial as failed.

Hyperparameters (see ``conf/config.yaml``): ``optim.lr``,
``optim.weight_decay``, ``model.width``, ``model.depth`` (number of hidden
layers), ``model.activation`` (relu | tanh | gelu | silu),
``train.batch_size``, ``train.epochs``, ``seed`` (init + shuffling) and
``data.seed`` / ``data.val_fraction`` (the split).

Usage::

    python train.py                          # one run with the defaults
    python train.py optim.lr=3e-3 model.depth=3
    python train.py -m                       # sweep with the configured sweeper
    python train.py -m +experiment=bayes_mlp

The pure function :func:`train_mlp` is independent of ``hydra.main`` so it can
be called directly (e.g. from tests).
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import hydra
import jax
import jax.numpy as jnp
import numpy as np
from omegaconf import DictConfig, OmegaConf

import hpo_sweeper

log = logging.getLogger(__name__)

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "gelu": jax.nn.gelu,
    "silu": jax.nn.silu,
}

_BETA1 = 0.9
_BETA2 = 0.999
_EPS = 1e-8


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def load_data(
    seed: int = 0, val_fraction: float = 0.25
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits split into (x_train, y_train, x_val, y_val), standardised.

    The split is stratified and determined only by ``seed``; the
    standardisation uses training-split statistics (constant pixels keep
    scale 1).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_va, y_tr, y_va = train_test_split(
        x, y, test_size=val_fraction, random_state=seed, stratify=y
    )
    mean = x_tr.mean(axis=0)
    std = x_tr.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)
    x_tr = ((x_tr - mean) / std).astype(np.float32)
    x_va = ((x_va - mean) / std).astype(np.float32)
    return x_tr, y_tr.astype(np.int32), x_va, y_va.astype(np.int32)


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------
def init_params(seed: int, sizes: Sequence[int], activation: str):
    """List of (w, b) per layer; He init for ReLU-like, LeCun for tanh.

    Drawn with NumPy (seeded): a handful of small arrays, and it avoids
    compiling JAX's random ops just for initialisation.
    """
    rng = np.random.default_rng(seed)
    gain = 1.0 if activation == "tanh" else 2.0
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = rng.standard_normal((fan_in, fan_out)) * np.sqrt(gain / fan_in)
        params.append(
            (jnp.asarray(w, jnp.float32), jnp.zeros((fan_out,), jnp.float32))
        )
    return params


def forward(params, x, activation: str):
    act = ACTIVATIONS[activation]
    for w, b in params[:-1]:
        x = act(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def cross_entropy(params, x, y, activation: str):
    logits = forward(params, x, activation)
    logp = jax.nn.log_softmax(logits)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


# --------------------------------------------------------------------------
# Optimiser (AdamW, decoupled weight decay on weight matrices only)
# --------------------------------------------------------------------------
def adamw_init(params):
    def zeros():
        return [(jnp.zeros(w.shape, w.dtype), jnp.zeros(b.shape, b.dtype)) for w, b in params]

    return {"m": zeros(), "v": zeros(), "t": jnp.zeros((), jnp.int32)}


def adamw_update(params, grads, state, lr, weight_decay, beta2=_BETA2, one_minus_beta2=1 - _BETA2):
    # beta2 and 1 - beta2 come in separately, the latter computed on the host in float64: a traced
    # beta2 then gives bit for bit what the constants gave (1 - float32(0.999) would not).
    t = state["t"] + 1
    m = jax.tree_util.tree_map(
        lambda m, g: _BETA1 * m + (1 - _BETA1) * g, state["m"], grads
    )
    v = jax.tree_util.tree_map(
        lambda v, g: beta2 * v + one_minus_beta2 * g * g, state["v"], grads
    )
    tf = t.astype(jnp.float32)
    c1 = 1 - _BETA1**tf
    c2 = 1 - beta2**tf

    def step(p, m, v, decay):
        upd = (m / c1) / (jnp.sqrt(v / c2) + _EPS)
        if decay:
            upd = upd + weight_decay * p
        return p - lr * upd

    new_params = [
        (step(w, mw, vw, True), step(b, mb, vb, False))
        for (w, b), (mw, mb), (vw, vb) in zip(params, m, v)
    ]
    return new_params, {"m": m, "v": v, "t": t}


def sgd_init(params):
    return {"m": [(jnp.zeros(w.shape, w.dtype), jnp.zeros(b.shape, b.dtype)) for w, b in params]}


def sgd_update(params, grads, state, lr, weight_decay, momentum):
    """SGD with (heavy-ball) momentum; decoupled weight decay on weight matrices only, as AdamW."""
    m = jax.tree_util.tree_map(lambda m, g: momentum * m + g, state["m"], grads)
    new_params = [
        (w - lr * (mw + weight_decay * w), b - lr * mb) for (w, b), (mw, mb) in zip(params, m)
    ]
    return new_params, {"m": m}


OPTIMIZERS = ("adamw", "sgd")


# --------------------------------------------------------------------------
# Jit-compiled epoch and evaluation
# --------------------------------------------------------------------------
@functools.partial(jax.jit, static_argnames=("activation", "batch_size", "optimizer"))
def train_epoch(params, opt_state, key, x, y, lr, weight_decay, hyper=(_BETA2, 1 - _BETA2), *,
                activation, batch_size, optimizer="adamw"):
    """One epoch: shuffle, drop the last partial batch, scan over minibatches.

    Returns (params, opt_state, next key, mean minibatch loss).
    """
    key, perm_key = jax.random.split(key)
    n = x.shape[0]
    n_steps = n // batch_size
    perm = jax.random.permutation(perm_key, n)[: n_steps * batch_size]
    xb = x[perm].reshape(n_steps, batch_size, x.shape[1])
    yb = y[perm].reshape(n_steps, batch_size)
    loss_and_grad = jax.value_and_grad(cross_entropy)

    def body(carry, batch):
        p, s = carry
        loss, g = loss_and_grad(p, batch[0], batch[1], activation)
        if optimizer == "sgd":
            p, s = sgd_update(p, g, s, lr, weight_decay, hyper[0])
        else:
            p, s = adamw_update(p, g, s, lr, weight_decay, hyper[0], hyper[1])
        return (p, s), loss

    (params, opt_state), losses = jax.lax.scan(body, (params, opt_state), (xb, yb))
    return params, opt_state, key, jnp.mean(losses)


def _metrics(params, x, y, activation):
    logits = forward(params, x, activation)
    logp = jax.nn.log_softmax(logits)
    loss = -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))
    acc = jnp.mean(jnp.argmax(logits, axis=-1) == y)
    return loss, acc


@functools.partial(jax.jit, static_argnames=("activation",))
def evaluate(params, x_tr, y_tr, x_va, y_va, *, activation):
    """(train loss, val loss, val accuracy) on the full splits, one compile."""
    train_loss, _ = _metrics(params, x_tr, y_tr, activation)
    val_loss, val_acc = _metrics(params, x_va, y_va, activation)
    return train_loss, val_loss, val_acc


# --------------------------------------------------------------------------
# Task
# --------------------------------------------------------------------------
def train_mlp(
    cfg: Any, on_epoch: Callable[[int, dict[str, float]], None] | None = None
) -> dict[str, float]:
    """Train the MLP described by ``cfg`` and return validation metrics.

    ``cfg`` is a DictConfig or a plain mapping with the keys of
    ``conf/config.yaml`` (``optim``, ``model``, ``train``, ``data``, ``seed``).
    Never raises for a diverging run: the losses are then NaN/inf.
    ``on_epoch(epoch, metrics)``, when given, is called after every epoch
    (1-based) with the same metrics the function returns; it may raise to stop
    training (``main`` raises ``hpo_sweeper.TrialPruned`` there).
    """
    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.create(dict(cfg) if isinstance(cfg, Mapping) else cfg)

    activation = str(cfg.model.activation)
    if activation not in ACTIVATIONS:
        raise ValueError(
            f"model.activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}"
        )
    width = int(cfg.model.width)
    depth = int(cfg.model.depth)
    epochs = int(cfg.train.epochs)
    lr = float(cfg.optim.lr)
    weight_decay = float(cfg.optim.weight_decay)
    # optim.name (adamw | sgd) with its own parameters: optim.beta2 for adamw, optim.momentum
    # for sgd. A config without them (older ones) means AdamW with beta2 = 0.999, as before.
    optimizer = str(cfg.optim.get("name", "adamw"))
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optim.name must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if optimizer == "sgd":
        hyper = (jnp.float32(float(cfg.optim.get("momentum", 0.9))), jnp.float32(0.0))
    else:
        beta2 = float(cfg.optim.get("beta2", _BETA2))
        hyper = (jnp.float32(beta2), jnp.float32(1.0 - beta2))

    x_tr, y_tr, x_va, y_va = load_data(int(cfg.data.seed), float(cfg.data.val_fraction))
    # A batch larger than the training set degrades to full-batch training.
    batch_size = max(1, min(int(cfg.train.batch_size), x_tr.shape[0]))

    n_classes = 10
    sizes = [x_tr.shape[1]] + [width] * depth + [n_classes]
    # ``seed`` drives both the (NumPy) initialisation and the (JAX) shuffling.
    params = init_params(int(cfg.seed), sizes, activation)
    key = jax.random.PRNGKey(int(cfg.seed))
    opt_state = sgd_init(params) if optimizer == "sgd" else adamw_init(params)

    x_tr_j, y_tr_j = jnp.asarray(x_tr), jnp.asarray(y_tr)
    x_va_j, y_va_j = jnp.asarray(x_va), jnp.asarray(y_va)
    lr_j = jnp.float32(lr)
    wd_j = jnp.float32(weight_decay)

    # Weights and biases of each layer: the model's size, a second objective.
    n_params = float(sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:])))

    def metrics() -> dict[str, float]:
        train_loss, val_loss, val_acc = evaluate(
            params, x_tr_j, y_tr_j, x_va_j, y_va_j, activation=activation
        )
        return {
            "val_loss": float(val_loss),
            "val_accuracy": float(val_acc),
            "train_loss": float(train_loss),
            "n_params": n_params,
        }

    for epoch in range(1, epochs + 1):
        params, opt_state, key, ep_loss = train_epoch(
            params, opt_state, key, x_tr_j, y_tr_j, lr_j, wd_j, hyper,
            activation=activation, batch_size=batch_size, optimizer=optimizer,
        )
        if not math.isfinite(float(ep_loss)):
            break  # diverged: no point in continuing, report NaN/inf below
        if on_epoch is not None:
            on_epoch(epoch, metrics())

    return metrics()


def report_epoch(epoch: int, metrics: dict[str, float]) -> None:
    """Report the epoch's metrics to a pruning sweep and stop if its pruner says so.

    Outside a sweep with a pruner both calls do nothing (``hpo_sweeper.reporting``),
    so a plain ``python train.py`` trains every epoch as before.
    """
    hpo_sweeper.report(metrics, step=epoch)  # read with the sweep's objective key
    if hpo_sweeper.should_prune():
        log.info("pruned after epoch %d (val_loss=%.4f)", epoch, metrics["val_loss"])
        raise hpo_sweeper.TrialPruned(f"pruned after epoch {epoch}")


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    # JAX logs "Unable to initialize backend 'tpu'" at INFO on CPU/GPU hosts;
    # keep it out of every trial's log.
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)
    # Always go through the importable module ``train`` (the script's own
    # directory is on sys.path).  Run as a script, this function lives in
    # ``__main__``, and process-based launchers (joblib/loky, submitit) pickle
    # it by value together with the globals it names; the jitted and
    # lru-cached helpers behind ``train_mlp`` cannot travel that way, whereas
    # ``train.train_mlp`` is pickled by reference.
    from train import train_mlp as task

    start = time.perf_counter()
    result = task(cfg, on_epoch=report_epoch)
    log.info(
        "val_loss=%.4f val_accuracy=%.4f train_loss=%.4f (%.2fs)",
        result["val_loss"],
        result["val_accuracy"],
        result["train_loss"],
        time.perf_counter() - start,
    )
    return result


if __name__ == "__main__":
    main()
