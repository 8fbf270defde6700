"""A fake Weaviate server at the wire level, for testing the Weaviate store without a real server.

As weaviate-client's own mock tests do, it stands up ``pytest-httpserver`` for the REST API (meta,
liveness, schema, tenants, and the GraphQL ``Aggregate`` count that clients use on servers < 1.29) and
an in-process gRPC server built from the servicer stubs shipped inside weaviate-client
(``weaviate.v1.Weaviate``: Search, BatchObjects, BatchDelete, Aggregate, and the
``grpc.health.v1.Health/Check`` the client pings). Both listen on free ports of 127.0.0.1.

Every request is recorded (REST: method, path, JSON body, headers; gRPC: method, decoded request
message, metadata), so tests assert on what the client really sent. The server also keeps state the way
Weaviate does (collections, tenants, objects with their named vectors) and answers with realistic
protobuf replies: filters (equal, not-equal, comparisons, and/or/not) are applied, ``fetch_objects`` pages
by UUID with ``after``, and hybrid search fuses a BM25 score over the requested properties with cosine
similarity to the sent vector by relative-score (or ranked) fusion, with Weaviate's defaults (word
tokens, English stopwords, k1 1.2, b 0.75). Faults and canned replies can be injected per call.
"""

from __future__ import annotations

import json
import logging
import math
import re
import struct
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from pytest_httpserver import HTTPServer
from weaviate.proto.v1 import (
    aggregate_pb2,
    base_pb2,
    base_search_pb2,
    batch_delete_pb2,
    batch_pb2,
    health_weaviate_pb2,
    properties_pb2,
    search_get_pb2,
    weaviate_pb2_grpc,
)
from werkzeug import Request, Response

DEFAULT_VERSION = "1.32.5"
CLASS_RE = re.compile(r"^[A-Z][_0-9A-Za-z]*$")
TENANT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
UNNAMED = ""
Filters = base_pb2.Filters


@dataclass
class RestCall:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class GrpcCall:
    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class StoredObject:
    uuid: str
    properties: dict[str, Any]
    vectors: dict[str, np.ndarray]


@dataclass
class _Fault:
    code: grpc.StatusCode
    message: str
    skip: int = 0


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# Weaviate's default BM25 stopword preset "en" (Lucene's English stop set).
STOPWORDS = frozenset(
    (  # noqa: SIM905 - a sentence reads better than 33 quoted words
        "a an and are as at be but by for if in into is it no not of on or such that the their then "
        "there these they this to was will with"
    ).split()
)


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _bm25_terms(text: str) -> list[str]:
    return [t for t in _tokens(text) if t not in STOPWORDS]


