"""The Weaviate store at the wire level: real weaviate-client, fake server (REST + gRPC) on free ports.

Weaviate cannot run on these machines, so (as weaviate-client's own mock tests do) the server side is
``tests.helpers.weaviate_mock.FakeWeaviate``: pytest-httpserver for REST and an in-process gRPC server
built from the servicer stubs inside weaviate-client. The tests assert on what the client puts on the
wire and on how the store maps the protobuf replies back. The store contract against a live server is
in ``test_store_contract.py`` (``WEAVIATE_URL``).
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from google.protobuf.json_format import MessageToDict
from weaviate.proto.v1 import base_pb2, base_search_pb2, batch_pb2, properties_pb2, search_get_pb2
from weaviate.util import generate_uuid5

from accel.stack import free_port
from services.retriever import weaviate_store
from services.retriever.ingest import ingest_path
from services.retriever.settings import RetrieverSettings
from services.retriever.store import EmbeddedStore
from services.retriever.stores import make_store
from services.retriever.weaviate_store import StoreUnavailable, WeaviateStore, collection_name
from shared.documents import Chunk
from shared.embeddings import Embedder, default_embedder
from shared.settings import DEFAULT_DOMAINS_DIR
from tests.helpers.weaviate_mock import FakeWeaviate, filter_property, filter_value, unpack_vector

pytestmark = pytest.mark.integration

COL = "AccelDomain_travel"
F = base_pb2.Filters
OPS = {
    F.OPERATOR_EQUAL: "==",
    F.OPERATOR_NOT_EQUAL: "!=",
    F.OPERATOR_GREATER_THAN_EQUAL: ">=",
    F.OPERATOR_AND: "and",
    F.OPERATOR_OR: "or",
}


def describe(f: Any) -> Any:
    """A filter message as a readable tuple: ("and", [("==", "doc_id", "a.md"), ...])."""
    if f.operator in (F.OPERATOR_AND, F.OPERATOR_OR):
        return (OPS[f.operator], [describe(sub) for sub in f.filters])
    return (OPS[f.operator], filter_property(f), filter_value(f))


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as fake:
        yield fake


@pytest.fixture
def wv(fake_server: FakeWeaviate) -> FakeWeaviate:
    fake_server.reset()
    return fake_server


@pytest.fixture
def store(wv: FakeWeaviate) -> Iterator[WeaviateStore]:
    with WeaviateStore(wv.url, grpc_port=wv.grpc_port, timeout_s=5) as s:
        yield s


def chunks_of(doc_id: str, title: str, *texts: str) -> list[Chunk]:
    return [Chunk(doc_id, title, i, t, f"kb/{doc_id}") for i, t in enumerate(texts)]


def put(
    store: WeaviateStore, embedder: Embedder, chunks: list[Chunk], h: str, tenant: str = "t1"
) -> np.ndarray:
    vectors = embedder.encode([f"{c.title}. {c.text}" for c in chunks])
    store.upsert_document(tenant, "travel", chunks[0].doc_id, h, chunks, vectors)
    return vectors


BAGS = chunks_of(
    "bags.md",
    "Baggage",
    "Economy tickets include one checked bag of up to 23 kg.",
    "Extra bags cost 50 EUR each.",
)
PETS = chunks_of("pets.md", "Pets", "Small dogs and cats may travel in the cabin in a carrier.")


def test_connect_checks_rest_and_grpc_liveness_without_phoning_out(
    wv: FakeWeaviate, store: WeaviateStore
) -> None:
    assert store.count("t1", "travel") == 0
    paths = [(c.method, c.path) for c in wv.rest_calls]
    assert paths[:2] == [("GET", "/v1/meta"), ("GET", "/v1/.well-known/live")]
    assert ("GET", "/v1/.well-known/openid-configuration") not in paths  # init checks are skipped...
    assert len(wv.grpc("Health/Check")) == 1  # ...but both protocols are proven live
    assert wv.rest_calls[0].headers["x-weaviate-client"].startswith("weaviate-client-python/")
    assert "authorization" not in wv.rest_calls[0].headers
    # Reading a domain that has no collection yet asks the schema and sends no gRPC query.
    assert ("GET", f"/v1/schema/{COL}") in paths
    assert wv.grpc("Aggregate") == [] and wv.schemas == {}


def test_first_write_creates_a_multi_tenant_collection_and_the_tenant(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    put(store, embedder, BAGS, "h1")
    [create] = wv.rest("POST", "/v1/schema")[:1]
    body = create.body
    assert create.path == "/v1/schema" and body["class"] == COL
    assert body["multiTenancyConfig"] == {
        "enabled": True,
        "autoTenantCreation": True,
        "autoTenantActivation": True,
    }
    assert body["vectorConfig"] == {
        "default": {
            "vectorizer": {"none": {}},
            "vectorIndexType": "hnsw",
            "vectorIndexConfig": {"distance": "cosine"},
        }
    }
    assert "vectorizer" not in body  # no server-side vectorizer: the vectors are ours
    props = {p["name"]: p for p in body["properties"]}
    assert {n: p["dataType"] for n, p in props.items()} == {
        "doc_id": ["text"],
        "title": ["text"],
        "chunk": ["int"],
        "text": ["text"],
        "source": ["text"],
        "content_hash": ["text"],
        "chunk_count": ["int"],
    }
    for exact in ("doc_id", "source", "content_hash"):  # whole-value filters, kept out of BM25
        assert props[exact]["tokenization"] == "field" and props[exact]["indexSearchable"] is False
    assert props["title"]["tokenization"] == props["text"]["tokenization"] == "word"
    [tenant] = wv.rest("POST", f"/v1/schema/{COL}/tenants")
    assert tenant.body == [{"name": "t1", "activityStatus": "HOT"}]
    assert wv.tenants[COL] == {"t1": "ACTIVE"}
    # Known collection and tenant are cached: the next write goes straight to gRPC.
    wv.reset_calls()
    put(store, embedder, PETS, "h2")
    assert wv.rest_calls == [] and [c.method for c in wv.grpc_calls] == ["BatchObjects", "BatchDelete"]
    # A new tenant of the same collection is created once, the collection is not.
    put(store, embedder, PETS, "h2", tenant="t2")
    assert [(c.method, c.path) for c in wv.rest_calls] == [
        ("HEAD", f"/v1/schema/{COL}/tenants/t2"),
        ("POST", f"/v1/schema/{COL}/tenants"),
    ]


def test_upsert_sends_one_batch_with_properties_vectors_tenant_and_stable_uuids(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    vectors = put(store, embedder, BAGS, "h1")
    [batch] = wv.grpc("BatchObjects")
    assert len(batch.objects) == 2
    for i, obj in enumerate(batch.objects):
        assert obj.collection == COL and obj.tenant == "t1"
        assert obj.uuid == str(generate_uuid5(f"t1/travel/bags.md/{i}"))
        assert MessageToDict(obj.properties.non_ref_properties) == {
            "doc_id": "bags.md",
            "title": "Baggage",
            "chunk": i,
            "text": BAGS[i].text,
            "source": "kb/bags.md",
            "content_hash": "h1",
            "chunk_count": 2,
        }
        [named] = obj.vectors
        assert named.name == "default" and not obj.vector_bytes
        assert np.allclose(unpack_vector(named.vector_bytes), vectors[i], atol=1e-7)
    # After the write, what is left of an older version of the document is pruned.
    [prune] = wv.grpc("BatchDelete")
    assert prune.collection == COL and prune.tenant == "t1" and not prune.dry_run
    assert describe(prune.filters) == (
        "and",
        [("==", "doc_id", "bags.md"), ("or", [("!=", "content_hash", "h1"), (">=", "chunk", 2)])],
    )


def test_reupsert_overwrites_in_place_and_prunes_the_old_chunks(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    put(store, embedder, BAGS, "h1")
    put(store, embedder, BAGS, "h1")  # idempotent: same UUIDs, nothing new
    assert len(wv.stored(COL, "t1")) == 2 and store.count("t1", "travel") == 2
    shorter = chunks_of("bags.md", "Baggage", "One checked bag of 20 kg is included.")
    put(store, embedder, shorter, "h2")
    stored = wv.stored(COL, "t1")
    assert list(stored) == [str(generate_uuid5("t1/travel/bags.md/0"))]
    assert next(iter(stored.values())).properties["text"] == shorter[0].text
    assert store.document_hashes("t1", "travel") == {"bags.md": "h2"}
    assert store.count("t1", "travel") == 1


def test_document_hashes_page_through_the_tenant_with_an_after_cursor(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weaviate_store, "PAGE_SIZE", 2)
    put(store, embedder, BAGS, "h1")
    put(store, embedder, PETS, "h2")
    put(
        store,
        embedder,
        chunks_of("meals.md", "Meals", "Hot meals on long flights.", "Snacks otherwise."),
        "h3",
    )
    wv.reset_calls()
    assert store.document_hashes("t1", "travel") == {"bags.md": "h1", "pets.md": "h2", "meals.md": "h3"}
    pages = wv.grpc("Search")
    assert len(pages) == 3  # 5 objects, pages of 2: 2 + 2 + 1
    ordered = sorted(wv.stored(COL, "t1"))
    assert [p.after for p in pages] == ["", ordered[1], ordered[3]]
    for p in pages:
        assert p.collection == COL and p.tenant == "t1" and p.limit == 2
        assert not p.HasField("hybrid_search")
        assert set(p.properties.non_ref_properties) == {"doc_id", "content_hash", "chunk_count", "source"}


def test_a_cut_short_upsert_is_reported_stale_so_ingest_redoes_it(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weaviate_store, "INSERT_BATCH", 1)  # one gRPC batch per chunk
    put(store, embedder, BAGS, "h1")
    three = chunks_of("bags.md", "Baggage", "New first.", "New second.", "New third.")
    # The first batch fails: nothing changed, the old version is intact.
    wv.fail_grpc("BatchObjects")
    with pytest.raises(StoreUnavailable, match=r"inserting chunks of 'bags\.md'"):
        put(store, embedder, three, "h2")
    assert store.document_hashes("t1", "travel") == {"bags.md": "h1"}
    # The second batch fails: chunk 0 is new, chunk 1 old: mixed hashes are not trusted.
    wv.fail_grpc("BatchObjects", skip=1)
    with pytest.raises(StoreUnavailable):
        put(store, embedder, three, "h2")
    assert store.document_hashes("t1", "travel") == {"bags.md": weaviate_store.STALE_HASH}
    # A new document cut short after 2 of its 3 chunks: one hash, but too few chunks.
    fresh = chunks_of("new.md", "New", "One.", "Two.", "Three.")
    wv.fail_grpc("BatchObjects", skip=2)
    with pytest.raises(StoreUnavailable):
        put(store, embedder, fresh, "h9")
    assert store.document_hashes("t1", "travel")["new.md"] == weaviate_store.STALE_HASH
    # Re-ingesting heals both.
    put(store, embedder, three, "h2")
    put(store, embedder, fresh, "h9")
    assert store.document_hashes("t1", "travel") == {"bags.md": "h2", "new.md": "h9"}
    assert store.count("t1", "travel") == 6


def test_hybrid_search_sends_text_vector_alpha_limit_and_tenant(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    put(store, embedder, BAGS, "h1")
    put(store, embedder, PETS, "h2")
    q = "how many kg can my checked bag weigh"
    qv = embedder.encode_one(q)
    hits = store.search("t1", "travel", q, qv, k=2)
    [req] = wv.grpc("Search")
    assert req.collection == COL and req.tenant == "t1" and req.limit == 2
    h = req.hybrid_search
    assert h.query == q
    assert np.allclose(unpack_vector(h.vector_bytes), qv, atol=1e-7)
    assert h.alpha == pytest.approx(0.5)
    assert h.fusion_type == base_search_pb2.Hybrid.FusionType.FUSION_TYPE_RELATIVE_SCORE
    assert list(h.properties) == ["title", "text"]  # BM25 over title and text only
    assert list(h.targets.target_vectors) == ["default"]
    assert req.metadata.score
    assert set(req.properties.non_ref_properties) == {"doc_id", "title", "chunk", "text", "source"}
    assert [(p.doc_id, p.chunk) for p in hits] == [("bags.md", 0), ("bags.md", 1)]
    assert hits[0].title == "Baggage" and hits[0].text == BAGS[0].text and hits[0].source == "kb/bags.md"
    assert 0 < hits[1].score < hits[0].score <= 1.0


def test_search_maps_the_protobuf_reply_to_passages(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    put(store, embedder, PETS, "h2")

    def result(doc: str, chunk: int, score: float) -> Any:
        fields = {
            "doc_id": properties_pb2.Value(text_value=doc),
            "title": properties_pb2.Value(text_value=doc.title()),
            "chunk": properties_pb2.Value(int_value=chunk),
            "text": properties_pb2.Value(text_value=f"text of {doc}#{chunk}"),
            "source": properties_pb2.Value(text_value=f"/kb/{doc}"),
        }
        return search_get_pb2.SearchResult(
            properties=search_get_pb2.PropertiesResult(
                non_ref_props=properties_pb2.Properties(fields=fields), target_collection=COL
            ),
            metadata=search_get_pb2.MetadataResult(
                id_as_bytes=uuid.UUID(generate_uuid5(f"{doc}{chunk}")).bytes, score=score, score_present=True
            ),
        )

    wv.reply_next(
        "Search",
        search_get_pb2.SearchReply(took=0.2, results=[result("a.md", 3, 0.91234), result("b.md", 0, 0.5)]),
    )
    hits = store.search("t1", "travel", "anything", embedder.encode_one("anything"), k=5)
    assert [h.model_dump(exclude_none=True) for h in hits] == [
        {
            "doc_id": "a.md",
            "title": "A.Md",
            "chunk": 3,
            "text": "text of a.md#3",
            "score": 0.9123,
            "source": "/kb/a.md",
        },
        {
            "doc_id": "b.md",
            "title": "B.Md",
            "chunk": 0,
            "text": "text of b.md#0",
            "score": 0.5,
            "source": "/kb/b.md",
        },
    ]


def test_tenants_and_domains_are_isolated_server_side(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    put(store, embedder, BAGS, "h1")
    vec = embedder.encode_one("checked bag")
    wv.reset_calls()
    assert store.search("t2", "travel", "checked bag", vec, k=3) == []
    # Unknown tenant: one existence check, and no query reaches the data.
    assert [(c.method, c.path) for c in wv.rest_calls] == [("HEAD", f"/v1/schema/{COL}/tenants/t2")]
    assert wv.grpc_calls == []
    assert store.search("t1", "media", "checked bag", vec, k=3) == []
    assert store.count("t2", "travel") == 0 and store.document_hashes("t2", "travel") == {}
    assert store.delete_document("t2", "travel", "bags.md") == 0
    assert wv.grpc_calls == []
    # Data of another tenant lives in its own tenant (shard) of the same collection.
    put(store, embedder, PETS, "h2", tenant="t2")
    assert {k for k in wv.objects if wv.objects[k]} == {(COL, "t1"), (COL, "t2")}
    assert [h.doc_id for h in store.search("t2", "travel", "checked bag", vec, k=3)] == ["pets.md"]
    assert store.document_hashes("t1", "travel") == {"bags.md": "h1"}


def test_names_are_validated_and_escaped_into_collection_names(
    wv: FakeWeaviate, store: WeaviateStore
) -> None:
    assert collection_name("travel") == "AccelDomain_travel"
    assert collection_name("my-docs") == "AccelDomain_my_2ddocs"
    assert collection_name("my_docs") == "AccelDomain_my_5fdocs"
    assert collection_name("Travel") == "AccelDomain__54ravel"
    vec = np.zeros(384, dtype=np.float32)
    for tenant, domain in (("../t1", "travel"), ("t1", "a b"), ("", "travel"), ("t1", "x" * 65)):
        with pytest.raises(ValueError, match="invalid"):
            store.search(tenant, domain, "x", vec, k=1)
    assert wv.rest_calls == [] and wv.grpc_calls == []  # rejected before anything is sent
    assert store.count("t1", "my-docs") == 0
    assert ("GET", "/v1/schema/AccelDomain_my_2ddocs") in [(c.method, c.path) for c in wv.rest_calls]


def test_delete_sends_a_filter_on_doc_id(wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder) -> None:
    put(store, embedder, BAGS, "h1")
    put(store, embedder, PETS, "h2")
    wv.reset_calls()
    assert store.delete_document("t1", "travel", "bags.md") == 2
    [req] = wv.grpc("BatchDelete")
    assert req.collection == COL and req.tenant == "t1" and not req.dry_run
    assert describe(req.filters) == ("==", "doc_id", "bags.md")
    assert store.document_hashes("t1", "travel") == {"pets.md": "h2"}
    assert store.delete_document("t1", "travel", "bags.md") == 0


def test_count_is_a_server_side_aggregate(wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder) -> None:
    put(store, embedder, BAGS, "h1")
    wv.reset_calls()
    assert store.count("t1", "travel") == 2
    [req] = wv.grpc("Aggregate")
    assert req.collection == COL and req.tenant == "t1" and req.objects_count
    assert not req.HasField("filters")


def test_a_1_28_server_as_in_compose_counts_over_graphql(wv: FakeWeaviate, embedder: Embedder) -> None:
    wv.version = "1.28.2"  # compose.yaml's Weaviate: the client aggregates over GraphQL before 1.29
    with WeaviateStore(wv.url, grpc_port=wv.grpc_port) as store:
        put(store, embedder, BAGS, "h1")
        put(store, embedder, PETS, "h2")
        assert store.count("t1", "travel") == 3
        assert store.search("t1", "travel", "dogs", embedder.encode_one("dogs"), k=1)[0].doc_id == "pets.md"
        assert store.delete_document("t1", "travel", "pets.md") == 1
        assert store.count("t1", "travel") == 2
    [count, _] = wv.rest("POST", "/v1/graphql")
    assert count.body == {"query": '{Aggregate{AccelDomain_travel(tenant: "t1"){meta{count}}}}'}
    assert wv.grpc("Aggregate") == []


def test_api_key_is_sent_on_rest_and_grpc(wv: FakeWeaviate, embedder: Embedder) -> None:
    wv.api_key = "s3cret"
    with WeaviateStore(wv.url, grpc_port=wv.grpc_port, api_key="s3cret") as store:
        put(store, embedder, BAGS, "h1")
        assert store.count("t1", "travel") == 2
    assert wv.rest_calls and all(c.headers.get("authorization") == "Bearer s3cret" for c in wv.rest_calls)
    data_calls = [c for c in wv.grpc_calls if c.method != "Health/Check"]  # health is open
    assert data_calls and all(c.metadata.get("authorization") == "Bearer s3cret" for c in data_calls)
    with (
        WeaviateStore(wv.url, grpc_port=wv.grpc_port, api_key="wrong") as bad,
        pytest.raises(StoreUnavailable, match=rf"Weaviate at {re.escape(wv.url)} .*401"),
    ):
        bad.count("t1", "travel")


def test_weaviate_errors_surface_as_store_unavailable_naming_the_url(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    put(store, embedder, BAGS, "h1")
    vec = embedder.encode_one("bag")
    wv.fail_grpc("Search", grpc.StatusCode.INTERNAL, "shard is read-only")
    with pytest.raises(StoreUnavailable, match="hybrid search failed") as err:
        store.search("t1", "travel", "bag", vec, k=1)
    assert wv.url in str(err.value) and "shard is read-only" in str(err.value)
    wv.fail_grpc("Aggregate")
    with pytest.raises(StoreUnavailable, match=f"Weaviate at {wv.url}"):
        store.count("t1", "travel")
    wv.fail_grpc("BatchDelete")
    with pytest.raises(StoreUnavailable, match=r"deleting 'bags\.md'"):
        store.delete_document("t1", "travel", "bags.md")
    wv.fail_rest("POST", "/v1/schema", 500, "disk full")
    with pytest.raises(StoreUnavailable, match="preparing collection AccelDomain_media"):
        store.upsert_document("t1", "media", "x.md", "h", [], np.zeros((0, 384), dtype=np.float32))
    # Per-object batch errors are not swallowed either.
    wv.reply_next("BatchObjects", _failed_batch(1, "vector lengths don't match"))
    with pytest.raises(
        StoreUnavailable, match=r"1 of 2 chunks of 'bags\.md' were not written: vector lengths"
    ):
        put(store, embedder, BAGS, "h2")
    assert store.search("t1", "travel", "bag", vec, k=1)[0].doc_id == "bags.md"  # still usable


def _failed_batch(index: int, message: str) -> Any:
    return batch_pb2.BatchObjectsReply(
        took=0.001, errors=[batch_pb2.BatchObjectsReply.BatchError(index=index, error=message)]
    )


def test_a_collection_deleted_behind_the_stores_back_is_noticed(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    put(store, embedder, BAGS, "h1")
    vec = embedder.encode_one("bag")
    wv.reset()  # an operator dropped the collection (or the server lost its data)
    with pytest.raises(StoreUnavailable, match="could not find class AccelDomain_travel"):
        store.search("t1", "travel", "bag", vec, k=1)
    assert store.search("t1", "travel", "bag", vec, k=1) == []  # re-checked, not assumed
    put(store, embedder, BAGS, "h1")  # and a write creates it again
    assert [(c.method, c.path) for c in wv.rest("POST")] == [
        ("POST", "/v1/schema"),
        ("POST", f"/v1/schema/{COL}/tenants"),
    ]
    assert store.search("t1", "travel", "bag", vec, k=1)[0].doc_id == "bags.md"


def test_unreachable_or_unhealthy_server_is_a_clear_error(wv: FakeWeaviate) -> None:
    port = free_port()
    with pytest.raises(StoreUnavailable, match=rf"Weaviate at http://127.0.0.1:{port} .*connect failed"):
        WeaviateStore(f"http://127.0.0.1:{port}", grpc_port=free_port(), timeout_s=2).count("t1", "travel")
    wv.grpc_healthy = False
    with pytest.raises(StoreUnavailable, match=rf"{wv.url} \(gRPC 127.0.0.1:{wv.grpc_port}\): not live"):
        WeaviateStore(wv.url, grpc_port=wv.grpc_port).count("t1", "travel")
    with pytest.raises(ValueError, match="must be http"):
        WeaviateStore("weaviate:8080")


def test_losing_a_creation_race_with_another_replica_is_fine(
    wv: FakeWeaviate, store: WeaviateStore, embedder: Embedder
) -> None:
    put(store, embedder, BAGS, "h1")
    with WeaviateStore(wv.url, grpc_port=wv.grpc_port) as other:
        # The other replica checked just before this one created collection and tenant: 404, then 422.
        wv.fail_rest("GET", f"/v1/schema/{COL}", 404, "not yet")
        wv.fail_rest("HEAD", f"/v1/schema/{COL}/tenants/t1", 404, "not yet")
        wv.fail_rest("POST", f"/v1/schema/{COL}/tenants", 422, "tenant t1 already exists")
        wv.reset_calls()
        put(other, embedder, PETS, "h2")
        assert [c.method + " " + c.path for c in wv.rest_calls if "/schema" in c.path] == [
            f"GET /v1/schema/{COL}",
            "POST /v1/schema",  # answered 422: class name already exists
            f"GET /v1/schema/{COL}",
            f"HEAD /v1/schema/{COL}/tenants/t1",
            f"POST /v1/schema/{COL}/tenants",
            f"HEAD /v1/schema/{COL}/tenants/t1",
        ]
        assert other.document_hashes("t1", "travel") == {"bags.md": "h1", "pets.md": "h2"}


def test_settings_select_the_store(tmp_path: Path, wv: FakeWeaviate, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_store(RetrieverSettings(index_dir=tmp_path)), EmbeddedStore)
    with pytest.raises(ValueError, match="ACCEL_WEAVIATE_URL"):
        make_store(RetrieverSettings(store="weaviate"))
    monkeypatch.setenv("ACCEL_STORE", "weaviate")
    monkeypatch.setenv("ACCEL_WEAVIATE_URL", wv.url)
    monkeypatch.setenv("ACCEL_WEAVIATE_GRPC_PORT", str(wv.grpc_port))
    monkeypatch.setenv("ACCEL_WEAVIATE_API_KEY", "k3y")
    settings = RetrieverSettings()
    assert "k3y" not in repr(settings)
    store = make_store(settings)
    assert isinstance(store, WeaviateStore) and store.url == wv.url and store.grpc_port == wv.grpc_port
    store.count("t1", "travel")
    assert wv.rest_calls[0].headers["authorization"] == "Bearer k3y"
    store.close()


def test_the_retriever_app_ingests_into_weaviate(
    tmp_path: Path, wv: FakeWeaviate, embedder: Embedder
) -> None:
    from services.retriever.app import create_app

    source = DEFAULT_DOMAINS_DIR / "travel"
    travel = tmp_path / "domains" / "travel"
    (travel / "knowledge").mkdir(parents=True)
    shutil.copy(source / "domain.toml", travel)
    files = ["cabin-baggage.md", "car-rental.md", "hotel-bookings.md"]  # a few: embedding takes time
    for name in files:
        shutil.copy(source / "knowledge" / name, travel / "knowledge")
    settings = RetrieverSettings(
        domains_dir=travel.parent, store="weaviate", weaviate_url=wv.url, weaviate_grpc_port=wv.grpc_port
    )
    create_app(settings)
    assert list(wv.tenants) == [COL] and list(wv.tenants[COL]) == ["default"]
    with WeaviateStore(wv.url, grpc_port=wv.grpc_port) as store:
        assert sorted(store.document_hashes("default", "travel")) == files
        again = ingest_path(store, embedder, tenant="default", domain="travel", path=travel / "knowledge")
        assert again.added == [] and again.updated == [] and len(again.unchanged) == len(files)
        assert again.chunks == sum(len(o) for o in wv.objects.values())
