"""ImageNet VID 2015 (train + val) and ImageNet DET 2015 (train): JPEGs, one XML annotation per image, and
the ImageSets lists, under ILSVRC2015/."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from pipeline.world.render import CATEGORIES, clip_categories, render_clip
from pipeline.world.writer import World


def _imagenet_xml(folder, filename, width, height, objects, database):
    """An ImageNet VID/DET annotation; objects are dicts of child elements (bndbox as a dict)."""
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = filename
    ET.SubElement(ET.SubElement(root, "source"), "database").text = database
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(width)
    ET.SubElement(size, "height").text = str(height)
    for obj in objects:
        node = ET.SubElement(root, "object")
        for key, value in obj.items():
            child = ET.SubElement(node, key)
            if isinstance(value, dict):
                for k, v in value.items():
                    ET.SubElement(child, k).text = str(v)
            else:
                child.text = str(value)
    ET.indent(root, "\t")
    return ET.tostring(root, encoding="unicode") + "\n"


def _bndbox(box):
    # ImageNet boxes: xmin/ymin/xmax/ymax; siamflow reads w = xmax - xmin (pysot does the same).
    x, y, w, h = box
    return {"xmin": x, "ymin": y, "xmax": x + w, "ymax": y + h}


def _write_snippet(world: World, rng, split: str, index: int):
    """One VID snippet; returns its path under Data/VID/<split>, its VID class indices and its frame count."""
    p = world.params
    cats = clip_categories(rng, 3)
    frames, tracks = render_clip(rng, p.vid_frames, p.image_width, p.image_height, cats,
                                 stay_in_view=rng.random() < 0.7, occluder=rng.random() < 0.5)
    if split == "train":
        group = index * 4 // max(p.vid_train_videos, 1)  # snippets spread over ILSVRC2015_VID_train_0000..0003
        snippet = f"ILSVRC2015_VID_train_{group:04d}/ILSVRC2015_train_{index:08d}"
    else:
        snippet = f"ILSVRC2015_val_{index:08d}"
    for t, frame in enumerate(frames):
        objects = []
        for trackid, track in enumerate(tracks):
            box = track.clipped(t, p.image_width, p.image_height)
            if box is None or track.visible[t] == 0:
                continue  # ImageNet VID annotates an object only in the frames where it is seen
            objects.append({"trackid": trackid, "name": track.category.wnid, "bndbox": _bndbox(box),
                            "occluded": int(track.visible[t] < 0.5), "generated": 0})
        name = f"{t:06d}"
        world.write_jpeg(f"ILSVRC2015/Data/VID/{split}/{snippet}/{name}.JPEG", frame)
        world.write_text(f"ILSVRC2015/Annotations/VID/{split}/{snippet}/{name}.xml",
                         _imagenet_xml(snippet, name, p.image_width, p.image_height, objects, "ILSVRC_2015"))
    return snippet, sorted({c.vid_index for c in cats}), len(frames)


def write_train_snippet(world: World, rng, index: int):
    return _write_snippet(world, rng, "train", index)


def write_val_snippet(world: World, rng, index: int):
    return _write_snippet(world, rng, "val", index)


def write_train_lists(world: World, snippets):
    """ImageSets/VID/train_<k>.txt: the snippets that show an object of VID class k, one file per class."""
    by_class = {}
    for snippet, vid_indices, _ in snippets:
        for k in vid_indices:
            by_class.setdefault(k, []).append(f"{snippet} 1")
    for k, lines in sorted(by_class.items()):
        world.write_lines(f"ILSVRC2015/ImageSets/VID/train_{k}.txt", lines)


def write_val_list(world: World, snippets):
    """ImageSets/VID/val.txt: every validation frame, numbered from 1."""
    lines = []
    for snippet, _, n_frames in snippets:
        lines += [f"{snippet}/{t:06d} {len(lines) + 1}" for t in range(n_frames)]
    world.write_lines("ILSVRC2015/ImageSets/VID/val.txt", lines)


def write_det_image(world: World, rng, index: int):
    """One DET image of 0-3 objects; returns its path under Data/DET/train without the extension."""
    p = world.params
    n_objects = 0 if rng.random() < 0.1 else int(rng.integers(1, 4))  # some DET images have no object
    cats = [CATEGORIES[i] for i in rng.integers(len(CATEGORIES), size=n_objects)]
    frames, tracks = render_clip(rng, 1, p.image_width, p.image_height, cats, pan=False, effects=False)
    if index % 2 == 0 and cats:  # DET's nested folders: ILSVRC2013_train/<wnid>/<wnid>_N and 2014's flat ones
        stem = f"ILSVRC2013_train/{cats[0].wnid}/{cats[0].wnid}_{index}"
    else:
        stem = f"ILSVRC2014_train_{index // 100:04d}/ILSVRC2014_train_{index:08d}"
    objects = [{"name": t.category.wnid, "bndbox": _bndbox(box)} for t in tracks
               if (box := t.clipped(0, p.image_width, p.image_height)) is not None and t.visible[0] > 0]
    world.write_jpeg(f"ILSVRC2015/Data/DET/train/{stem}.JPEG", frames[0])
    folder, filename = stem.rsplit("/", 1)
    world.write_text(f"ILSVRC2015/Annotations/DET/train/{stem}.xml",
                     _imagenet_xml(folder, filename, p.image_width, p.image_height, objects, "ILSVRC_2014"))
    return stem


def write_det_list(world: World, stems):
    """ImageSets/DET/train.txt: every image, numbered from 1."""
    world.write_lines("ILSVRC2015/ImageSets/DET/train.txt", [f"{stem} {i + 1}" for i, stem in enumerate(stems)])
