"""ImageNet VID/DET annotation XML (PASCAL VOC style), shared by both adapters."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


class BadAnnotation(ValueError):
    pass


def parse(path: Path) -> list[dict]:
    """Objects of one annotation file: [{'name', 'trackid' (or None), 'box' [x, y, w, h]}].

    ImageNet gives xmin/ymin/xmax/ymax; as pysot does, the width is xmax - xmin.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise BadAnnotation(f"XML does not parse ({err})") from None
    objects = []
    for node in root.iter("object"):
        name, box = node.findtext("name"), node.find("bndbox")
        if not name or box is None:
            raise BadAnnotation("object without name or bndbox")
        try:
            x0, y0, x1, y1 = (float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))
        except (TypeError, ValueError):
            raise BadAnnotation("bndbox with a missing or non-numeric coordinate") from None
        objects.append({"name": name.strip(), "trackid": node.findtext("trackid"),
                        "box": (x0, y0, x1 - x0, y1 - y0)})
    return objects
