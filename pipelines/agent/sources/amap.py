"""`--pois amap[:BASE_URL]`: Amap's (高德) Web service API, with the key in $AMAP_KEY.

Geocoding is v3 `/v3/geocode/geo`; the nearby search is place search 2.0 `/v5/place/around` (restaurants only,
type 050000, nearest first, one page of 25, `show_fields=business` for the price and rating) and details are
`/v5/place/detail`. Responses of v3's shape are read too (`biz_ext` instead of `business`, `[]` for an empty
field). Coordinates are GCJ-02, Amap's own.

Every request waits its turn under a rate limit (requests per second, shared by the agent's threads), has a
timeout, and is retried with doubling backoff on a timeout, a dropped connection, HTTP 429/5xx, or Amap's
"too frequent" and "busy" codes. A refused or exhausted key stops the run (`SourceUnavailable`); any other Amap
error (a bad parameter) is the tool's error, which the agent sees and may correct. The key travels in the query
string, so it never appears in a message, and httpx's request log (which prints URLs) is kept at WARNING.
"""

import logging
import os
import re
import threading
import time
from dataclasses import dataclass

import httpx

from pipelines.agent.pois import Found, Place, Poi, SourceUnavailable
from pipelines.core.errors import DomaintuneError
from pipelines.core.registry import register_poi_source
from pipelines.restaurant.generate import haversine_m

BASE_URL = "https://restapi.amap.com"
KEY_ENV = "AMAP_KEY"
RESTAURANTS = "050000"  # Amap's POI type code 餐饮服务: every kind of restaurant
PAGE = 25  # the most place search 2.0 returns per page
MAX_RADIUS_M = 50_000  # /v5/place/around's limit
# infocodes worth another try: 10004 ACCESS_TOO_FREQUENT, 10014 QPS_HAS_EXCEEDED_THE_LIMIT, 10015
# GATEWAY_TIMEOUT, 10016 SERVER_IS_BUSY, 10019-10021 the per-second quotas (CUQPS, CKQPS, CQPS).
RETRIED = {"10004", "10014", "10015", "10016", "10019", "10020", "10021"}
# Other 100xx codes concern the key or its quota (10001 INVALID_USER_KEY, 10003 DAILY_QUERY_OVER_LIMIT, ...):
# every later request would fail the same way.
KEY_PROBLEM = re.compile(r"100\d\d")
BRANCH_ALIAS = re.compile(r"(.+)\((.+)\)")  # 四川菜(川菜): the short name in parentheses is what users write


@dataclass(frozen=True)
class AmapConfig:
    base_url: str = BASE_URL
    qps: float = 3.0  # a personal key's limit on place search
    timeout_s: float = 10.0  # per attempt
    retries: int = 3
    backoff_s: float = 0.5  # first wait; doubles each retry


class AmapRequestError(ValueError):
    """Amap refused this one request (a bad parameter): the agent sees it as the tool's error."""


class RateLimit:
    """Request starts at least 1/qps seconds apart, across threads."""

    def __init__(self, qps: float):
        self.interval = 1.0 / qps
        self.next_start = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        time.sleep(max(0.0, start - now))


