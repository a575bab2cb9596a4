"""The Amap client against a loopback server answering in Amap's documented shapes: parsing, retries, timeouts,
the rate limit, and errors that never show the key."""

import socket

import pytest

from pipelines.agent.pois import SourceUnavailable, open_source, search
from pipelines.agent.sources import amap
from pipelines.agent.sources.amap import (
    AmapClient,
    AmapConfig,
    AmapRequestError,
    AmapSource,
    cuisine_of,
    parse_poi,
)
from pipelines.core.errors import DomaintuneError

KEY = "test-amap-key-0123"


def source_for(amap, **config) -> AmapSource:
    settings = {"qps": 1000.0, "timeout_s": 0.5, "retries": 2, "backoff_s": 0.01, **config}
    return AmapSource(AmapClient(KEY, AmapConfig(base_url=amap.base_url, **settings)))


def test_geocode_search_and_details(fake_amap, table):
    source = source_for(fake_amap)
    place = source.geocode("北京市五道口")
    assert (place.lng, place.lat, place.city) == (116.338096, 39.99256, "北京")
    found = search(source, place.lng, place.lat, 1000, cuisine="川菜")
    expected = [f for f in table.around(place.lng, place.lat, 1000, "川菜")]
    assert [(f.poi.id, f.poi.name, f.poi.cuisine, f.poi.avg_price, f.poi.rating, f.distance_m) for f in found] == [
        (e.poi.id, e.poi.name, e.poi.cuisine, e.poi.avg_price, e.poi.rating, e.distance_m) for e in expected]
    _, path, query = fake_amap.hits[-1]
    assert path == "/v5/place/around" and query["keywords"] == "川菜" and query["types"] == "050000"
    assert query["location"] == "116.338096,39.992560" and query["radius"] == "1000" and query["show_fields"] == "business"
    assert source.details(found[0].poi.id).address == expected[0].poi.address
    assert source.details("B000NOPE") is None


def test_v3_shapes_and_types_are_read():
    raw = {"id": "B0FF", "name": "眉州东坡(中关村店)", "location": "116.319519,39.983179", "type": "餐饮服务;中餐厅;四川菜(川菜)",
           "address": [], "distance": "1450", "biz_ext": {"rating": "4.5", "cost": []}}
    poi, distance = parse_poi(raw)
    assert (poi.cuisine, poi.address, poi.rating, poi.avg_price, distance) == ("川菜", "", 4.5, None, 1450.0)
    assert cuisine_of("餐饮服务;外国餐厅;日本料理|餐饮服务;快餐厅;快餐厅") == "日本料理"
    with pytest.raises(SourceUnavailable, match="a POI without a usable 'location'"):
        parse_poi({"id": "x", "name": "y"})


@pytest.mark.parametrize("failures", [["10004"], [503], ["slow"], ["10019", 429]])
def test_passing_failures_are_retried(fake_amap, failures):
    fake_amap.failures = list(failures)
    assert source_for(fake_amap).geocode("北京市国贸").name == "北京市国贸"
    assert len(fake_amap.hits) == len(failures) + 1


def test_spent_retries_and_a_refused_key_stop_the_source(fake_amap):
    fake_amap.failures = [503] * 3
    with pytest.raises(SourceUnavailable, match=rf"amap {fake_amap.base_url}: HTTP 503, 2 retries spent"):
        source_for(fake_amap).geocode("北京市国贸")
    wrong = AmapSource(AmapClient("wrong-key-456", AmapConfig(base_url=fake_amap.base_url, qps=1000)))
    with pytest.raises(SourceUnavailable) as caught:
        wrong.geocode("北京市国贸")
    assert str(caught.value) == f"amap {fake_amap.base_url}: INVALID_USER_KEY (infocode 10001); check $AMAP_KEY"
    assert len(fake_amap.hits) == 3 + 1  # a refused key is not retried


def test_a_bad_parameter_is_the_tools_error(fake_amap):
    fake_amap.failures = ["20000"]
    with pytest.raises(AmapRequestError, match=r"amap refused /v3/geocode/geo: SCRIPTED \(infocode 20000\)"):
        source_for(fake_amap).geocode("北京市国贸")


def test_an_unreachable_server(fake_amap):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    source = AmapSource(AmapClient(KEY, AmapConfig(base_url=f"http://127.0.0.1:{port}", retries=1, backoff_s=0.01)))
    with pytest.raises(SourceUnavailable) as caught:
        source.geocode("北京市国贸")
    assert str(caught.value) == f"amap http://127.0.0.1:{port}: connection failed (ConnectError), 1 retries spent"
    assert KEY not in str(caught.value)


def test_request_starts_keep_the_rate_limit(monkeypatch):
    slept = []
    monkeypatch.setattr(amap.time, "monotonic", lambda: 100.0)  # five requests at the same instant
    monkeypatch.setattr(amap.time, "sleep", slept.append)
    limit = amap.RateLimit(qps=20.0)
    for _ in range(5):
        limit.wait()
    assert slept == pytest.approx([0.0, 0.05, 0.10, 0.15, 0.20])


def test_every_request_waits_its_turn(fake_amap, monkeypatch):
    waits = []
    source = source_for(fake_amap)
    monkeypatch.setattr(source.client.limit, "wait", lambda: waits.append(1))
    fake_amap.failures = [503]
    source.geocode("北京市国贸")
    assert len(waits) == len(fake_amap.hits) == 2  # the retry too


def test_the_key_comes_from_the_environment(monkeypatch, fake_amap):
    monkeypatch.delenv("AMAP_KEY", raising=False)
    with pytest.raises(DomaintuneError, match=r"--pois amap needs an Amap Web service key in \$AMAP_KEY"):
        open_source("amap")
    monkeypatch.setenv("AMAP_KEY", KEY)
    assert open_source(f"amap:{fake_amap.base_url}").geocode("五道口").city == "北京"