@dataclass
class FakeWeaviate:
    """Start with ``with FakeWeaviate() as wv:``; connect the store to ``wv.url`` and ``wv.grpc_port``."""

    version: str = DEFAULT_VERSION
    api_key: str | None = None
    rest_calls: list[RestCall] = field(default_factory=list)
    grpc_calls: list[GrpcCall] = field(default_factory=list)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    tenants: dict[str, dict[str, str]] = field(default_factory=dict)
    objects: dict[tuple[str, str], dict[str, StoredObject]] = field(default_factory=dict)
    grpc_healthy: bool = True

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._grpc_faults: dict[str, list[_Fault]] = {}
        self._rest_faults: list[tuple[str, str, int, str]] = []
        self._canned: dict[str, list[Message]] = {}
        self._initial = (self.version, self.api_key)
        self._http = HTTPServer(host="127.0.0.1", port=0, threaded=True)
        self._grpc: grpc.Server | None = None
        self.grpc_port = 0

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeWeaviate:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log line per request
        self._http.expect_request(re.compile(r"^/.*")).respond_with_handler(self._rest)
        self._http.start()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(_Servicer(self), server)
        health = grpc.unary_unary_rpc_method_handler(
            self._health,
            request_deserializer=health_weaviate_pb2.WeaviateHealthCheckRequest.FromString,
            response_serializer=health_weaviate_pb2.WeaviateHealthCheckResponse.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": health}),)
        )
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._grpc = server
        return self

    def stop(self) -> None:
        if self._grpc is not None:
            self._grpc.stop(grace=None)
            self._grpc = None
        if self._http.is_running():
            self._http.clear()
            self._http.stop()

    def __enter__(self) -> FakeWeaviate:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.port}"

    # ---- test controls -----------------------------------------------------------------------
    def fail_grpc(
        self,
        method: str,
        code: grpc.StatusCode = grpc.StatusCode.INTERNAL,
        message: str = "injected fault",
        *,
        skip: int = 0,
    ) -> None:
        """A call of ``method`` (``Search``, ``BatchObjects``, ...) fails with ``code``: the next one, or
        the one after ``skip`` more that are served normally."""
        with self._lock:
            self._grpc_faults.setdefault(method, []).append(_Fault(code, message, skip))

    def fail_rest(self, method: str, path: str, status: int = 500, message: str = "injected fault") -> None:
        """The next ``method`` request to ``path`` answers ``status``."""
        with self._lock:
            self._rest_faults.append((method, path, status, message))

    def reply_next(self, method: str, reply: Message) -> None:
        """The next call of ``method`` is recorded and answered with ``reply`` instead of the state."""
        with self._lock:
            self._canned.setdefault(method, []).append(reply)

    def grpc(self, method: str) -> list[Any]:
        """The decoded requests of every call of a gRPC method, oldest first."""
        with self._lock:
            return [c.request for c in self.grpc_calls if c.method == method]

    def rest(self, method: str, path_prefix: str = "/") -> list[RestCall]:
        with self._lock:
            return [c for c in self.rest_calls if c.method == method and c.path.startswith(path_prefix)]

    def reset(self) -> None:
        """Back to the server as started (no collections, calls, faults or canned replies, the initial
        version and key), still running: cheaper than a restart, which waits out the HTTP server's
        shutdown poll."""
        with self._lock:
            self.reset_calls()
            self.schemas.clear()
            self.tenants.clear()
            self.objects.clear()
            self._grpc_faults.clear()
            self._rest_faults.clear()
            self._canned.clear()
            self.version, self.api_key = self._initial
            self.grpc_healthy = True

    def reset_calls(self) -> None:
        with self._lock:
            self.rest_calls.clear()
            self.grpc_calls.clear()

    def stored(self, collection: str, tenant: str) -> dict[str, StoredObject]:
        with self._lock:
            return dict(self.objects.get((collection, tenant), {}))

    # ---- REST --------------------------------------------------------------------------------
    def _rest(self, request: Request) -> Response:
        body: Any = None
        raw = request.get_data()
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.rest_calls.append(RestCall(request.method, request.path, body, headers))
            for i, (method, path, status, message) in enumerate(self._rest_faults):
                if method == request.method and path == request.path:
                    del self._rest_faults[i]
                    return _json({"error": [{"message": message}]}, status)
            if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
                return _json({"code": 401, "message": "anonymous access not enabled"}, 401)
            return self._route(request.method, request.path, body)

    def _route(self, method: str, path: str, body: Any) -> Response:
        parts = [p for p in path.split("/") if p][1:]  # drop "v1"
        if method == "GET" and parts == ["meta"]:
            return _json({"hostname": "http://[::]:8080", "modules": {}, "version": self.version})
        if method in ("GET", "HEAD") and parts == [".well-known", "live"]:
            return Response(status=200)
        if method in ("GET", "HEAD") and parts == [".well-known", "ready"]:
            return Response(status=200)
        if parts == [".well-known", "openid-configuration"]:
            return _json({"error": [{"message": "OIDC not configured"}]}, 404)
        if parts == ["graphql"] and method == "POST":
            return self._graphql(str(body.get("query", "")))
        if parts == ["schema"] and method == "GET":
            return _json({"classes": list(self.schemas.values())})
        if parts == ["schema"] and method == "POST":
            return self._create_class(body)
        if len(parts) >= 2 and parts[0] == "schema":
            name = parts[1]
            schema = self.schemas.get(name)
            if len(parts) == 2 and method == "GET":
                return _json(schema) if schema else Response(status=404)
            if len(parts) == 2 and method == "DELETE":
                self.schemas.pop(name, None)
                self.tenants.pop(name, None)
                for key in [k for k in self.objects if k[0] == name]:
                    del self.objects[key]
                return Response(status=200)
            if schema is None:
                return _json({"error": [{"message": f"class {name!r} not found"}]}, 404)
            if parts[2:] == ["tenants"]:
                return self._tenants_rest(name, schema, method, body)
            if len(parts) == 4 and parts[2] == "tenants" and method in ("GET", "HEAD"):
                status = self.tenants.get(name, {}).get(parts[3])
                if status is None:
                    return Response(status=404)
                return _json({"name": parts[3], "activityStatus": status})
        return _json({"error": [{"message": f"no route {method} {path}"}]}, 404)

    def _graphql(self, query: str) -> Response:
        """Just what clients use on servers older than 1.29: ``Aggregate`` with ``meta{count}``."""
        m = re.fullmatch(r"\{Aggregate\{(\w+)(?:\(([^)]*)\))?\{meta\{count\}\}\}\}", query.replace(" ", ""))
        if m is None:
            return _json({"errors": [{"message": f"fake Weaviate: unsupported GraphQL {query}"}]})
        name, args = m.group(1), m.group(2) or ""
        tenant = re.search(r'tenant:"([^"]*)"', args)
        try:
            objs = self._objects_of(name, tenant.group(1) if tenant else "")
        except _Abort as e:
            return _json({"data": {"Aggregate": {name: None}}, "errors": [{"message": e.message}]})
        return _json({"data": {"Aggregate": {name: [{"meta": {"count": len(objs)}}]}}})

    def _create_class(self, body: dict[str, Any]) -> Response:
        name = body.get("class", "")
        if not CLASS_RE.fullmatch(name):
            return _json({"error": [{"message": f"'{name}' is not a valid class name"}]}, 422)
        if name in self.schemas:
            return _json({"error": [{"message": f"class name {name!r} already exists"}]}, 422)
        schema = {
            "invertedIndexConfig": {"bm25": {"b": 0.75, "k1": 1.2}},
            "multiTenancyConfig": {"enabled": False},
            "properties": [],
            **body,
        }
        self.schemas[name] = schema
        self.tenants[name] = {}
        return _json(schema)

    def _tenants_rest(self, name: str, schema: dict[str, Any], method: str, body: Any) -> Response:
        if not schema["multiTenancyConfig"].get("enabled"):
            return _json({"error": [{"message": f"multi-tenancy is not enabled for class {name!r}"}]}, 422)
        tenants = self.tenants[name]
        if method == "GET":
            return _json([{"name": t, "activityStatus": s} for t, s in tenants.items()])
        if method == "POST":
            for t in body:
                if not TENANT_RE.fullmatch(t.get("name", "")):
                    return _json({"error": [{"message": f"invalid tenant name {t.get('name')!r}"}]}, 422)
            for t in body:
                status = t.get("activityStatus") or "ACTIVE"
                tenants[t["name"]] = {"HOT": "ACTIVE", "COLD": "INACTIVE"}.get(status, status)
            return _json(body)
        return _json({"error": [{"message": "method not allowed"}]}, 405)

    # ---- gRPC --------------------------------------------------------------------------------
    def _health(
        self, request: Any, context: grpc.ServicerContext
    ) -> health_weaviate_pb2.WeaviateHealthCheckResponse:
        try:
            self._record("Health/Check", request, context, authenticate=False)  # open, as on Weaviate
        except _Abort as e:
            context.abort(e.code, e.message)
        status = (
            health_weaviate_pb2.WeaviateHealthCheckResponse.SERVING
            if self.grpc_healthy
            else health_weaviate_pb2.WeaviateHealthCheckResponse.NOT_SERVING
        )
        return health_weaviate_pb2.WeaviateHealthCheckResponse(status=status)

    def _record(
        self, method: str, request: Message, context: grpc.ServicerContext, *, authenticate: bool = True
    ) -> None:
        copy = type(request)()
        copy.CopyFrom(request)
        metadata = {k: str(v) for k, v in context.invocation_metadata()}
        with self._lock:
            self.grpc_calls.append(GrpcCall(method, copy, metadata))
            faults = self._grpc_faults.get(method)
            fault = None
            if faults:
                if faults[0].skip:
                    faults[0].skip -= 1
                else:
                    fault = faults.pop(0)
        if fault is not None:
            raise _Abort(fault.code, fault.message)
        if (
            authenticate
            and self.api_key is not None
            and metadata.get("authorization") != f"Bearer {self.api_key}"
        ):
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "anonymous access not enabled")

    def _objects_of(
        self, collection: str, tenant: str, *, create_tenant: bool = False
    ) -> dict[str, StoredObject]:
        schema = self.schemas.get(collection)
        if schema is None:
            raise _Abort(grpc.StatusCode.UNKNOWN, f"could not find class {collection} in schema")
        if schema["multiTenancyConfig"].get("enabled"):
            if not tenant:
                raise _Abort(
                    grpc.StatusCode.UNKNOWN,
                    f"class {collection} has multi-tenancy enabled, but request was without tenant",
                )
            if tenant not in self.tenants[collection]:
                if not (create_tenant and schema["multiTenancyConfig"].get("autoTenantCreation")):
                    raise _Abort(grpc.StatusCode.UNKNOWN, f'tenant not found: "{tenant}"')
                self.tenants[collection][tenant] = "ACTIVE"
        elif tenant:
            raise _Abort(
                grpc.StatusCode.UNKNOWN,
                f"class {collection} has multi-tenancy disabled, but request was with tenant",
            )
        return self.objects.setdefault((collection, tenant), {})

    def _prop_types(self, collection: str) -> dict[str, str]:
        return {p["name"]: p["dataType"][0] for p in self.schemas[collection].get("properties", [])}

    def batch_objects(self, request: Any) -> batch_pb2.BatchObjectsReply:
        errors = []
        for i, obj in enumerate(request.objects):
            try:
                store = self._objects_of(obj.collection, obj.tenant, create_tenant=True)
            except _Abort as e:
                errors.append(batch_pb2.BatchObjectsReply.BatchError(index=i, error=e.message))
                continue
            types = self._prop_types(obj.collection)
            props = MessageToDict(obj.properties.non_ref_properties)
            for name, value in props.items():
                if types.get(name) == "int" and isinstance(value, float):
                    props[name] = int(value)
            vectors: dict[str, np.ndarray] = {}
            if obj.vector_bytes:
                vectors[UNNAMED] = np.frombuffer(obj.vector_bytes, dtype="<f4").copy()
            for v in obj.vectors:
                vectors[v.name] = np.frombuffer(v.vector_bytes, dtype="<f4").copy()
            store[obj.uuid] = StoredObject(obj.uuid, props, vectors)
        return batch_pb2.BatchObjectsReply(took=0.001, errors=errors)

    def batch_delete(self, request: Any) -> batch_delete_pb2.BatchDeleteReply:
        store = self._objects_of(request.collection, request.tenant)
        matches = [u for u, o in store.items() if _matches(request.filters, o)]
        if not request.dry_run:
            for u in matches:
                del store[u]
        return batch_delete_pb2.BatchDeleteReply(
            took=0.001, failed=0, matches=len(matches), successful=len(matches)
        )

    def aggregate(self, request: Any) -> aggregate_pb2.AggregateReply:
        store = self._objects_of(request.collection, request.tenant)
        objs = [o for o in store.values() if not request.HasField("filters") or _matches(request.filters, o)]
        return aggregate_pb2.AggregateReply(
            took=0.001, single_result=aggregate_pb2.AggregateReply.Single(objects_count=len(objs))
        )

    def search(self, request: Any) -> search_get_pb2.SearchReply:
        store = self._objects_of(request.collection, request.tenant)
        objs = sorted(store.values(), key=lambda o: o.uuid)
        if request.HasField("filters"):
            objs = [o for o in objs if _matches(request.filters, o)]
        scores: dict[str, float] = {}
        if request.HasField("hybrid_search"):
            ranked = self._hybrid(request.collection, request.hybrid_search, objs)
            objs = [o for o, _ in ranked]
            scores = {o.uuid: s for o, s in ranked}
        elif request.after:
            objs = [o for o in objs if o.uuid > request.after]
        objs = objs[request.offset :]
        if request.limit:
            objs = objs[: request.limit]
        wanted = list(request.properties.non_ref_properties)
        if request.properties.return_all_nonref_properties:
            wanted = list(self._prop_types(request.collection))
        types = self._prop_types(request.collection)
        results = []
        for o in objs:
            fields = {
                name: _value(o.properties[name], types.get(name, "text"))
                for name in wanted
                if name in o.properties
            }
            # Weaviate >= 1.23 sends the id as 16 bytes (the client reads ``id_as_bytes``).
            meta = search_get_pb2.MetadataResult(id=o.uuid, id_as_bytes=uuid.UUID(o.uuid).bytes)
            if request.metadata.score and o.uuid in scores:
                meta.score = scores[o.uuid]
                meta.score_present = True
            results.append(
                search_get_pb2.SearchResult(
                    properties=search_get_pb2.PropertiesResult(
                        non_ref_props=properties_pb2.Properties(fields=fields),
                        target_collection=request.collection,
                    ),
                    metadata=meta,
                )
            )
        return search_get_pb2.SearchReply(took=0.001, results=results)

    def _hybrid(self, collection: str, h: Any, objs: list[StoredObject]) -> list[tuple[StoredObject, float]]:
        alpha = h.alpha_param if h.use_alpha_param else h.alpha
        target = h.targets.target_vectors[0] if h.targets.target_vectors else UNNAMED
        if h.vector_bytes:
            query_vec: np.ndarray | None = np.frombuffer(h.vector_bytes, dtype="<f4")
        elif h.vectors:
            query_vec = np.frombuffer(h.vectors[0].vector_bytes, dtype="<f4")
        else:
            query_vec = None
        vec_scores: dict[str, float] = {}
        if query_vec is not None:
            for o in objs:
                v = o.vectors.get(target)
                if v is None or len(v) != len(query_vec):
                    raise _Abort(
                        grpc.StatusCode.UNKNOWN,
                        f"vector search: object {o.uuid} has no vector {target!r} of length {len(query_vec)}",
                    )
                denom = float(np.linalg.norm(v) * np.linalg.norm(query_vec)) or 1.0
                vec_scores[o.uuid] = float(v @ query_vec) / denom
        types = self._prop_types(collection)
        props = list(h.properties) or [n for n, t in types.items() if t == "text"]
        kw_scores = _bm25(h.query, objs, props)
        by_id = {o.uuid: o for o in objs}
        if h.fusion_type == base_search_pb2.Hybrid.FusionType.FUSION_TYPE_RANKED:
            fused: dict[str, float] = {}
            for weight, scores in ((alpha, vec_scores), (1 - alpha, kw_scores)):
                for rank, uid in enumerate(sorted(scores, key=lambda u: (-scores[u], u))):
                    fused[uid] = fused.get(uid, 0.0) + weight / (60 + rank)
        else:  # relative score: min-max normalise each result set, then weight by alpha
            fused = {}
            for weight, scores in ((alpha, vec_scores), (1 - alpha, kw_scores)):
                if not scores:
                    continue
                lo, hi = min(scores.values()), max(scores.values())
                for uid, s in scores.items():
                    norm = (s - lo) / (hi - lo) if hi > lo else 1.0
                    fused[uid] = fused.get(uid, 0.0) + weight * norm
        order = sorted(fused, key=lambda u: (-fused[u], u))
        return [(by_id[u], fused[u]) for u in order]


