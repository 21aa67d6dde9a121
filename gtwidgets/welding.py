"""The mixed-source welding job of AWS's industrial-labeling blog, built in.

The manifest's lines are ``{"source": ".../dataset/dataset-1.json"}``; each dataset JSON
points at a weld image and a sensor CSV (current, electrode position, voltage). The
pre-labeling handler below follows the blog's Lambda: it reads the dataset JSON and hands
the card its image and sensor data.
"""
from __future__ import annotations

import orjson

from . import storage
from .errors import JobError
from .panels import Image, Series

__all__ = ["WELDING_CATEGORIES", "WELDING_PANELS", "welding_prelabel", "welding_job"]

WELDING_CATEGORIES = ["Good Weld", "Burn Through", "Contamination", "Lack of Fusion",
                      "Lack of Shielding Gas", "High Travel Speed", "Not sure"]
SENSOR_COLUMNS = ["current", "electrode_position", "voltage"]
WELDING_PANELS = [Image("image", title="weld"),
                  Series("sensor_data", values=SENSOR_COLUMNS, title="sensors")]


def welding_prelabel(event: dict, context=None) -> dict:
    """Pre-annotation handler (Lambda contract): dataset JSON -> ``taskInput`` with image and sensor paths."""
    source = event["dataObject"].get("source") or event["dataObject"].get("source-ref")
    if not source:
        raise JobError('a welding manifest line needs "source": "<path of a dataset JSON>".')
    try:
        dataset = orjson.loads(storage.read_bytes(source))
        image, sensors = dataset["image"]["s3Path"], dataset["sensor_data"]["s3Path"]
    except orjson.JSONDecodeError:
        raise JobError(f"{source}: not a JSON dataset file.") from None
    except (KeyError, TypeError):
        raise JobError(f'{source}: needs {{"image": {{"s3Path": ...}}, "sensor_data": {{"s3Path": ...}}}}.') from None
    return {"taskInput": {"image": image, "sensor_data": sensors, "dataset": source},
            "isHumanAnnotationRequired": True}


def welding_job(name: str = "welding", *, input, output, **options):
    """A LabelingJob with the welding categories, pre-labeling handler and panels."""
    from .job import LabelingJob

    options.setdefault("categories", WELDING_CATEGORIES)
    options.setdefault("prelabel", welding_prelabel)
    options.setdefault("panels", WELDING_PANELS)
    options.setdefault("instructions", "Judge the weld from the image and the sensor traces; "
                                       "press the number of the defect class.")
    return LabelingJob(name, input=input, output=output, **options)
