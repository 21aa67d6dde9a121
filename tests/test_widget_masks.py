"""A segmentation job's widget, kernel side: the submit request's PNG comes as a batch buffer
(``answer_buffer``), and the card carries the mask to start from and smart fill's superpixels as
buffers of their own."""
from __future__ import annotations


import numpy as np
import pandas as pd
from PIL import Image

from gtwidgets import superpixels
from gtwidgets.job import LabelingJob
from gtwidgets.masks import color_map, decode_mask, encode_mask
from gtwidgets.widget import LabelingWidget
from test_widget import Browser  # tests/ is on sys.path

CATS = ["cat", "dog"]  # class values by sorted name: cat 1, dog 2


def _job(tmp_path):
    paths = []
    for i in range(2):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (40, 30), (10 * i, 90, 60)).save(p)
        paths.append(str(p))
    return LabelingJob("masks", input=pd.DataFrame({"source-ref": paths}), categories=CATS,
                       output=str(tmp_path / "out"), journal_dir=tmp_path / "journal",
                       task="semantic-segmentation", label_attribute="masks-ref")


def test_a_submitted_png_buffer_is_the_answer_and_the_card_sends_it_back(tmp_path):
    job = _job(tmp_path)
    browser = Browser(LabelingWidget(job))
    cmap = color_map(CATS)
    labels = np.zeros((30, 40), np.uint8)
    labels[5:10, 3:20] = 2
    png = encode_mask(labels, cmap)
    first = job.queue[0]
    browser.widget.handle({"type": "batch", "position": 0, "messages": [
        {"type": "skip", "id": job.queue[1]},
        {"type": "submit", "id": first, "answer": None, "spent": 2.0, "answer_buffer": 0}]}, [memoryview(png)])
    assert np.array_equal(job.answer_value(first).labels, labels)

    [(card, buffers)] = browser.ask({"type": "cards", "positions": [0]}, replies=1)
    mask = card["tool_meta"]["mask"]
    assert card["tool"] == "masks" and card["answer"] == ["dog"] and "buffers" not in card
    assert mask["buffer"] == 1 and len(buffers) == 3  # after the image; then the superpixels
    assert mask["colors"] == {"#1f77b4": 1, "#ff7f0e": 2}
    assert np.array_equal(decode_mask(bytes(buffers[1]), cmap), labels)
    sp = card["tool_meta"]["superpixels"]
    assert sp["buffer"] == 2
    assert np.array_equal(superpixels.decode(bytes(buffers[2]), sp["width"], sp["height"]),
                          superpixels.superpixels(bytes(buffers[0])))  # of the image the card shows

    [(card, buffers)] = browser.ask({"type": "cards", "positions": [1]}, replies=1)
    assert "mask" not in card["tool_meta"] and len(buffers) == 2  # nothing to start from
    assert card["tool_meta"]["superpixels"]["buffer"] == 1  # smart fill still has its regions

    errors = browser.ask({"type": "batch", "position": 0, "messages": [
        {"type": "submit", "id": first, "answer": None, "spent": 1.0, "answer_buffer": 3}]}, replies=1)
    assert errors[0][0]["type"] == "error" and "buffer 3" in errors[0][0]["message"]
    job.close()
