"""Automated data labeling, as Ground Truth does it: a model labels what it is sure of, people the rest.

The engine (``AutoLabeler``) is pure: given the job's object ids, a feature matrix and the human
labels so far, a round trains a model, picks the confidence threshold on held-out human labels so
machine labels reach 95% accuracy, labels the objects above it, and names the least confident
ones for people. Features need nothing from the network (``image_features``, ``text_features``)
or come from your own model (``embedding_features``). Needs ``pip install gtwidgets[auto]``.
"""
from __future__ import annotations

from .engine import MIN_OBJECTS, AutoLabeler, Round, default_model, label_counters
from .features import (IMAGE_DESCRIPTOR_VERSION, FeatureCache, embedding_features, image_descriptor, image_features,
                       text_features)
from .simulate import Simulation, simulate
from .threshold import ACCURACY_TARGET, Threshold, choose_threshold, wilson_interval

__all__ = [
    "AutoLabeler", "Round", "default_model", "label_counters", "MIN_OBJECTS",
    "FeatureCache", "IMAGE_DESCRIPTOR_VERSION", "image_features", "image_descriptor", "text_features",
    "embedding_features",
    "choose_threshold", "wilson_interval", "Threshold", "ACCURACY_TARGET",
    "simulate", "Simulation",
]
