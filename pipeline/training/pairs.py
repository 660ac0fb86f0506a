"""The training samples: pairs drawn as a function of (seed, epoch, index), cropped and augmented, with the
head kind's targets; and which indices each rank trains on."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from models.geometry import EXEMPLAR_SIZE
from pipeline.common.errors import UserError
from pipeline.config.schema import Params, Recipe, TrainParams
from pipeline.data.augment import augment_crop, gray
from pipeline.data.sampling import PairSampler, SamplingError, open_source


class PairDataset(Dataset):
    """The training samples of one epoch for one rank: crops, targets and (SiamMask) the search mask."""

    def __init__(self, sampler: PairSampler, train: TrainParams, target_maker, epoch: int, indices: np.ndarray,
                 masks: bool):
        self.sampler, self.train, self.target_maker = sampler, train, target_maker
        self.epoch, self.indices, self.masks = epoch, indices, masks

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        rng = self.sampler.rng(self.epoch, int(self.indices[i]))
        pair = self.sampler.pair(rng)
        image, box, _ = self.sampler.read(pair.template)
        template, _, _ = augment_crop(image, box, EXEMPLAR_SIZE, self.train.template, rng)
        image, box, mask = self.sampler.read(pair.search)
        search, box, mask = augment_crop(image, box, self.train.search_size, self.train.search, rng, mask)
        if pair.gray:
            template, search = gray(template), gray(search)
        sample = {"template": template, "search": search, **self.target_maker(box, pair.negative, rng)}
        if self.masks:
            valid = mask is not None and not pair.negative
            sample["mask"] = (mask[None] / 255.0).astype(np.float32) if valid else np.zeros(
                (1, self.train.search_size, self.train.search_size), np.float32)
            sample["mask_valid"] = valid
        return sample


def rank_indices(epoch_pairs: int, batch: int, rank: int, ranks: int) -> np.ndarray:
    """The pair indices rank `rank` trains on in one epoch, step by step: (step * ranks + rank) * batch + j."""
    steps = epoch_pairs // (batch * ranks)
    return np.array([(s * ranks + rank) * batch + j for s in range(steps) for j in range(batch)], np.int64)


def make_sampler(params: Params, recipe: Recipe, masks: bool, variant: str, verify: bool = True) -> PairSampler:
    """The pair sampler over the recipe's datasets, every shard checked before training starts (its checksum
    when `verify`: by one rank, not by all)."""
    train = params.train
    try:
        sources = [open_source(name, Path(params.curate.out) / name, spec.weight, spec.frame_range, train.fraction,
                               verify) for name, spec in recipe.datasets.items()]
    except SamplingError as err:
        raise UserError(str(err)) from None
    if masks and not any(s.has_masks for s in sources):
        raise UserError(f"{variant} learns masks, but none of its datasets ({', '.join(recipe.datasets)}) has "
                        "curated masks (COCO has)")
    return PairSampler(sources, train.seed, recipe.negative, recipe.semantic_negative, train.gray)
