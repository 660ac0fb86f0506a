"""YouTube-BB detection: youtube_bb/yt_bb_detection_train.csv (no header row, as the real file) and the
frames in the layout of youtube-bb-utility, yt_bb_detection_train/<class>/<id>_<ms>_<class>_<object>.jpg."""
from __future__ import annotations

import csv
import io
import string

from pipeline.world.render import clip_categories, render_clip
from pipeline.world.writer import World


def _youtube_id(rng):
    alphabet = string.ascii_letters + string.digits + "-_"
    return "".join(alphabet[i] for i in rng.integers(len(alphabet), size=11))


def _norm(v):
    return float(f"{v:.6g}")


def write_video(world: World, rng, index: int):
    """One YouTube video, annotated at 1 frame per second; frames as youtube-bb-utility writes them."""
    p = world.params
    youtube_id = _youtube_id(rng)
    cats = clip_categories(rng, 2)
    frames, tracks = render_clip(rng, p.ytbb_timestamps, p.image_width, p.image_height, cats, speed=8.0,
                                 stay_in_view=False, occluder=rng.random() < 0.3)
    start_ms = int(rng.integers(0, 60)) * 1000
    rows = []
    object_ids = {}
    encoded = {}  # a frame is stored once per object that is present in it: encode it once
    for track in tracks:  # object ids count per class within a video
        object_id = object_ids[track.category.ytbb_id] = object_ids.get(track.category.ytbb_id, -1) + 1
        for t, frame in enumerate(frames):
            ts = start_ms + 1000 * t
            box = track.clipped(t, p.image_width, p.image_height)
            cls = track.category.ytbb_id
            if box is None or track.visible[t] == 0:
                rows.append([youtube_id, ts, cls, track.category.name, object_id, "absent", -1, -1, -1, -1])
                continue
            x, y, w, h = box
            rows.append([youtube_id, ts, cls, track.category.name, object_id, "present",
                         _norm(x / p.image_width), _norm((x + w) / p.image_width),
                         _norm(y / p.image_height), _norm((y + h) / p.image_height)])
            if t not in encoded:
                encoded[t] = world.encode(frame)
            world.write_bytes(f"youtube_bb/yt_bb_detection_train/{cls}/{youtube_id}_{ts}_{cls}_{object_id}.jpg",
                              encoded[t])
    return rows


def write_csv(world: World, videos_rows):
    """yt_bb_detection_train.csv: every video's rows, in video order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")  # the real file has no header row
    for rows in videos_rows:
        writer.writerows(rows)
    world.write_text("youtube_bb/yt_bb_detection_train.csv", buf.getvalue())
