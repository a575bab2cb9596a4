"""Loopback stand-ins for the two network services the map agent talks to, over real HTTP on 127.0.0.1.

`ScriptedLLM` is an OpenAI-compatible chat endpoint that plays a map agent: it reads the conversation
smolagents sends (the task, then each tool result as an "Observation:"), and answers with real tool calls,
geocode -> search_nearby -> poi_details -> final_answer, recommending like the shipped generator (taste and
budget first, then rating and distance) but within the budget, unless nothing nearby is: then it names places
outside it, and the answer is rejected.
It is deterministic in the question's text, whatever order concurrent questions arrive in. `hallucinate`
picks questions whose answer adds a restaurant that no tool returned.

`FakeAmap` answers Amap's v3 geocode and v5 place search (around, detail) in Amap's documented shapes (every
value a string, `business.cost`/`business.rating`), from the shipped POI table, and can be told to fail.

Run as a script to serve the scripted endpoint for a manual `domaintune agent-data` run (its port is
printed; with N, every question whose text hashes to 0 mod N gets a made-up restaurant):
    python -m tests.pipelines.agent.conftest [N]   (from the repository's root)
"""

import json
import re
import sys
import threading
import time
import zlib
from collections import Counter
from urllib.parse import parse_qs, urlparse

import pytest

from pipelines.agent.pois import LocalSource, open_source
from tests.loopback import InFlight, JSONHandler, Loopback

USAGE = {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050}  # per model call
PHANTOM = "不存在的小馆(测试店)"


def text_of(message: dict) -> str:
    content = message.get("content") or ""
    return content if isinstance(content, str) else "\n".join(block.get("text", "") for block in content)


class ScriptedLLM(Loopback):
    def __init__(self, source: LocalSource, hallucinate=lambda question: False, delay_s: float = 0.0):
        self.places = [place.name for place in source.places()]
        self.cuisines = source.cuisines()
        self.hallucinate, self.delay_s = hallucinate, delay_s
        self.lock = threading.Lock()
        self.asked: Counter = Counter()  # question -> model calls for it
        self.auth: set[str] = set()
        self.fail_with: int | None = None  # an HTTP status chat calls answer with ...
        self.fail_after = 0  # ... once this many have been answered
        self.calls = 0
        self.in_flight = InFlight()
        self.start(self.handler())
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    # -- the agent's policy ------------------------------------------------------------------------------
    def question_of(self, messages: list[dict]) -> str:
        for message in messages:
            found = re.search(r"New task:\n(.+)", text_of(message))
            if found:
                return found.group(1).strip()
        raise AssertionError("no task in the conversation")

    @staticmethod
    def observations(messages: list[dict]) -> list[dict]:
        found = []
        for message in messages:
            text = text_of(message)
            for match in re.finditer(r"Observation:\n", text):
                try:
                    found.append(json.JSONDecoder().raw_decode(text, match.end())[0])
                except ValueError:
                    found.append({"error": text[match.end():match.end() + 80]})
        return found

    def wants(self, question: str) -> dict:
        budget = re.search(r"人均(\d+)-(\d+)元", question) or re.search(r"人均()(\d+)元以内", question)
        radius = re.search(r"(\d)公里以内", question)
        return {
            "location": next(p for p in self.places if p in question),
            "budget": (int(budget.group(1) or 0), int(budget.group(2))),
            "radius_m": int(radius.group(1)) * 1000 if radius else 2000,
            "cuisines": [c for c in self.cuisines if c in question],
        }

    def choose(self, pois: list[dict], wants: dict) -> list[dict]:
        low, high = wants["budget"]

        def rank(poi):
            tasty = poi["cuisine"] in wants["cuisines"]
            affordable = low <= poi["avg_price"] <= high
            return (not (tasty and affordable), not tasty, not affordable, -poi["rating"], poi["distance_m"])

        ranked = sorted(pois, key=rank)
        affordable = [p for p in ranked if low <= p["avg_price"] <= high]
        return (affordable or ranked)[:3]  # out of budget only when nothing is in it: that answer is rejected

    def next_action(self, messages: list[dict]) -> tuple[str, dict]:
        question = self.question_of(messages)
        wants, seen = self.wants(question), self.observations(messages)
        if not seen:
            return "geocode", {"place": wants["location"]}
        last = seen[-1]
        if "lng" in last:
            return "search_nearby", {"lng": last["lng"], "lat": last["lat"], "radius_m": wants["radius_m"]}
        search = next(o for o in reversed(seen) if "pois" in o)
        chosen = self.choose(search["pois"], wants)
        if "pois" in last and chosen:
            return "poi_details", {"poi_id": chosen[0]["id"]}
        return "final_answer", {"answer": self.answer(chosen, question)}

    def answer(self, chosen: list[dict], question: str) -> str:
        items = [f"{n}. {p['name']} - 地址：{p['address']}，评分{p['rating']}，距离{p['distance_m']}米，人均{p['avg_price']}元，{p['cuisine']}"
                 for n, p in enumerate(chosen, start=1)]
        if self.hallucinate(question):
            items.append(f"{len(items) + 1}. {PHANTOM} - 距离100米，人均60元")
        if not items:
            return "抱歉，附近没有找到合适的餐厅，建议扩大搜索范围。"
        return f"为您推荐以下{len(items)}家餐厅：" + "；".join(items) + "。祝您用餐愉快！"

    # -- HTTP --------------------------------------------------------------------------------------------
    def completion(self, body: dict) -> dict:
        question = self.question_of(body["messages"])
        with self.lock:
            self.asked[question] += 1
            step = self.asked[question]
        name, arguments = self.next_action(body["messages"])
        call = {"id": f"call_{step}", "type": "function", "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}
        return {
            "id": f"chatcmpl-{step}", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "tool_calls": [call]}, "finish_reason": "tool_calls"}],
            "usage": USAGE,
        }

    def handler(self):
        llm = self

        class Handler(JSONHandler):
            def do_GET(self):
                llm.auth.add(self.headers.get("Authorization", ""))
                self.send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "tests"}]})

            def do_POST(self):
                body = self.read_json()
                with llm.lock:
                    llm.auth.add(self.headers.get("Authorization", ""))
                    llm.calls += 1
                    failing = llm.fail_with and llm.calls > llm.fail_after
                with llm.in_flight.answering():
                    time.sleep(llm.delay_s)
                    if failing:
                        self.send_json(llm.fail_with, {"error": {"message": "scripted failure", "type": "server_error"}})
                    else:
                        self.send_json(200, llm.completion(body))

        return Handler