class _Servicer(weaviate_pb2_grpc.WeaviateServicer):
    def __init__(self, fake: FakeWeaviate) -> None:
        self.fake = fake

    def _serve(
        self, method: str, request: Any, context: grpc.ServicerContext, fn: Callable[[Any], Any]
    ) -> Any:
        try:
            self.fake._record(method, request, context)
            with self.fake._lock:
                canned = self.fake._canned.get(method)
                if canned:
                    return canned.pop(0)
                return fn(request)
        except _Abort as e:
            context.abort(e.code, e.message)

    def Search(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve("Search", request, context, self.fake.search)

    def BatchObjects(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve("BatchObjects", request, context, self.fake.batch_objects)

    def BatchDelete(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve("BatchDelete", request, context, self.fake.batch_delete)

    def Aggregate(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve("Aggregate", request, context, self.fake.aggregate)


# ---- helpers -------------------------------------------------------------------------------------
def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


def _value(value: Any, data_type: str) -> properties_pb2.Value:
    if data_type == "int":
        return properties_pb2.Value(int_value=int(value))
    if data_type == "number":
        return properties_pb2.Value(number_value=float(value))
    if data_type == "boolean":
        return properties_pb2.Value(bool_value=bool(value))
    return properties_pb2.Value(text_value=str(value))


def _bm25(query: str, objs: list[StoredObject], props: list[str]) -> dict[str, float]:
    docs = {
        o.uuid: Counter(t for p in props for t in _bm25_terms(str(o.properties.get(p, "")))) for o in objs
    }
    if not docs:
        return {}
    avg = sum(sum(c.values()) for c in docs.values()) / len(docs) or 1.0
    out: dict[str, float] = {}
    for term in set(_bm25_terms(query)):
        df = sum(1 for c in docs.values() if term in c)
        if not df:
            continue
        idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
        for uid, tf in docs.items():
            f = tf.get(term, 0)
            if f:
                length = sum(tf.values())
                out[uid] = out.get(uid, 0.0) + idf * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * length / avg))
    return out


def filter_value(f: Any) -> Any:
    """The value a filter compares with (``value_text``, ``value_int``, ...)."""
    kind = f.WhichOneof("test_value")
    return getattr(f, kind) if kind else None


def filter_property(f: Any) -> str:
    return str(f.target.property) if f.HasField("target") else str(f.on[-1])


def _matches(f: Any, obj: StoredObject) -> bool:
    op = f.operator
    if op == Filters.OPERATOR_AND:
        return all(_matches(sub, obj) for sub in f.filters)
    if op == Filters.OPERATOR_OR:
        return any(_matches(sub, obj) for sub in f.filters)
    if op == Filters.OPERATOR_NOT:
        return not _matches(f.filters[0], obj)
    prop = filter_property(f)
    have = obj.uuid if prop == "_id" else obj.properties.get(prop)
    want = filter_value(f)
    if op == Filters.OPERATOR_IS_NULL:
        return (have is None) == bool(want)
    if have is None:
        return op == Filters.OPERATOR_NOT_EQUAL
    compare: dict[int, Callable[[Any, Any], bool]] = {
        Filters.OPERATOR_EQUAL: lambda a, b: a == b,
        Filters.OPERATOR_NOT_EQUAL: lambda a, b: a != b,
        Filters.OPERATOR_GREATER_THAN: lambda a, b: a > b,
        Filters.OPERATOR_GREATER_THAN_EQUAL: lambda a, b: a >= b,
        Filters.OPERATOR_LESS_THAN: lambda a, b: a < b,
        Filters.OPERATOR_LESS_THAN_EQUAL: lambda a, b: a <= b,
    }
    if op not in compare:
        raise _Abort(grpc.StatusCode.UNIMPLEMENTED, f"fake Weaviate: filter operator {op} not supported")
    return compare[op](have, want)


def unpack_vector(data: bytes) -> list[float]:
    """float32 little-endian bytes, as the client packs vectors, to a list."""
    return list(struct.unpack(f"<{len(data) // 4}f", data))
