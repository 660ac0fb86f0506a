"""The published tables that the ablation reports show beside their own: the papers' numbers, for reference.

They were measured on real data (ImageNet VID for training; VOT-15, VOT2018 and OTB2015 for testing) with the
full-size networks and schedules, so they give the shape to look for, not values to match on the synthetic
world.
"""
from __future__ import annotations

# SiamFC (Bertinetto et al., ECCV 2016 workshops), Table 3: "Effects of using increasing portions of the
# ImageNet Video dataset on tracker's performance", on VOT-15.
SIAMFC_TABLE3_SOURCE = "SiamFC Table 3 (ImageNet VID for training, VOT-15)"
SIAMFC_TABLE3_HEADER = ["dataset %", "videos", "objects", "accuracy", "failures", "EAO"]
SIAMFC_TABLE3 = (
    (2, 88, "60k", 0.484, 183, 0.168),
    (4, 177, "110k", 0.501, 160, 0.192),
    (8, 353, "190k", 0.484, 142, 0.193),
    (16, 707, "330k", 0.522, 132, 0.219),
    (32, 1413, "650k", 0.521, 117, 0.234),
    (100, 4417, "2m", 0.524, 87, 0.274),
)

# SiamRPN++ (Li et al., CVPR 2019; arXiv v1), Table 1: the ablation on VOT2018 (EAO) and OTB2015 (AUC).
# Rows: backbone, layers, finetune, corr, EAO, AUC; the AlexNet rows use no layer choice.
SIAMRPNPP_TABLE1_SOURCE = "SiamRPN++ Table 1 (VOT2018 EAO, OTB2015 AUC)"
SIAMRPNPP_TABLE1_HEADER = ["backbone", "L3", "L4", "L5", "finetune", "corr", "VOT2018 EAO", "OTB2015 AUC"]
SIAMRPNPP_TABLE1 = (
    ("alexnet", (), False, "up", 0.332, 0.658),
    ("alexnet", (), False, "dw", 0.355, 0.666),
    ("resnet50", (3, 4, 5), False, "up", 0.371, 0.664),
    ("resnet50", (3, 4, 5), True, "up", 0.390, 0.684),
    ("resnet50", (3,), True, "dw", 0.331, 0.669),
    ("resnet50", (4,), True, "dw", 0.374, 0.678),
    ("resnet50", (5,), True, "dw", 0.320, 0.646),
    ("resnet50", (3, 4), True, "dw", 0.346, 0.677),
    ("resnet50", (3, 5), True, "dw", 0.336, 0.674),
    ("resnet50", (4, 5), True, "dw", 0.383, 0.683),
    ("resnet50", (3, 4, 5), False, "dw", 0.395, 0.673),
    ("resnet50", (3, 4, 5), True, "dw", 0.414, 0.696),
)


def siamrpnpp_table1_auc(layers: tuple[int, ...], finetune: bool, corr: str) -> float | None:
    """The paper's ResNet-50 OTB2015 AUC for this cell of the layer grid, or None where it has no such row."""
    return next((row[5] for row in SIAMRPNPP_TABLE1
                 if row[0] == "resnet50" and row[1:4] == (tuple(layers), finetune, corr)), None)


def siamfc_table3_rows() -> list[list]:
    return [list(row) for row in SIAMFC_TABLE3]


def siamrpnpp_table1_rows() -> list[list]:
    return [[backbone, *("✓" if n in layers else "" for n in (3, 4, 5)), "✓" if finetune else "", corr.upper(),
             eao, auc] for backbone, layers, finetune, corr, eao, auc in SIAMRPNPP_TABLE1]
