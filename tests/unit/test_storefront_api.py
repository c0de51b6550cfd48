"""The recommendation API: personal items from Redis in one round trip, popular fallback,
degraded answers when Redis fails, and JSON errors for bad input."""
from __future__ import annotations

from tests.unit.test_storefront_kit import FakeRedis, client_for, run


def test_personal_recommendations_come_first_then_popular_fill_up() -> None:
    store = FakeRedis({"sp:recs:u_1": ["p2", "unknown-item", "p2"], "sp:hints:u_1": {"visitor": "returning"}})

    async def scenario() -> None:
        async with client_for(store) as client:
            resp = await client.get("/api/recs/u_1", params={"limit": "3"})
            body = await resp.json()
            assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
            assert body["source"] == "personal" and body["hints"] == {"visitor": "returning"}
            assert [i["product_id"] for i in body["items"]] == ["p2", "p1", "k1"]
            assert body["items"][0] == {"product_id": "p2", "name": "Apple Smartphone p2", "brand": "apple",
                                        "category": "electronics/smartphone", "price": 900.0, "url": "/p/p2"}
            assert "degraded" not in body

    run(scenario)
    assert store.calls == [["sp:recs:u_1", "sp:hints:u_1"]]  # one round trip for both


def test_unknown_user_or_unreadable_cache_gets_popular_items() -> None:
    store = FakeRedis({"sp:recs:u_2": {"not": "a list"}})

    async def scenario() -> None:
        async with client_for(store, recs_limit=2) as client:
            for user in ("never-seen", "u_2"):
                body = await (await client.get(f"/api/recs/{user}")).json()
                assert body["source"] == "popular" and body["hints"] == {} and body["user"] == user
                assert [i["product_id"] for i in body["items"]] == ["p1", "k1"]

    run(scenario)


def test_redis_down_or_slow_still_answers_with_popular_items_marked_degraded() -> None:
    async def scenario() -> None:
        for store in (FakeRedis(fail=True), FakeRedis(delay_s=1.0)):
            async with client_for(store, redis_timeout_s=0.05) as client:
                resp = await client.get("/api/recs/u_3")
                body = await resp.json()
                assert resp.status == 200 and body["degraded"] is True and body["source"] == "popular"
                hints = await client.get("/api/hints/u_3")
                assert hints.status == 200 and (await hints.json())["hints"] == {}

    run(scenario)


def test_bad_input_gets_json_400() -> None:
    async def scenario() -> None:
        async with client_for() as client:
            for path in ("/api/recs/bad%20user", "/api/recs/" + "x" * 129, "/api/recs/u_1?limit=0",
                         "/api/recs/u_1?limit=abc", "/api/recs/u_1?limit=51", "/api/hints/a%2Fb"):
                resp = await client.get(path)
                assert resp.status == 400, path
                assert "error" in await resp.json()

    run(scenario)


def test_hints_endpoint_reads_the_users_hints() -> None:
    store = FakeRedis({"sp:hints:u_4": {"banner": "category:electronics/smartphone"}})

    async def scenario() -> None:
        async with client_for(store) as client:
            body = await (await client.get("/api/hints/u_4")).json()
            assert body == {"user": "u_4", "hints": {"banner": "category:electronics/smartphone"}}

    run(scenario)
