"""The three tools as smolagents calls them: JSON for the model, every call and result in the recorder."""

import json

import pytest

from pipelines.agent.pois import LocalSource, Place, Poi, SourceUnavailable
from pipelines.agent.tools import Recorder, make_tools

SOURCE = LocalSource("t", [Place("北京市五道口", 116.0, 40.0, "北京")],
                     [Poi("a", "甲(一店)", 116.0, 40.001, "一号", "川菜", 4.2, 80), Poi("b", "乙(二店)", 116.0, 40.002, "二号", "粤菜", 4.8, None)])


def test_calls_and_results_are_recorded():
    recorder = Recorder()
    geocode, nearby, details = make_tools(SOURCE, recorder)
    assert json.loads(geocode(place="五道口", sanitize_inputs_outputs=True)) == {"found": True, "name": "北京市五道口", "lng": 116.0, "lat": 40.0, "city": "北京"}
    shown = json.loads(nearby(lng=116.0, lat=40.0, radius_m=500, max_price=100))
    assert shown == {"count": 1, "pois": [{"id": "a", "name": "甲(一店)", "address": "一号", "cuisine": "川菜", "rating": 4.2, "avg_price": 80, "distance_m": 111}]}
    assert json.loads(details(poi_id="zz")) == {"found": False, "id": "zz"}
    assert [(c["tool"], c["arguments"]) for c in recorder.calls] == [
        ("geocode", {"place": "五道口"}), ("search_nearby", {"lng": 116.0, "lat": 40.0, "radius_m": 500, "max_price": 100}),
        ("poi_details", {"poi_id": "zz"})]
    assert recorder.calls[1]["result"] == shown


def test_a_bad_argument_is_recorded_and_raised():
    recorder = Recorder()
    nearby = make_tools(SOURCE, recorder)[1]
    with pytest.raises(ValueError, match="sort must be one of"):
        nearby(lng=116.0, lat=40.0, radius_m=500, sort="stars")
    assert recorder.calls[0]["error"] == "sort must be one of distance, rating, price, not 'stars'" and recorder.fatal is None


def test_a_lost_source_is_fatal_and_stops_the_agent():
    class Lost(LocalSource):
        def geocode(self, place):
            raise SourceUnavailable("amap http://x: connection failed")

    stopped = []
    recorder = Recorder(on_fatal=lambda: stopped.append(True))
    with pytest.raises(SourceUnavailable):
        make_tools(Lost("lost", [], []), recorder)[0](place="国贸")
    assert str(recorder.fatal) == "amap http://x: connection failed" and stopped == [True]


def test_the_tools_declare_what_smolagents_sends():
    names = {tool.name: set(tool.inputs) for tool in make_tools(SOURCE, Recorder())}
    assert names == {"geocode": {"place"}, "poi_details": {"poi_id"},
                     "search_nearby": {"lng", "lat", "radius_m", "cuisine", "min_price", "max_price", "sort"}}
