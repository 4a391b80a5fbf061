"""Lessons: the blog's argument as steps a room walks through (docs/lessons.md).

A lesson is a TOML file in app/lessons/data/ (read with tomllib): an ordered list of steps, each with a title,
a short text, the settings it puts the explorer in, an optional question with its answer and why, and what to
look for. `catalog.load()` reads and checks them all when the server starts; a bad file stops it with the
file, the step and the field named.
"""

from .catalog import Catalog, load
from .model import Lesson, LessonError, Question, Step

__all__ = ["Catalog", "Lesson", "LessonError", "Question", "Step", "load"]
