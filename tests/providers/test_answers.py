"""The one place a provider answer's shape is checked (providers.base.parse_answer)."""

from __future__ import annotations

import pytest

from providers.base import Answer, NonEmpty, WebUrl, parse_answer
from providers.errors import BadResponse


class _Sample(Answer):
    task_id: NonEmpty
    state: int
    url: WebUrl | None = None


def test_a_documented_answer_is_typed_and_extra_fields_are_ignored():
    answer = parse_answer(_Sample, {"task_id": "t1", "state": 2, "new_field": [1]}, "picwish")
    assert (answer.task_id, answer.state, answer.url) == ("t1", 2, None)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"state": 1}, "task_id"),  # missing
        ({"task_id": "", "state": 1}, "task_id"),  # empty id
        ({"task_id": "t1", "state": "1"}, "state"),  # a number sent as a string is not the document's
        ({"task_id": "t1", "state": 1, "url": "file:///etc/passwd"}, "url"),  # not a web link
        (["not", "an", "object"], "answer"),
        (None, "answer"),
    ],
)
def test_any_other_shape_is_the_bad_answer_error_naming_the_provider_and_field(body, where):
    with pytest.raises(BadResponse) as info:
        parse_answer(_Sample, body, "picwish")
    assert info.value.provider == "picwish" and info.value.code == BadResponse.code
    assert where in str(info.value) and info.value.data == body
