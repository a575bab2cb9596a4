"""Report figures render Chinese with the CJK font the environment ships, whatever fonts the system has."""

import warnings

from matplotlib import font_manager

from evaluators.plots import plt, shipped_cjk_font


def test_chinese_labels_are_set_in_the_shipped_cjk_font():
    font = shipped_cjk_font()
    assert font is not None and font.name == "NotoSansCJKsc-Regular.otf"
    chosen = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]), fallback_to_default=False)
    assert chosen == str(font)
    fig, ax = plt.subplots()
    ax.set_title("陆家嘴 金融白领 通勤")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the font would be a warning
        fig.canvas.draw()
    plt.close(fig)
