"""The ablation reports put the papers' tables beside their own (fraction and layers) and plot the papers'
values with the cells'."""
from pipeline import report
from pipeline.common import papers
from pipeline.config import grids
from pipeline.config.params import load_params
from tests.conftest import REPO


def test_the_layer_report_shows_siamrpnpp_table1_beside_its_cells(tmp_path):
    params = load_params(str(REPO / "params.yaml"))
    cells = [grids.Cell("layers", "L3+L4-dw-ft", "siamrpnpp_r50", [], {"layers": "3,4", "corr": "dw", "finetune": "true"}),
             grids.Cell("layers", "L3-up-frozen", "siamrpnpp_r50", [], {"layers": "3", "corr": "up", "finetune": "false"})]
    body = report.grid_body(params, "layers", cells, [], tmp_path / "layers.png", "layers")
    ours, published = body.split("Published, for reference: SiamRPN++ Table 1")
    assert ours.strip().splitlines()[2:] == ["| resnet50 | ✓ | ✓ |  | ✓ | DW | - | - |",
                                     "| resnet50 | ✓ |  |  |  | UP | - | - |"]  # no run yet: '-'
    assert "| resnet50 | ✓ | ✓ |  | ✓ | DW | 0.346 | 0.677 |" in published
    assert "| alexnet |  |  |  |  | UP | 0.332 | 0.658 |" in published and published.count("| resnet50 |") == 10
    assert (tmp_path / "layers.png").stat().st_size > 0
    # the plot's markers: a value where the paper has that cell, none where it has not
    assert papers.siamrpnpp_table1_auc((3, 4), True, "dw") == 0.677
    assert papers.siamrpnpp_table1_auc((3,), False, "up") is None


def test_siamfc_table3_gives_the_eao_of_each_share_it_lists():
    eao = {row[0]: row[5] for row in papers.siamfc_table3_rows()}
    assert [eao.get(p) for p in (2, 4, 8, 16, 32, 100)] == [0.168, 0.192, 0.193, 0.219, 0.234, 0.274]
    assert eao.get(50) is None


def test_the_fraction_trend_is_the_rank_correlation_and_the_gain_of_all_videos_over_the_fewest():
    params = load_params(str(REPO / "params.yaml"))
    rising = report.fraction_trend(params, [(100, 0.51), (2, 0.40), (8, 0.45), (4, 0.44)])
    assert "Spearman rank correlation 1.00; 100 % over 2 %: +0.110." in rising
    falling = report.fraction_trend(params, [(2, 0.5), (4, 0.4), (100, 0.3)])
    assert "Spearman rank correlation -1.00; 100 % over 2 %: -0.200." in falling
    assert report.fraction_trend(params, [(2, 0.5), (100, 0.6)]) == ""  # two cells make no trend
