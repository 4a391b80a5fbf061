"""The lessons that ship (app/lessons/data/*.toml), read and checked when the server starts."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .model import Lesson, LessonError, parse_lesson

DATA = Path(__file__).with_name("data")
MAX_FILE_BYTES = 256 * 1024


class Catalog:
    """Lessons by name, in the order of their files' names."""

    def __init__(self, lessons: list[Lesson]) -> None:
        self.lessons = {lesson.name: lesson for lesson in lessons}

    def get(self, name: str) -> Lesson | None:
        return self.lessons.get(name)

    def names(self) -> list[str]:
        return list(self.lessons)


def load(directory: Path = DATA, extra: Path | None = None) -> Catalog:
    """Every lesson file in `directory` (the package's), then in `extra` (LESSONS_DIR: a teacher's own); LessonError
    (file, step, field) on the first bad one, or for a name both have."""
    lessons: list[Lesson] = []
    for path in [*sorted(directory.glob("*.toml")), *(sorted(extra.glob("*.toml")) if extra else [])]:
        source = f"lessons/{path.name}" if path.parent == directory else str(path)
        if any(lesson.name == path.stem for lesson in lessons):
            raise LessonError(source, None, "", f"a lesson named {path.stem!r} is there already")
        raw = path.read_bytes()
        if len(raw) > MAX_FILE_BYTES:
            raise LessonError(source, None, "", f"the file is over {MAX_FILE_BYTES // 1024} KB")
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise LessonError(source, None, "", f"not valid TOML: {err}") from None
        lessons.append(parse_lesson(path.stem, data, source))
    return Catalog(lessons)
