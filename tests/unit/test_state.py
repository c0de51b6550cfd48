"""UserState: lossless serialization, the 2 KB idle budget, schema evolution, identity merge."""
from __future__ import annotations

import pickle
import random

import pytest

from udfs.engine_config import DAY_MS, HOUR_MS, EngineConfig
from udfs.identity import merge
from udfs.journey import Journey
from udfs.replay import replay
from udfs.state import _NAMES, STATE_VERSION, CartLine, Consent, Session, UserState, id_hash
from udfs.triggers import TriggerEngine

T0 = 1_709_632_800_000  # 2024-03-05 10:00 UTC
CFG = EngineConfig(holdout_pct=0.0)
CATEGORIES = [f"home & garden/living room/{name}" for name in
              ("sofas", "armchairs", "coffee tables", "rugs", "lamps", "shelves", "cushions", "curtains",
               "tv stands", "side tables", "mirrors", "plants")]
IDLE_BUDGET = 2048


USER = "u_" + "3f" * 16


def busy_week(seed: int = 7) -> Journey:
    """Six sessions a day for a week: views, filters, cart adds, every other session a purchase."""
    rng = random.Random(seed)
    j = Journey(user_id=USER, anonymous_id="0f8fad5b-d9cb-469f-a165-70867728950e", start_ms=T0,
                personalization=True)
    for day in range(7):
        for session in range(6):
            j.session_id = f"s-{day}-{session}"
            for k in range(25):
                price = round(rng.uniform(5, 900), 2)
                j.view(f"SKU-{rng.randrange(10**8):08d}", rng.choice(CATEGORIES), price)
                if k % 8 == 0:
                    j.filter("color", rng.choice(["red", "blue", "oak", "walnut"]))
            for _ in range(3):
                j.add(f"SKU-{rng.randrange(10**8):08d}", rng.choice(CATEGORIES), 49.99)
            if session % 2:
                j.purchase(f"o-{day}-{session}")
            j.wait(hours=3)
        j.wait(hours=6)
    return j


def consent_for(user_id: str) -> dict:
    return {"user_id": user_id, "email": True, "push": True, "personalization": True, "analytics": True,
            "source": "cmp", "updated_at": T0 - 1}


def test_active_and_idle_states_round_trip_to_equal_objects() -> None:
    j = busy_week()
    mid = j.events[:-10]
    active = replay(mid, TriggerEngine(CFG), until_ms=mid[-1]["event_time"], roundtrip=False).state(USER)
    assert active is not None and active.session is not None and active.session.steps
    assert UserState.from_bytes(active.to_bytes()) == active
    idle = replay(j.events, TriggerEngine(CFG), roundtrip=False).state(USER)
    assert idle is not None and idle.session is None
    assert UserState.from_bytes(idle.to_bytes()) == idle


def test_serializing_after_every_call_changes_no_decision() -> None:
    j = busy_week(seed=11)
    stored = replay(j.events, TriggerEngine(CFG), consents=[consent_for(USER)], roundtrip=True)
    in_memory = replay(j.events, TriggerEngine(CFG), consents=[consent_for(USER)], roundtrip=False)
    assert stored.triggers and stored.triggers == in_memory.triggers
    assert stored.state(USER) == in_memory.state(USER)


def test_idle_user_after_a_busy_week_stays_under_2_kb() -> None:
    j = busy_week()
    profile = {"user_id": USER, "timezone": "America/Argentina/Buenos_Aires", "loyalty_tier": "gold",
               "updated_at": T0 - 1}
    out = replay(j.events, TriggerEngine(CFG), consents=[consent_for(USER)], profiles=[profile])
    state = out.state(USER)
    assert state is not None and state.session is None and state.timer is None
    assert len(state.visits) == CFG.max_visits and len(state.affinity) == CFG.affinity_top_k
    stored = out.states[USER]
    assert isinstance(stored, bytes) and len(stored) < IDLE_BUDGET


def full_idle_state(cfg: EngineConfig, cart_lines: int) -> UserState:
    """Every bounded collection at its bound, long strings everywhere, no open session."""
    rng = random.Random(3)
    t = T0 + 7 * DAY_MS
    return UserState(
        key="u_" + "a" * 32,
        cart=[CartLine(f"SKU-{i:010d}-{rng.random():.6f}", 2, 1234.56, CATEGORIES[i % 12])
              for i in range(cart_lines)],
        currency="EUR", abandon_fired=True, visits=[t - i * 5 * HOUR_MS for i in range(cfg.max_visits)],
        prev_end=t, last_purchase=t - 1,
        affinity={f"{c}/{rng.random():.12f}": rng.random() * 100 for c in CATEGORIES[:cfg.affinity_top_k]},
        affinity_at=t,
        views=[(id_hash(str(i)), t - i * 1000, rng.random() * 900) for i in range(cfg.max_views)],
        purchases=[(id_hash(str(i)), t - i) for i in range(cfg.max_views)],
        bought=[id_hash(f"b{i}") for i in range(cfg.max_bought)], rate=(40, 1.234567891234, 12.3456789123),
        last_fired={"abandoned_cart": t - 3, "repeated_browse_offer": t - 2, "ui_personalization": t - 1},
        cap_log=[t - i for i in range(cfg.frequency_cap)],
        offers={id_hash(str(i)): t - i for i in range(cfg.max_offers)},
        hints_sig="0123456789ab", timezone="America/Argentina/ComodRivadavia", loyalty_tier="platinum",
        consent=Consent(True, True, True, t), capture_personalization=True,
    )