class AmapClient:
    def __init__(self, key: str, config: AmapConfig = AmapConfig()):
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self.key, self.config = key, config
        self.http = httpx.Client(base_url=config.base_url, timeout=config.timeout_s)
        self.limit = RateLimit(config.qps)

    def get(self, path: str, params: dict) -> dict:
        problem = ""
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(self.config.backoff_s * 2 ** (attempt - 1))
            self.limit.wait()
            try:
                response = self.http.get(path, params={**params, "key": self.key})
            except httpx.TimeoutException:
                problem = f"timed out after {self.config.timeout_s:g} s"
                continue
            except httpx.TransportError as exc:
                problem = f"connection failed ({type(exc).__name__})"
                continue
            if response.status_code == 429 or response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                continue
            data = self._json(response)
            if data.get("status") == "1":
                return data
            code, info = str(data.get("infocode", "")), data.get("info", "")
            if code in RETRIED:
                problem = f"{info} (infocode {code})"
                continue
            if KEY_PROBLEM.fullmatch(code):
                raise SourceUnavailable(f"amap {self.config.base_url}: {info} (infocode {code}); check ${KEY_ENV}")
            raise AmapRequestError(f"amap refused {path}: {info} (infocode {code})")
        raise SourceUnavailable(f"amap {self.config.base_url}: {problem}, {self.config.retries} retries spent")

    def _json(self, response: httpx.Response) -> dict:
        if response.status_code != 200:
            raise SourceUnavailable(f"amap {self.config.base_url}: HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise SourceUnavailable(f"amap {self.config.base_url}: the answer is not a JSON object")
        return data


def text(value) -> str:
    return value.strip() if isinstance(value, str) else ""  # v3 writes [] for an empty field


def number(value) -> float | None:
    try:
        return float(text(value))
    except ValueError:
        return None


def point(value) -> tuple[float, float]:
    lng, lat = text(value).split(",")
    return float(lng), float(lat)


def cuisine_of(type_text: str) -> str:
    """餐饮服务;中餐厅;四川菜(川菜) -> 川菜; 餐饮服务;外国餐厅;日本料理 -> 日本料理 (the first of several types)."""
    last = type_text.split("|")[0].split(";")[-1].strip()
    alias = BRANCH_ALIAS.fullmatch(last)
    return alias.group(2) if alias else last


def parse_poi(raw: dict) -> tuple[Poi, float | None]:
    """The POI and the distance Amap reports (None when it reports none)."""
    try:
        lng, lat = point(raw["location"])
        business = raw.get("business") or raw.get("biz_ext") or {}
        business = business if isinstance(business, dict) else {}
        poi = Poi(text(raw["id"]), text(raw["name"]), lng, lat, text(raw.get("address")), cuisine_of(text(raw.get("type"))),
                  number(business.get("rating")), number(business.get("cost")))
    except (KeyError, ValueError, AttributeError) as exc:
        raise SourceUnavailable(f"amap: a POI without a usable {exc}: {str(raw)[:120]}") from None
    return poi, number(raw.get("distance"))


class AmapSource:
    def __init__(self, client: AmapClient):
        self.client = client
        self.description = f"amap {client.config.base_url}"

    def geocode(self, place: str) -> Place | None:
        geocodes = self.client.get("/v3/geocode/geo", {"address": place}).get("geocodes") or []
        if not geocodes:
            return None
        lng, lat = point(geocodes[0].get("location"))
        return Place(place, lng, lat, text(geocodes[0].get("city")))

    def around(self, lng: float, lat: float, radius_m: int, cuisine: str | None) -> list[Found]:
        params = {"location": f"{lng:.6f},{lat:.6f}", "radius": min(int(radius_m), MAX_RADIUS_M), "types": RESTAURANTS,
                  "sortrule": "distance", "page_size": PAGE, "page_num": 1, "show_fields": "business"}
        if cuisine:
            params["keywords"] = cuisine
        found = []
        for raw in self.client.get("/v5/place/around", params).get("pois") or []:
            poi, distance = parse_poi(raw)
            distance = round(distance if distance is not None else haversine_m(lng, lat, poi.lng, poi.lat))
            if distance <= radius_m:
                found.append(Found(poi, distance))
        return sorted(found, key=lambda f: (f.distance_m, f.poi.name))

    def details(self, poi_id: str) -> Poi | None:
        pois = self.client.get("/v5/place/detail", {"id": poi_id, "show_fields": "business"}).get("pois") or []
        return parse_poi(pois[0])[0] if pois else None

    def places(self) -> list[Place]:
        return []  # a web API cannot list where users stand: questions name their places (agent_questions.yaml)

    def cuisines(self) -> list[str]:
        return []


@register_poi_source("amap", example="amap  (or amap:BASE_URL; key in $AMAP_KEY)")
def open_amap(arg: str | None) -> AmapSource:
    key = os.environ.get(KEY_ENV)
    if not key:
        raise DomaintuneError(f"--pois amap needs an Amap Web service key in ${KEY_ENV}")
    return AmapSource(AmapClient(key, AmapConfig(base_url=arg or BASE_URL)))