class FakeAmap(Loopback):
    """Amap's Web service on loopback. `failures` is consumed one per request: an int is an HTTP status, a
    str an infocode answered with status "0", "slow" sleeps past the client's timeout."""

    def __init__(self, source: LocalSource, key: str):
        self.source, self.key = source, key
        self.failures: list = []
        self.hits: list[tuple[float, str, dict]] = []  # (monotonic time, path, query)
        self.lock = threading.Lock()
        self.slow_s = 1.0
        self.start(self.handler())
        self.base_url = f"http://127.0.0.1:{self.port}"

    @staticmethod
    def poi(poi, distance: int | None = None) -> dict:
        raw = {"name": poi.name, "id": poi.id, "location": f"{poi.lng:.6f},{poi.lat:.6f}",
               "type": f"餐饮服务;中餐厅;{poi.cuisine}", "typecode": "050100", "pname": "北京市", "cityname": "北京市",
               "adname": "海淀区", "address": poi.address, "pcode": "110000", "adcode": "110108", "citycode": "010",
               "business": {"cost": f"{poi.avg_price:.2f}", "rating": str(poi.rating), "tel": "010-12345678"}}
        if distance is not None:
            raw["distance"] = str(distance)
        return raw

    def answer(self, path: str, query: dict) -> dict:
        if query.get("key") != self.key:
            return {"status": "0", "info": "INVALID_USER_KEY", "infocode": "10001"}
        if path == "/v3/geocode/geo":
            place = self.source.geocode(query["address"])
            geocodes = [] if place is None else [{"formatted_address": place.name, "country": "中国", "province": place.city,
                                                  "city": place.city, "location": f"{place.lng:.6f},{place.lat:.6f}", "level": "兴趣点"}]
            return {"status": "1", "info": "OK", "infocode": "10000", "count": str(len(geocodes)), "geocodes": geocodes}
        if path == "/v5/place/around":
            lng, lat = map(float, query["location"].split(","))
            found = self.source.around(lng, lat, int(query["radius"]), query.get("keywords"))[: int(query.get("page_size", 10))]
            pois = [self.poi(f.poi, f.distance_m) for f in found]
            return {"status": "1", "info": "OK", "infocode": "10000", "count": str(len(pois)), "pois": pois}
        if path == "/v5/place/detail":
            poi = self.source.details(query["id"])
            pois = [] if poi is None else [self.poi(poi)]
            return {"status": "1", "info": "OK", "infocode": "10000", "count": str(len(pois)), "pois": pois}
        return {"status": "0", "info": "INVALID_PARAMS", "infocode": "20000"}

    def handler(self):
        amap = self

        class Handler(JSONHandler):
            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                with amap.lock:
                    amap.hits.append((time.monotonic(), url.path, query))
                    failure = amap.failures.pop(0) if amap.failures else None
                if failure == "slow":
                    time.sleep(amap.slow_s)
                    failure = None
                if isinstance(failure, int):
                    self.send_json(failure, {"error": "scripted"})
                elif isinstance(failure, str):
                    self.send_json(200, {"status": "0", "info": "SCRIPTED", "infocode": failure})
                else:
                    try:
                        self.send_json(200, amap.answer(url.path, query))
                    except (BrokenPipeError, ConnectionResetError):
                        pass

        return Handler


@pytest.fixture(scope="module")
def table() -> LocalSource:
    return open_source("table")


@pytest.fixture
def scripted_llm(table):
    llm = ScriptedLLM(table)
    yield llm
    llm.close()


@pytest.fixture
def fake_amap(table):
    amap = FakeAmap(table, key="test-amap-key-0123")
    yield amap
    amap.close()


if __name__ == "__main__":
    every = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    llm = ScriptedLLM(open_source("table"), hallucinate=lambda q: every > 0 and zlib.crc32(q.encode()) % every == 0)
    print(f"scripted endpoint: {llm.base_url}", flush=True)
    threading.Event().wait()