@pytest.mark.parametrize("cart_lines", [0, 5, 20])
def test_worst_case_idle_user_stays_under_2_kb(cart_lines: int) -> None:
    state = full_idle_state(CFG, cart_lines)
    data = state.to_bytes()
    assert len(data) < IDLE_BUDGET
    assert UserState.from_bytes(data) == state


def test_stored_bytes_cannot_name_a_class() -> None:
    with pytest.raises(pickle.UnpicklingError):
        UserState.from_bytes(b"P" + pickle.dumps(UserState(key="x")))
    with pytest.raises(ValueError):
        UserState.from_bytes(b"?garbage")


def test_state_written_before_a_field_existed_decodes_with_its_default() -> None:
    state = UserState(key="u1", visits=[T0], timer=T0 + 5)
    values = [getattr(state, name) for name in _NAMES]
    older = pickle.dumps([STATE_VERSION, values[:-2]], protocol=5)  # as if erased_at did not exist yet
    restored = UserState.from_bytes(b"P" + older)
    assert restored.visits == [T0] and restored.timer == T0 + 5
    assert restored.erased_at is None and restored.clock_offset is None


def test_the_clock_offset_travels_with_the_state() -> None:
    state = UserState(key="u1", clock_offset=-86_400_000)
    assert UserState.from_bytes(state.to_bytes()).clock_offset == -86_400_000


def anon_session_with_cart() -> UserState:
    anon = UserState(key="anon-9", anonymous=True, capture_personalization=True)
    anon.session = Session("s1", T0, T0 + 60_000, counts={"product_view": 2, "add_to_cart": 1},
                           products=[id_hash("p1"), id_hash("p2")],
                           steps=[("p1", "product_view", T0, 20.0, "a"),
                                  ("p2", "add_to_cart", T0 + 60_000, 30.0, "a")])
    anon.cart = [CartLine("p2", 1, 30.0, "a"), CartLine("p3", 3, 5.0, "b")]
    anon.abandon_deadline = T0 + 60_000 + CFG.abandon_window_ms
    anon.affinity, anon.affinity_at = {"a": 4.0}, T0 + 60_000
    return anon


def test_merge_folds_the_anonymous_session_and_cart_into_the_user() -> None:
    user = UserState(key="u1", consent=Consent(True, False, True, T0), timezone="Europe/Berlin")
    user.session = Session("s1", T0 + 30_000, T0 + 90_000, counts={"product_view": 1},
                           products=[id_hash("p9")],
                           steps=[("p9", "product_view", T0 + 90_000, 9.0, "c")])
    user.cart = [CartLine("p2", 2, 30.0, "a")]
    user.affinity, user.affinity_at = {"a": 1.0, "c": 2.0}, T0 + 90_000
    anon = anon_session_with_cart()
    merged = merge(user, anon, CFG)
    assert merged.key == "u1" and not merged.anonymous and merged.timezone == "Europe/Berlin"
    assert merged.session is not None and merged.session.start == T0 and merged.session.last == T0 + 90_000
    assert merged.session.counts == {"product_view": 3, "add_to_cart": 1}
    assert [s[0] for s in merged.session.steps] == ["p1", "p2", "p9"]
    assert [(ln.product_id, ln.quantity) for ln in merged.cart] == [("p2", 2), ("p3", 3)]
    assert merged.abandon_deadline == anon.abandon_deadline
    half = 0.5 ** (30_000 / CFG.affinity_half_life_ms)
    assert merged.affinity["a"] == pytest.approx(1.0 + 4.0 * half) and merged.affinity["c"] == 2.0
    assert anon.cart[0].quantity == 1 and user.session.counts == {"product_view": 1}  # inputs untouched


def test_merge_keeps_the_later_session_when_they_are_a_gap_apart() -> None:
    user = UserState(key="u1")
    user.session = Session("old", T0 - 5 * HOUR_MS, T0 - 4 * HOUR_MS, counts={"page_view": 7})
    merged = merge(user, anon_session_with_cart(), CFG)
    assert merged.session is not None and merged.session.session_id == "s1"
    assert merged.session.counts == {"product_view": 2, "add_to_cart": 1}


def test_merge_into_an_erased_user_adds_nothing() -> None:
    tombstone = UserState(key="u1", erased_at=T0)
    assert merge(tombstone, anon_session_with_cart(), CFG) == tombstone
