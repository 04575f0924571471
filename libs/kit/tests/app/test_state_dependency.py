from types import SimpleNamespace
from typing import Any

import pytest

from spotilike.kit.app import state_dependency

pytestmark = pytest.mark.unit


def request_with(**state: Any) -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(**state)))


async def test_gives_what_the_composition_root_set_and_names_a_wiring_mistake() -> None:
    dependency = state_dependency("runtime", dict)
    runtime = {"ready": True}
    assert await dependency(request_with(runtime=runtime)) is runtime
    with pytest.raises(TypeError, match=r"app\.state\.runtime is not a dict"):
        await dependency(request_with())
    with pytest.raises(TypeError, match=r"app\.state\.runtime is not a dict"):
        await dependency(request_with(runtime="a string"))
