"""The model card copies text from the run (name, description, metric names, arguments) as text: no
HTML or Markdown in it becomes markup."""
import re

import markdown

from gankit.runs.model_card import render_card

EVIL = "<script>alert(1)</script> <img src=x onerror=alert(2)> [click](javascript:alert(3)) ![t](http://x/t.png)"


def card_html(config: dict) -> str:
    return markdown.markdown(render_card(config), extensions=["tables", "fenced_code"])


def config_with(text: str) -> dict:
    return {"generator": {"name": "dcgan", "body": text}, "img_shape": [1, 28, 28], "num_classes": 0, "z_dim": 8,
            "weights": "ema", "trained": {"run": text, "step": 4, "checkpoint": "step-4"},
            "metrics": {text: {"value": 1.5, "step": 4}, "fd": {"value": text, "step": text}},
            "plugins": [{"component": text, "file": text}],
            "recipe": {"description": text + "\n```\n" + text, "data": {"name": text}}, "grid": {"seed": 0, "num": 4}}


def test_copied_text_becomes_no_markup():
    html = card_html(config_with(EVIL))
    tags = re.findall(r"<(\w+)([^>]*)>", html)
    assert not [t for t in tags if t[0] in ("script", "iframe")]
    assert not [t for t in tags if "onerror" in t[1] or "javascript" in t[1] or "x/t.png" in t[1]]
    assert [t for t in tags if t[0] == "img"] == [("img", ' alt="Samples of seed 0" src="samples.png" /')]
    assert [t for t in tags if t[0] == "a"] == []
    assert "alert(1)" in html and "onerror=alert(2)" in html  # shown, as text


def test_a_run_name_cannot_add_headings_or_break_the_tables():
    html = card_html(config_with("a | b\n# heading\n| x |"))
    assert html.count("<h1>") == 1 and "<h1>heading" not in html
    assert html.count("<table>") == 2  # the model's facts and the metrics, each whole


def test_the_metrics_table_names_each_metric_s_feature_space_and_counts():
    config = config_with("x")
    config["metrics"] = {"fd": {"value": 7.5, "step": 4, "label": "fd (lenet_mnist, 10k vs 10k)"},
                         "kid": {"value": 0.5, "step": 4}}  # a folder exported before metrics were named
    html = card_html(config)
    assert "<td>fd (lenet_mnist, 10k vs 10k)</td>\n<td>7.5</td>" in html and "<td>kid</td>\n<td>0.5</td>" in html
