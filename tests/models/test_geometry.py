import math

import numpy as np
import pytest

from models.geometry import (box_in_crop, context_side, crop, crop_around_box, cxcywh_to_xywh, polygon_mask,
                             xywh_to_cxcywh)


def ramp(height=60, width=80):
    """An image whose value is a linear function of the pixel centre: bilinear sampling reproduces it."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([xx + 0.5, yy + 0.5, np.full_like(xx, 7)], axis=2)


def test_box_conversions_round_trip():
    box = (10.0, 20.0, 30.0, 40.0)
    assert xywh_to_cxcywh(box) == (25.0, 40.0, 30.0, 40.0)
    assert cxcywh_to_xywh(xywh_to_cxcywh(box)) == box


def test_context_side_by_hand():
    # w = 40, h = 20: p = 0.5 * 60 = 30, s_z = sqrt(70 * 50)
    assert context_side(40, 20) == pytest.approx(math.sqrt(3500))


def test_unit_scale_aligned_crop_is_the_image_slice():
    image = np.random.default_rng(0).integers(0, 255, (50, 60, 3), dtype=np.uint8)
    out = crop(image, (30.0, 25.0), 20, 20)  # region [20, 40) x [15, 35)
    assert np.array_equal(out, image[15:35, 20:40])


def test_half_pixel_shift_averages_neighbours():
    image = np.zeros((10, 10, 1), np.float32)
    image[:, 5] = 1.0
    out = crop(image, (6.5, 5.0), 4, 4)  # region [4.5, 8.5): output centres sample u = 5, 6, 7, 8
    # u = 5 lies halfway between the centres of pixels 4 and 5, u = 6 between pixels 5 and 6
    assert out[2, :].tolist() == pytest.approx([0.5, 0.5, 0.0, 0.0])


def test_scaled_crop_samples_the_mapped_centres():
    image = ramp()
    centre, side, size = (33.3, 27.9), 24.0, 16
    out = crop(image, centre, side, size)
    scale = side / size
    expected_x = centre[0] - side / 2 + (np.arange(size) + 0.5) * scale
    expected_y = centre[1] - side / 2 + (np.arange(size) + 0.5) * scale
    assert out[0, :, 0] == pytest.approx(expected_x, abs=1e-3)
    assert out[:, 0, 1] == pytest.approx(expected_y, abs=1e-3)


def test_outside_the_image_is_the_mean_colour():
    image = np.zeros((20, 20, 3), np.uint8)
    image[:10] = (200, 100, 50)
    out = crop(image, (0.0, 0.0), 20, 20)  # the top-left quadrant lies outside
    assert out[0, 0].tolist() == [100, 50, 25]
    assert out[15, 15].tolist() == [200, 100, 50]


def test_exemplar_and_search_crops_place_the_target_at_the_centre():
    image = ramp(300, 400).astype(np.float32)
    box = (100.0, 80.0, 40.0, 20.0)
    s_z = context_side(40, 20)
    for size in (127, 255, 511):
        out, target = crop_around_box(image, box, size)
        assert out.shape[:2] == (size, size)
        # The exemplar region s_z becomes 127 px, whatever the crop size.
        assert target[2] == pytest.approx(40 * 127 / s_z) and target[3] == pytest.approx(20 * 127 / s_z)
        assert target[0] + target[2] / 2 == pytest.approx(size / 2)
        assert target[1] + target[3] / 2 == pytest.approx(size / 2)
    out, _ = crop_around_box(image, box, 127)
    # The centre pixel of the crop samples the centre of the box (120, 90) on the ramp.
    assert out[63, 63, 0] == pytest.approx(120.0, abs=1e-2) and out[63, 63, 1] == pytest.approx(90.0, abs=1e-2)


def test_box_in_crop_maps_corners():
    assert box_in_crop((10, 10, 20, 20), (20.0, 20.0), 40, 80) == (20.0, 20.0, 40.0, 40.0)


def test_polygon_mask_covers_the_polygon_in_crop_coordinates():
    # A 10 x 10 square at (10, 10) in the image; the crop doubles the scale and starts at (5, 5).
    square = np.array([[10, 10], [20, 10], [20, 20], [10, 20]], float)
    mask = polygon_mask([square], (21.0, 21.0), 32, 64)
    expected = np.zeros((64, 64), bool)
    expected[10:30, 10:30] = True  # (10 - 5) * 2 = 10 to (20 - 5) * 2 = 30
    assert set(np.unique(mask)) == {0, 255}
    inter, union = (expected & (mask > 0)).sum(), (expected | (mask > 0)).sum()
    assert inter / union > 0.9 and (mask[expected] == 255).mean() > 0.95
    # Two parts make one mask; a part outside the crop adds nothing.
    far = square + 1000
    assert (polygon_mask([square, far], (21.0, 21.0), 32, 64) == mask).all()
