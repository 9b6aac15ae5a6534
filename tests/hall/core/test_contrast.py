import pytest

from hall.core.contrast import contrast_ratio, relative_luminance


def test_black_on_white_is_21_and_symmetric() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#fff", "#000") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#777777") == pytest.approx(1.0)


def test_known_pairs_match_the_wcag_figures() -> None:
    # Reference figures from the WCAG formula: #767676 on white is the AA limit 4.54:1.
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#595959", "#ffffff") == pytest.approx(7.0, abs=0.01)
    assert relative_luminance("#ffffff") == pytest.approx(1.0)


def test_a_malformed_colour_is_refused() -> None:
    with pytest.raises(ValueError):
        contrast_ratio("#12345", "#ffffff")
