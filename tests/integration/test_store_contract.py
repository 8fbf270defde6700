"""One contract, every store: what the retriever relies on holds for each ``KnowledgeStore``.

Parameters:
- ``embedded``: the numpy + BM25 store on disk.
- ``weaviate-fake``: the Weaviate adapter, through the real weaviate-client, against the wire-level fake
  server of ``tests.helpers.weaviate_mock`` (its hybrid ranking imitates Weaviate's, it is not Weaviate).
- ``weaviate-live``: the Weaviate adapter against a real server, only when ``WEAVIATE_URL`` is set
  (``WEAVIATE_GRPC_PORT``, default 50051, and ``WEAVIATE_API_KEY`` are read too). Each test uses
  domains and tenants of its own and deletes its collections afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.retriever import ingest
from services.retriever.ingest import ingest_path
from services.retriever.store import EmbeddedStore, KnowledgeStore
from shared.embeddings import Embedder, default_embedder
from tests.helpers.weaviate_mock import FakeWeaviate

pytestmark = pytest.mark.integration


@dataclass
class Names:
    """Tenant and domain names for one test: unique on a live server, which outlives the test."""

    t1: str
    t2: str
    travel: str
    media: str


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


@pytest.fixture(scope="module")
def fake_weaviate() -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as fake:
        yield fake


@pytest.fixture(params=["embedded", "weaviate-fake", "weaviate-live"])
def store_and_names(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[KnowledgeStore, Names]]:
    kind = request.param
    if kind == "embedded":
        yield EmbeddedStore(tmp_path / "index"), Names("t1", "t2", "travel", "media")
        return
    from services.retriever.weaviate_store import WeaviateStore, collection_name

    if kind == "weaviate-fake":
        fake: FakeWeaviate = request.getfixturevalue("fake_weaviate")
        fake.reset()
        with WeaviateStore(fake.url, grpc_port=fake.grpc_port) as store:
            yield store, Names("t1", "t2", "travel", "media")
        return
    url = os.environ.get("WEAVIATE_URL")
    if not url:
        pytest.skip("no live Weaviate: set WEAVIATE_URL (and WEAVIATE_GRPC_PORT) to run the contract on one")
    run = uuid.uuid4().hex[:8]
    names = Names(f"t1{run}", f"t2{run}", f"travel{run}", f"media{run}")
    store = WeaviateStore(
        url,
        grpc_port=int(os.environ.get("WEAVIATE_GRPC_PORT", "50051")),
        api_key=os.environ.get("WEAVIATE_API_KEY") or None,
    )
    try:
        yield store, names
    finally:
        client = store.client()
        for domain in (names.travel, names.media):
            client.collections.delete(collection_name(domain))
        store.close()


@pytest.fixture
def store(store_and_names: tuple[KnowledgeStore, Names]) -> KnowledgeStore:
    return store_and_names[0]


@pytest.fixture
def names(store_and_names: tuple[KnowledgeStore, Names]) -> Names:
    return store_and_names[1]


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    root.mkdir()
    (root / "bags.md").write_text("# Baggage\n\nEconomy tickets include one checked bag of up to 23 kg.")
    (root / "pets.md").write_text("# Pets\n\nSmall dogs and cats may travel in the cabin in a carrier.")
    (root / "meals.md").write_text("# Meals\n\nHot meals are served on flights longer than three hours.")
    return root


def test_upsert_is_idempotent_and_counted(
    store: KnowledgeStore, names: Names, kb: Path, embedder: Embedder
) -> None:
    first = ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    assert sorted(first.added) == ["bags.md", "meals.md", "pets.md"] and first.chunks == 3
    hashes = store.document_hashes(names.t1, names.travel)
    assert sorted(hashes) == ["bags.md", "meals.md", "pets.md"] and all(len(h) == 64 for h in hashes.values())
    again = ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    assert again.added == [] and again.updated == [] and len(again.unchanged) == 3 and again.chunks == 3
    assert store.count(names.t1, names.travel) == 3
    (kb / "meals.md").write_text("# Meals\n\nMeals are served on every flight.")
    (kb / "pets.md").unlink()
    changed = ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb, prune=True)
    assert changed.updated == ["meals.md"] and changed.removed == ["pets.md"] and changed.chunks == 2
    assert store.document_hashes(names.t1, names.travel)["meals.md"] != hashes["meals.md"]


def test_pruning_a_folder_keeps_the_documents_ingested_from_another(
    store: KnowledgeStore, names: Names, kb: Path, embedder: Embedder, tmp_path: Path
) -> None:
    """The retriever prunes each domain's folder at start-up: a document `accel ingest` added from
    anywhere else must survive it (it was deleted at every restart)."""
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "lounges.md").write_text("# Lounges\n\nGold members may use airport lounges with one guest.")
    ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=extra)
    sources = store.document_sources(names.t1, names.travel)
    assert sources["lounges.md"] == str((extra / "lounges.md").resolve())
    assert sources["bags.md"] == str((kb / "bags.md").resolve())
    (kb / "pets.md").unlink()
    report = ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb, prune=True)
    assert report.removed == ["pets.md"] and report.chunks == 3
    assert sorted(store.document_hashes(names.t1, names.travel)) == ["bags.md", "lounges.md", "meals.md"]
    (extra / "lounges.md").unlink()
    report = ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=extra, prune=True)
    assert report.removed == ["lounges.md"] and report.chunks == 2


def test_a_new_embedding_model_re_embeds_every_document(
    store: KnowledgeStore, names: Names, kb: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    monkeypatch.setattr(ingest, "MODEL_ID", "some-later-model")
    report = ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    assert sorted(report.updated) == ["bags.md", "meals.md", "pets.md"] and report.unchanged == []
    assert store.count(names.t1, names.travel) == 3


def test_delete_document(store: KnowledgeStore, names: Names, kb: Path, embedder: Embedder) -> None:
    ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    assert store.delete_document(names.t1, names.travel, "bags.md") == 1
    assert store.delete_document(names.t1, names.travel, "bags.md") == 0
    assert sorted(store.document_hashes(names.t1, names.travel)) == ["meals.md", "pets.md"]
    assert store.count(names.t1, names.travel) == 2
    hits = store.search(names.t1, names.travel, "checked bag", embedder.encode_one("checked bag"), k=5)
    assert hits and all(h.doc_id != "bags.md" for h in hits)


def test_tenants_are_isolated(store: KnowledgeStore, names: Names, kb: Path, embedder: Embedder) -> None:
    ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    vec = embedder.encode_one("checked bag")
    assert store.search(names.t2, names.travel, "checked bag", vec, k=3) == []
    assert store.count(names.t2, names.travel) == 0 and store.document_hashes(names.t2, names.travel) == {}
    assert store.delete_document(names.t2, names.travel, "bags.md") == 0
    (kb / "bags.md").unlink()
    ingest_path(store, embedder, tenant=names.t2, domain=names.travel, path=kb)
    assert {h.doc_id for h in store.search(names.t2, names.travel, "checked bag", vec, k=5)} == {
        "meals.md",
        "pets.md",
    }
    assert store.count(names.t1, names.travel) == 3 and store.count(names.t2, names.travel) == 2
    with pytest.raises(ValueError, match="invalid"):
        store.search("../" + names.t1, names.travel, "x", vec, k=1)


def test_domains_are_isolated(store: KnowledgeStore, names: Names, kb: Path, embedder: Embedder) -> None:
    ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    vec = embedder.encode_one("checked bag")
    assert store.search(names.t1, names.media, "checked bag", vec, k=3) == []
    assert store.count(names.t1, names.media) == 0 and store.document_hashes(names.t1, names.media) == {}
    (kb / "film.md").write_text("# Films\n\nThe festival screens thirty films in three days.")
    ingest_path(store, embedder, tenant=names.t1, domain=names.media, path=kb / "film.md")
    assert [h.doc_id for h in store.search(names.t1, names.media, "checked bag", vec, k=3)] == ["film.md"]
    assert "film.md" not in store.document_hashes(names.t1, names.travel)
    with pytest.raises(ValueError, match="invalid"):
        store.count(names.t1, "a/b")


@pytest.mark.parametrize(
    ("query", "doc_id", "title"),
    [
        ("how many kg can my checked bag weigh", "bags.md", "Baggage"),
        ("can I bring my dog on board", "pets.md", "Pets"),
        ("is food served on long flights", "meals.md", "Meals"),
    ],
)
def test_search_puts_the_right_document_first(
    store: KnowledgeStore, names: Names, kb: Path, embedder: Embedder, query: str, doc_id: str, title: str
) -> None:
    ingest_path(store, embedder, tenant=names.t1, domain=names.travel, path=kb)
    hits = store.search(names.t1, names.travel, query, embedder.encode_one(query), k=2)
    assert len(hits) == 2 and hits[0].doc_id == doc_id and hits[0].title == title and hits[0].chunk == 0
    assert hits[0].source.endswith(doc_id) and hits[0].text
