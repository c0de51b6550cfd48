"""An erasure request reaches every key holding state, and the confirmation names the devices
erased with the user and the stores wiped."""
from __future__ import annotations

from udfs.avro_codec import registry
from udfs.controls import erase_devices, erasure_confirmation, fan_out_erasure

REQUEST = {"request_id": "r1", "user_id": "u1", "anonymous_ids": ["a1", "a2"], "requested_at": 7, "reason": None}


def test_an_erasure_reaches_the_user_and_each_device() -> None:
    assert [k for _, k, _ in fan_out_erasure(("erase", "u1", REQUEST))] == ["a1", "a2", "u1"]
    assert [k for _, k, _ in erase_devices(("erase", "u1", REQUEST))] == ["a1", "a2"]
    consent = ("consent", "u1", {"user_id": "u1"})
    assert list(fan_out_erasure(consent)) == [consent] and list(erase_devices(consent)) == []


def test_the_confirmation_names_the_devices_and_only_the_stores_wiped() -> None:
    done = registry().decode(erasure_confirmation(REQUEST, ["flink_state", "timers"], 99), "erasure_confirmation")
    assert done == {"request_id": "r1", "user_id": "u1", "anonymous_ids": ["a1", "a2"],
                    "stores": ["flink_state", "timers"], "completed_at": 99}
    without = registry().decode(erasure_confirmation({**REQUEST, "anonymous_ids": []}, [], 1), "erasure_confirmation")
    assert without["anonymous_ids"] == []
