"""The optimizer and the learning-rate schedule of a recipe."""
from __future__ import annotations

import torch

from pipeline.config.schema import Recipe


def learning_rate(recipe: Recipe, epoch: int) -> float:
    """SiamRPN++ section 4.1: a warm-up rising geometrically from warmup_lr to lr, then lr annealed
    geometrically to lr_end at the last epoch; without a warm-up, SiamFC section 4.1's annealing."""
    if epoch < recipe.warmup_epochs:
        return recipe.warmup_lr * (recipe.lr / recipe.warmup_lr) ** (epoch / recipe.warmup_epochs)
    decay = recipe.epochs - recipe.warmup_epochs - 1
    progress = (epoch - recipe.warmup_epochs) / decay if decay > 0 else 0.0
    return recipe.lr * (recipe.lr_end / recipe.lr) ** progress


def make_optimizer(model, recipe: Recipe) -> torch.optim.SGD:
    """SGD with two groups, the backbone's (frozen, or at backbone_lr times the rate) and the rest's."""
    backbone = [p for n, p in model.named_parameters() if n.startswith("backbone.")]
    rest = [p for n, p in model.named_parameters() if not n.startswith("backbone.")]
    return torch.optim.SGD([{"params": backbone}, {"params": rest}], lr=recipe.lr, momentum=recipe.momentum,
                           weight_decay=recipe.weight_decay)


def set_epoch_rates(optimizer, recipe: Recipe, epoch: int) -> tuple[float, bool]:
    """The epoch's rates on the two groups; returns (lr, whether the backbone is frozen)."""
    lr = learning_rate(recipe, epoch)
    frozen = epoch < recipe.freeze_backbone_epochs
    optimizer.param_groups[0]["lr"] = 0.0 if frozen else lr * recipe.backbone_lr
    optimizer.param_groups[1]["lr"] = lr
    return lr, frozen
