"""GOT-10k validation: val/GOT-10k_Val_<n>/00000001.jpg, groundtruth.txt, absence.label, cover.label,
meta_info.ini, and val/list.txt."""
from __future__ import annotations

import configparser
import io

import numpy as np

from pipeline.world.sequence import Sequence, render_sequence, write_list
from pipeline.world.writer import World

BENCHMARK = "synth-got10k"


def _meta_info(seq: Sequence, index: int, width: int, height: int) -> str:
    meta = configparser.ConfigParser()
    meta["METAINFO"] = {"url": f"synthetic://{BENCHMARK}/{index}", "begin": "00:00:00",
                        "end": f"00:00:{len(seq.frames) // 10:02d}", "anno_fps": "10Hz",
                        "object_class": seq.target.category.name, "motion_class": "moving",
                        "major_class": "object", "root_class": "object", "motion_adverb": "smoothly",
                        "resolution": f"({width}, {height})"}
    buf = io.StringIO()
    meta.write(buf)
    return buf.getvalue()


def write_sequence(world: World, rng, index: int) -> str:
    p = world.params
    seq = render_sequence(world, rng)
    name = f"GOT-10k_Val_{index + 1:06d}"
    folder = f"benchmarks/{BENCHMARK}/val/{name}"
    world.write_frames(f"{folder}/{{:08d}}.jpg", seq.frames)
    world.write_lines(f"{folder}/groundtruth.txt", seq.groundtruth)
    absent = seq.target.visible < 0.05
    world.write_text(f"{folder}/absence.label", "".join(f"{int(a)}\n" for a in absent))
    # cover.label: the visible fraction in eighths, 0 (fully covered) to 8 (fully visible)
    world.write_text(f"{folder}/cover.label",
                     "".join(f"{int(np.floor(v * 8 + 1e-9))}\n" for v in seq.target.visible))
    world.write_text(f"{folder}/meta_info.ini", _meta_info(seq, index, p.image_width, p.image_height))
    return name


def write_sequence_list(world: World, names):
    write_list(world, f"benchmarks/{BENCHMARK}/val/list.txt", names)
